// Events of the sync-to-async path: emitted by smsQueueWorker and asyncFallback (which
// forwards its workers' events), mapped to metrics by girder/observability.
import type { SmsQueueDepth } from './queue.js';

/**
 * Why `asyncFallback` stored a message instead of sending it: a rate limiter refused
 * the send, the detector judged the provider down, or the send failed (see `onSendError`).
 *
 * @example
 * ```ts
 * sms.events.on('enqueued', (e) => {
 *   const reason: QueuedReason = e.reason;
 *   console.log(reason);
 * });
 * ```
 */
export type QueuedReason = 'rate-limited' | 'down' | 'error';

/**
 * Events of `smsQueueWorker` and `asyncFallback`.
 *
 * @example
 * ```ts
 * sms.events.on('dead', ({ requestId, error }) => log.error('sms given up', { requestId, error }));
 * sms.events.on('depth', ({ pending, dead }) => console.log(pending, dead));
 * ```
 */
export type SmsQueueEvents = {
  /** `asyncFallback` stored a message (or found it already stored: `duplicate`). */
  enqueued: {
    /** The message's request id. */
    readonly requestId: string;
    /** The job holding it. */
    readonly jobId: string;
    /** Why it was queued. */
    readonly reason: QueuedReason;
    /** A job with this request id existed already. */
    readonly duplicate: boolean;
  };
  /** `asyncFallback` sent a message live (not through the queue). */
  direct: {
    /** The message's request id. */
    readonly requestId: string;
    /** Whether it succeeded. */
    readonly ok: boolean;
    /** The send was a detector probe. */
    readonly probe: boolean;
    /** Its duration, ms. */
    readonly durationMs: number;
  };
  /** A worker claimed a job. */
  claimed: {
    /** The worker's id. */
    readonly workerId: string;
    /** The job. */
    readonly jobId: string;
    /** Its request id. */
    readonly requestId: string;
    /** Attempt number (1 on the first claim). */
    readonly attempt: number;
    /** The claim's fencing token (grows on every claim of the job). */
    readonly token: number;
    /** When the claim returned, in the clock's ms. */
    readonly at: number;
    /** When its lease ends. */
    readonly leaseUntil: number;
  };
  /** A worker extended a lease. */
  renewed: {
    /** The worker's id. */
    readonly workerId: string;
    /** The job. */
    readonly jobId: string;
    /** The claim's attempt number. */
    readonly attempt: number;
    /** The claim's fencing token. */
    readonly token: number;
    /** The new end of the lease. */
    readonly leaseUntil: number;
  };
  /** A worker's send succeeded and the job is marked sent. */
  sent: {
    /** The worker's id. */
    readonly workerId: string;
    /** The job. */
    readonly jobId: string;
    /** Its request id. */
    readonly requestId: string;
    /** Attempt number. */
    readonly attempt: number;
    /** Duration of the send, ms. */
    readonly durationMs: number;
    /** Time from enqueue to sent, ms (what queuing cost the recipient). */
    readonly queuedForMs: number;
    /** When the worker let go of the job (just before marking it), in the clock's ms. */
    readonly releasedAt: number;
  };
  /** A send failed and the job will be tried again after `delayMs`. */
  retried: {
    /** The worker's id. */
    readonly workerId: string;
    /** The job. */
    readonly jobId: string;
    /** Its request id. */
    readonly requestId: string;
    /** The attempt that failed. */
    readonly attempt: number;
    /** Backoff before the next attempt, ms. */
    readonly delayMs: number;
    /** The failure. */
    readonly error: unknown;
    /** When the worker let go of the job, in the clock's ms. */
    readonly releasedAt: number;
  };
  /** A job was handed back without using an attempt (rate-limited, or provider down). */
  postponed: {
    /** The worker's id. */
    readonly workerId: string;
    /** The job. */
    readonly jobId: string;
    /** Why. */
    readonly reason: 'rate-limited' | 'down';
    /** Delay before it may be claimed again, ms. */
    readonly delayMs: number;
    /** When the worker let go of the job, in the clock's ms. */
    readonly releasedAt: number;
  };
  /** A job used its last attempt (or its worker died during it): it is dead. */
  dead: {
    /** The worker that marked it. */
    readonly workerId: string;
    /** The job. */
    readonly jobId: string;
    /** Its request id. */
    readonly requestId: string;
    /** Attempts used. */
    readonly attempts: number;
    /** The last failure (a string when reaped after a lost lease). */
    readonly error: unknown;
  };
  /** A worker lost a job's lease (it ran out, or another worker took the job). */
  leaseLost: {
    /** The worker's id. */
    readonly workerId: string;
    /** The job. */
    readonly jobId: string;
    /** The attempt whose lease was lost. */
    readonly attempt: number;
  };
  /** The queue failed (e.g. the database is unreachable); the worker backs off and tries again. */
  queueError: {
    /** The worker's id. */
    readonly workerId: string;
    /** What the worker was doing. */
    readonly operation:
      | 'claim'
      | 'renew'
      | 'complete'
      | 'retry'
      | 'postpone'
      | 'kill'
      | 'reap'
      | 'depth';
    /** The error. */
    readonly error: unknown;
  };
  /** The queue's depth, read every `depthEveryMs` by a running worker. */
  depth: SmsQueueDepth & {
    /** When it was read, in the clock's ms. */
    readonly at: number;
  };
};
