import { GirderError } from '../core/index.js';

/**
 * The registry (or the config watch, worker id) was closed before the call
 * (`REGISTRY_CLOSED`).
 *
 * @example
 * ```ts
 * import { RegistryClosedError } from 'girder/registry';
 *
 * await registry.close();
 * await registry.register(spec).catch((err) => {
 *   if (err instanceof RegistryClosedError) console.log('closed already');
 * });
 * ```
 */
export class RegistryClosedError extends GirderError {
  constructor(what = 'registry') {
    super('REGISTRY_CLOSED', `the ${what} is closed`);
  }
}

/**
 * Every worker id in `[0, 2^bits)` is leased by someone else (`NO_FREE_WORKER_ID`).
 *
 * @example
 * ```ts
 * import { NoFreeWorkerIdError } from 'girder/registry';
 *
 * await workerId(etcd, { bits: 2 }).catch((err) => {
 *   if (err instanceof NoFreeWorkerIdError) console.log(`all ${err.size} ids taken`);
 * });
 * ```
 */
export class NoFreeWorkerIdError extends GirderError {
  /** How many ids the range holds (`2^bits`). */
  readonly size: number;

  constructor(size: number) {
    super('NO_FREE_WORKER_ID', `all ${size} worker ids are leased`);
    this.size = size;
  }
}

/**
 * The clock moved backwards by more than `maxBackwardMs` (`CLOCK_MOVED_BACKWARDS`):
 * issuing an id now could repeat one already issued, so the generator refuses.
 *
 * @example
 * ```ts
 * import { ClockMovedBackwardsError } from 'girder/registry';
 *
 * try {
 *   ids.next();
 * } catch (err) {
 *   if (err instanceof ClockMovedBackwardsError) console.error(`clock ${err.backwardMs} ms behind`);
 * }
 * ```
 */
export class ClockMovedBackwardsError extends GirderError {
  /** How far the clock is behind the last issued timestamp. */
  readonly backwardMs: number;

  constructor(backwardMs: number) {
    super(
      'CLOCK_MOVED_BACKWARDS',
      `the clock moved ${backwardMs} ms backwards, more than the generator may wait out`,
    );
    this.backwardMs = backwardMs;
  }
}
