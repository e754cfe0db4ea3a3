import { GirderError } from '../core/index.js';

/**
 * The queue was closed: `send` and `consume` refuse (code `QUEUE_CLOSED`).
 *
 * @example
 * ```ts
 * import { QueueClosedError } from 'girder/mq';
 *
 * await queue.close();
 * await queue.producer.send('orders', [{ value: 'x' }]).catch((e) => e instanceof QueueClosedError); // true
 * ```
 */
export class QueueClosedError extends GirderError {
  constructor(queue: string) {
    super('QUEUE_CLOSED', `queue "${queue}" is closed`);
  }
}
