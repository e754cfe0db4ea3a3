import { GirderError } from '../core/index.js';

/**
 * `balanced` found no instance to call: the discovery lists none (or the picker returned
 * none). A refusal, not a downstream failure: nothing was called.
 *
 * @example
 * ```ts
 * import { NoInstanceError } from 'girder/balancer';
 *
 * try {
 *   await getOrder({ key: orderId });
 * } catch (err) {
 *   if (err instanceof NoInstanceError) reply.code(503).send({ retryLater: true });
 * }
 * ```
 */
export class NoInstanceError extends GirderError {
  /** The service that had no instance. */
  readonly service: string;

  constructor(service: string) {
    super('NO_INSTANCE', `no instance of service "${service}" to call`);
    this.service = service;
  }
}
