// The one error of the sync-to-async path: a message that had to be queued could not be.
import { GirderError } from '../core/index.js';

/**
 * `asyncFallback` decided to queue a message and the queue refused (code
 * `SMS_QUEUE_UNAVAILABLE`): the database is unreachable, say. The message was neither
 * sent nor stored; `cause` is the queue's error and `sendError` the send failure that
 * led to queuing, if any.
 *
 * @example
 * ```ts
 * import { SmsQueueUnavailableError } from 'girder/sms';
 *
 * try {
 *   await sms.send(message);
 * } catch (err) {
 *   if (err instanceof SmsQueueUnavailableError) reply.code(503).send({ retry: true });
 * }
 * ```
 */
export class SmsQueueUnavailableError extends GirderError {
  /** The message's request id. */
  readonly requestId: string;
  /** The send failure that led to queuing (`undefined` when the detector queued it). */
  readonly sendError: unknown;

  constructor(requestId: string, cause: unknown, sendError?: unknown) {
    super('SMS_QUEUE_UNAVAILABLE', `could not queue SMS request ${requestId}`, { cause });
    this.requestId = requestId;
    this.sendError = sendError;
  }
}
