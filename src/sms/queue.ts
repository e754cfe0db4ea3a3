// The durable queue behind `asyncFallback`: the contract both backends (memory, SQL)
// meet, and the message checks they share. A job is claimed with a lease and a fencing
// token; every later call on it names the token, so a worker whose lease ran out and was
// taken over can no longer touch the job.
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../core/index.js';
import type { SmsMessage } from './types.js';
import { MAX_REQUEST_ID_LENGTH } from './validate.js';

/**
 * Where a job is in its life: waiting (`pending`), in a worker's hands (`leased`), done
 * (`sent`), or given up after `maxAttempts` (`dead`).
 *
 * @example
 * ```ts
 * const status: SmsJobStatus | undefined = (await queue.get('ship:42'))?.status;
 * ```
 */
export type SmsJobStatus = 'pending' | 'leased' | 'sent' | 'dead';

/**
 * Names one claim of a job: its id and the fencing token that claim received.
 *
 * @example
 * ```ts
 * const [job] = await queue.claim('worker-1', 1, 30_000);
 * if (job) await queue.complete(job); // a SmsJob is a SmsJobRef
 * ```
 */
export interface SmsJobRef {
  /** The job's id. */
  readonly id: string;
  /** Fencing token of the claim: grows by one on every claim of the job. */
  readonly token: number;
}

/**
 * A claimed job, as a worker sees it.
 *
 * @example
 * ```ts
 * const [job] = await queue.claim('worker-1', 1, 30_000);
 * console.log(job?.requestId, job?.attempt, job?.maxAttempts);
 * ```
 */
export interface SmsJob extends SmsJobRef {
  /** The message's `requestId` (unique in the queue). */
  readonly requestId: string;
  /** The message to send, `requestId` included. */
  readonly message: SmsMessage;
  /** Attempts charged so far, this claim included (1 on the first claim). */
  readonly attempt: number;
  /** Attempts allowed in all, fixed when the job was enqueued. */
  readonly maxAttempts: number;
  /** When the lease of this claim ends, in the queue clock's ms. */
  readonly leaseUntil: number;
  /** When the job was enqueued, in the queue clock's ms. */
  readonly enqueuedAt: number;
  /** The error of the previous attempt, if any. */
  readonly lastError: string | undefined;
}

/**
 * A job's stored state, for operators and tests ({@link SmsQueue.get}).
 *
 * @example
 * ```ts
 * const info = await queue.get('order-42-shipped');
 * if (info?.status === 'dead') console.warn(info.lastError);
 * ```
 */
export interface SmsJobInfo {
  /** The job's id. */
  readonly id: string;
  /** The message's `requestId`. */
  readonly requestId: string;
  /** Its status. */
  readonly status: SmsJobStatus;
  /** Attempts charged so far. */
  readonly attempts: number;
  /** Attempts allowed in all. */
  readonly maxAttempts: number;
  /** The last attempt's error, if any. */
  readonly lastError: string | undefined;
}

/**
 * What {@link SmsQueue.enqueue} stored.
 *
 * @example
 * ```ts
 * const { jobId, duplicate } = await queue.enqueue(message);
 * if (duplicate) console.log('already queued as', jobId);
 * ```
 */
export interface EnqueueResult {
  /** The job holding the message (the existing one for a duplicate). */
  readonly jobId: string;
  /** The message's `requestId` (generated when the message had none). */
  readonly requestId: string;
  /** True when a job with this `requestId` already existed: nothing new was stored. */
  readonly duplicate: boolean;
}

/**
 * Number of jobs by status.
 *
 * @example
 * ```ts
 * const { pending, leased, dead } = await queue.depth();
 * ```
 */
export interface SmsQueueDepth {
  /** Waiting to be claimed (including ones waiting out a retry delay). */
  readonly pending: number;
  /** In a worker's hands (or whose worker died and whose lease has yet to run out). */
  readonly leased: number;
  /** Sent and kept for duplicate detection until purged. */
  readonly sent: number;
  /** Given up after `maxAttempts`. */
  readonly dead: number;
}

/**
 * A durable SMS queue: `sqlSmsQueue` (PostgreSQL, PGlite) or `memorySmsQueue` (tests).
 * Workers (`smsQueueWorker`) claim jobs with a lease, and finish each claim with exactly
 * one of `complete`, `retry`, `postpone` or `kill`. Every call that names a claim
 * returns `false` when the claim is no longer the job's latest (its lease ran out and
 * another worker claimed it, or it was finished already).
 *
 * @example
 * ```ts
 * import { memorySmsQueue } from 'girder/sms';
 *
 * const queue = memorySmsQueue({ maxAttempts: 3 });
 * await queue.enqueue({ to: ['+8613800000000'], template: 'welcome', requestId: 'u42' });
 * const [job] = await queue.claim('worker-1', 10, 30_000);
 * if (job) await queue.complete(job);
 * ```
 */
export interface SmsQueue {
  /** `memory` or `sql`. */
  readonly kind: 'memory' | 'sql';
  /** The `name` option, if given. */
  readonly name: string | undefined;
  /** Attempts a job enqueued now gets. */
  readonly maxAttempts: number;
  /**
   * Store `message` (a `requestId` is generated when absent). A second message with the
   * same `requestId` stores nothing and returns the first job (`duplicate: true`),
   * whatever that job's status. `delayMs` holds the job back that long.
   *
   * @throws InvalidArgumentError for a malformed message, before anything is stored.
   */
  enqueue(message: SmsMessage, options?: EnqueueOptions): Promise<EnqueueResult>;
  /**
   * Lease up to `limit` jobs to `workerId` for `leaseMs`: pending jobs whose delay is
   * over, and leased jobs whose lease ran out, in enqueue order. Charges one attempt
   * each; jobs that have used every attempt are never claimed (see `reap`).
   */
  claim(workerId: string, limit: number, leaseMs: number): Promise<SmsJob[]>;
  /** Extend a claim's lease to now + `leaseMs`; the new end, or `undefined` if the claim is lost. */
  renew(job: SmsJobRef, leaseMs: number): Promise<number | undefined>;
  /** Mark the job sent. */
  complete(job: SmsJobRef): Promise<boolean>;
  /** Give the job back for another attempt after `delayMs`, recording `error`. */
  retry(job: SmsJobRef, delayMs: number, error: string): Promise<boolean>;
  /** Give the job back after `delayMs` without charging the attempt (nothing was sent). */
  postpone(job: SmsJobRef, delayMs: number): Promise<boolean>;
  /** Mark the job dead (no more attempts), recording `error`. */
  kill(job: SmsJobRef, error: string): Promise<boolean>;
  /**
   * Mark dead every job whose last allowed attempt's lease ran out without an answer
   * (its worker died mid-send); returns them.
   */
  reap(): Promise<SmsJobInfo[]>;
  /** Number of jobs by status. */
  depth(): Promise<SmsQueueDepth>;
  /** The stored state of the job holding `requestId`, if any. */
  get(requestId: string): Promise<SmsJobInfo | undefined>;
  /** Delete `sent` and `dead` jobs last changed more than `olderThanMs` ago; returns how many. */
  purge(olderThanMs: number): Promise<number>;
  /** Release what the queue owns (never the caller's database handle). */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Options of {@link SmsQueue.enqueue}.
 *
 * @example
 * ```ts
 * await queue.enqueue(message, { delayMs: 5_000 });
 * ```
 */
export interface EnqueueOptions {
  /** Hold the job back this long before the first attempt. Default 0. */
  delayMs?: number;
}

let idCounter = 0;

/**
 * @internal A job id that sorts in enqueue order: enqueue time, then a per-process
 * counter (same millisecond), then random bits (no collisions across processes).
 */
export function newJobId(now: number): string {
  idCounter = (idCounter + 1) % 0x1_0000_0000;
  const time = Math.max(0, Math.floor(now)).toString(16).padStart(12, '0');
  return `${time}-${idCounter.toString(16).padStart(8, '0')}-${randomUUID().slice(0, 13)}`;
}

/** @internal Check a message and give it a `requestId`; throws INVALID_ARGUMENT. */
export function queueableMessage(message: unknown): SmsMessage & { requestId: string } {
  if (typeof message !== 'object' || message === null) {
    throw new InvalidArgumentError('message', 'must be an SmsMessage object');
  }
  const m = message as Partial<SmsMessage>;
  if (!Array.isArray(m.to) || m.to.length === 0 || !m.to.every((p) => typeof p === 'string')) {
    throw new InvalidArgumentError('message.to', 'must be a non-empty array of phone numbers');
  }
  if (typeof m.template !== 'string' || m.template === '') {
    throw new InvalidArgumentError('message.template', 'must be a non-empty string');
  }
  if (m.params !== undefined) {
    if (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params)) {
      throw new InvalidArgumentError('message.params', 'must be an object of strings');
    }
    for (const [k, v] of Object.entries(m.params)) {
      if (typeof v !== 'string') {
        throw new InvalidArgumentError(`message.params.${k}`, 'must be a string');
      }
    }
  }
  if (m.signName !== undefined && typeof m.signName !== 'string') {
    throw new InvalidArgumentError('message.signName', 'must be a string');
  }
  const requestId = m.requestId ?? randomUUID();
  if (
    typeof requestId !== 'string' ||
    requestId === '' ||
    requestId.length > MAX_REQUEST_ID_LENGTH
  ) {
    throw new InvalidArgumentError(
      'message.requestId',
      `must be a non-empty string of at most ${MAX_REQUEST_ID_LENGTH} characters`,
    );
  }
  return {
    to: [...m.to],
    template: m.template,
    ...(m.params !== undefined && { params: { ...m.params } }),
    ...(m.signName !== undefined && { signName: m.signName }),
    requestId,
  };
}

/** @internal Check a claim's arguments; throws INVALID_ARGUMENT. */
export function checkClaim(workerId: unknown, limit: unknown, leaseMs: unknown): void {
  if (typeof workerId !== 'string' || workerId === '' || workerId.length > 200) {
    throw new InvalidArgumentError(
      'workerId',
      'must be a non-empty string of at most 200 characters',
    );
  }
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > 10_000) {
    throw new InvalidArgumentError('limit', 'must be an integer from 1 to 10000');
  }
  checkDuration(leaseMs, 'leaseMs', 1);
}

/** @internal A non-negative (or >= `min`) finite duration; throws INVALID_ARGUMENT. */
export function checkDuration(value: unknown, argument: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidArgumentError(argument, `must be a finite number >= ${min}`);
  }
  return value;
}

/** @internal Check a job reference; throws INVALID_ARGUMENT. */
export function checkRef(job: unknown): SmsJobRef {
  const j = job as Partial<SmsJobRef> | null;
  if (
    typeof j !== 'object' ||
    j === null ||
    typeof j.id !== 'string' ||
    !Number.isInteger(j.token)
  ) {
    throw new InvalidArgumentError('job', 'must be a job returned by claim (id and token)');
  }
  return j as SmsJobRef;
}

/** @internal Error text stored with a job: the code and message, bounded. */
export function errorText(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return (code + message).slice(0, 1_000);
}
