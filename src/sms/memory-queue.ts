// The in-process SmsQueue: the same semantics as the SQL one, for tests and single-process
// apps that accept losing queued messages on a crash.
import { z } from 'zod';
import { type Clock, clockSchema, parseOptions, systemClock } from '../core/index.js';
import {
  checkClaim,
  checkDuration,
  checkRef,
  type EnqueueOptions,
  type EnqueueResult,
  errorText,
  newJobId,
  queueableMessage,
  type SmsJob,
  type SmsJobInfo,
  type SmsJobRef,
  type SmsJobStatus,
  type SmsQueue,
  type SmsQueueDepth,
} from './queue.js';
import type { SmsMessage } from './types.js';

/**
 * Options of {@link memorySmsQueue}.
 *
 * @example
 * ```ts
 * const options: MemorySmsQueueOptions = { maxAttempts: 3 };
 * ```
 */
export interface MemorySmsQueueOptions {
  /** Attempts each job gets (1 to 1000). Default 5. */
  maxAttempts?: number;
  /** Time source of delays and leases. Default `systemClock`. */
  clock?: Clock;
  /** A name for logs and metrics. */
  name?: string;
}

/** @internal Shared by both backends' option schemas. */
export const maxAttemptsSchema = z.number().int().min(1).max(1_000).default(5);

const schema = z.strictObject({
  maxAttempts: maxAttemptsSchema,
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).optional(),
});

interface Row {
  readonly id: string;
  readonly requestId: string;
  readonly message: SmsMessage;
  readonly maxAttempts: number;
  readonly enqueuedAt: number;
  readonly seq: number;
  status: SmsJobStatus;
  attempts: number;
  token: number;
  availableAt: number;
  leaseUntil: number;
  lastError: string | undefined;
  updatedAt: number;
}

const info = (r: Row): SmsJobInfo => ({
  id: r.id,
  requestId: r.requestId,
  status: r.status,
  attempts: r.attempts,
  maxAttempts: r.maxAttempts,
  lastError: r.lastError,
});

/**
 * An in-memory {@link SmsQueue}: for tests and for single-process apps that accept
 * losing queued messages when the process dies. Same semantics as `sqlSmsQueue`.
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { asyncFallback, memorySms, memorySmsQueue } from 'girder/sms';
 *
 * const sms = asyncFallback(memorySms(), { queue: memorySmsQueue() });
 * ```
 */
export function memorySmsQueue(options: MemorySmsQueueOptions = {}): SmsQueue {
  const o = parseOptions('memorySmsQueue', schema, options);
  const clock = o.clock;
  const byId = new Map<string, Row>();
  const byRequest = new Map<string, Row>();
  let seq = 0;

  // The latest claim of a leased job, or undefined.
  const held = (ref: SmsJobRef): Row | undefined => {
    const r = byId.get(checkRef(ref).id);
    return r !== undefined && r.status === 'leased' && r.token === ref.token ? r : undefined;
  };
  const release = (r: Row, status: SmsJobStatus, availableAt: number) => {
    r.status = status;
    r.availableAt = availableAt;
    r.leaseUntil = 0;
    r.updatedAt = clock.now();
  };

  const queue: SmsQueue = {
    kind: 'memory',
    name: o.name,
    maxAttempts: o.maxAttempts,
    async enqueue(message: SmsMessage, enqueueOptions: EnqueueOptions = {}) {
      const m = queueableMessage(message);
      const delayMs = checkDuration(enqueueOptions.delayMs ?? 0, 'options.delayMs');
      const existing = byRequest.get(m.requestId);
      if (existing !== undefined) {
        return { jobId: existing.id, requestId: m.requestId, duplicate: true } as EnqueueResult;
      }
      const now = clock.now();
      const row: Row = {
        id: newJobId(now),
        requestId: m.requestId,
        message: m,
        maxAttempts: o.maxAttempts,
        enqueuedAt: now,
        seq: seq++,
        status: 'pending',
        attempts: 0,
        token: 0,
        availableAt: now + delayMs,
        leaseUntil: 0,
        lastError: undefined,
        updatedAt: now,
      };
      byId.set(row.id, row);
      byRequest.set(row.requestId, row);
      return { jobId: row.id, requestId: row.requestId, duplicate: false };
    },
    async claim(workerId, limit, leaseMs) {
      checkClaim(workerId, limit, leaseMs);
      const now = clock.now();
      // As in SQL: jobs whose lease ran out first (oldest lease first), then due ones.
      const open = [...byId.values()].filter((r) => r.attempts < r.maxAttempts);
      const expired = open
        .filter((r) => r.status === 'leased' && r.leaseUntil <= now)
        .sort((a, b) => a.leaseUntil - b.leaseUntil || a.seq - b.seq);
      const due = open
        .filter((r) => r.status === 'pending' && r.availableAt <= now)
        .sort((a, b) => a.availableAt - b.availableAt || a.seq - b.seq);
      const ready = [...expired, ...due].slice(0, limit);
      return ready.map((r): SmsJob => {
        r.status = 'leased';
        r.attempts++;
        r.token++;
        r.leaseUntil = now + leaseMs;
        r.updatedAt = now;
        return {
          id: r.id,
          token: r.token,
          requestId: r.requestId,
          message: r.message,
          attempt: r.attempts,
          maxAttempts: r.maxAttempts,
          leaseUntil: r.leaseUntil,
          enqueuedAt: r.enqueuedAt,
          lastError: r.lastError,
        };
      });
    },
    async renew(job, leaseMs) {
      checkDuration(leaseMs, 'leaseMs', 1);
      const r = held(job);
      if (r === undefined) return undefined;
      r.leaseUntil = clock.now() + leaseMs;
      return r.leaseUntil;
    },
    async complete(job) {
      const r = held(job);
      if (r === undefined) return false;
      release(r, 'sent', r.availableAt);
      return true;
    },
    async retry(job, delayMs, error) {
      checkDuration(delayMs, 'delayMs');
      const r = held(job);
      if (r === undefined) return false;
      r.lastError = errorText(error);
      release(r, 'pending', clock.now() + delayMs);
      return true;
    },
    async postpone(job, delayMs) {
      checkDuration(delayMs, 'delayMs');
      const r = held(job);
      if (r === undefined) return false;
      r.attempts--;
      release(r, 'pending', clock.now() + delayMs);
      return true;
    },
    async kill(job, error) {
      const r = held(job);
      if (r === undefined) return false;
      r.lastError = errorText(error);
      release(r, 'dead', r.availableAt);
      return true;
    },
    async reap() {
      const now = clock.now();
      const reaped: SmsJobInfo[] = [];
      for (const r of byId.values()) {
        if (r.status === 'leased' && r.leaseUntil <= now && r.attempts >= r.maxAttempts) {
          r.lastError ??= 'lease expired on the last attempt';
          release(r, 'dead', r.availableAt);
          reaped.push(info(r));
        }
      }
      return reaped;
    },
    async depth() {
      const d = { pending: 0, leased: 0, sent: 0, dead: 0 };
      for (const r of byId.values()) d[r.status]++;
      return d as SmsQueueDepth;
    },
    async get(requestId) {
      const r = byRequest.get(requestId);
      return r === undefined ? undefined : info(r);
    },
    async purge(olderThanMs) {
      checkDuration(olderThanMs, 'olderThanMs');
      const before = clock.now() - olderThanMs;
      let n = 0;
      for (const r of [...byId.values()]) {
        if ((r.status === 'sent' || r.status === 'dead') && r.updatedAt < before) {
          byId.delete(r.id);
          byRequest.delete(r.requestId);
          n++;
        }
      }
      return n;
    },
    async close() {},
    async [Symbol.asyncDispose]() {},
  };
  return queue;
}
