// The live phase: an interface every instance reads on each write, and the memory and
// live-value backends. A switch is validated, logged and emitted by every store alike.
import { z } from 'zod';
import {
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  TypedEmitter,
} from '../core/index.js';
import type { Logger } from '../logger/index.js';
import { checkPhase, fnSchema, loggerSchema, nameSchema } from './shared.js';
import type { Phase } from './types.js';

/**
 * Events of a {@link PhaseStore}.
 *
 * @example
 * ```ts
 * store.events.on('changed', ({ from, to }) => console.log(`${from} -> ${to}`));
 * ```
 */
export interface PhaseStoreEvents {
  /** The phase this instance sees changed (set here or seen from elsewhere). */
  changed: {
    /** The store's name. */
    name: string;
    /** Phase before. */
    from: Phase;
    /** Phase now. */
    to: Phase;
    /** `local`: set through this store object; `remote`: seen from another instance. */
    origin: 'local' | 'remote';
  };
  /** Reading the backend failed, or it held something that is not a phase; the last good phase stays. */
  error: {
    /** The store's name. */
    name: string;
    /** What went wrong (an `InvalidPhaseError` for an unknown value). */
    error: unknown;
  };
  /** [Symbol.index] */
  [event: string]: unknown;
}

/**
 * Where the current migration phase lives. `phase` is the last phase this instance knows
 * (synchronous: the dual writer reads it on every write); `get()` reads the backend.
 * Every switch is validated (`InvalidPhaseError`), logged and emitted as `changed`.
 *
 * @example
 * ```ts
 * const store = memoryPhaseStore({ initial: 'source-only' });
 * await store.set('source-first');
 * store.phase; // 'source-first'
 * ```
 */
export interface PhaseStore {
  /** Backend: `memory`, `sql` or `live`. */
  readonly kind: 'memory' | 'sql' | 'live';
  /** Labels logs, events and metrics. */
  readonly name: string;
  /** The phase this instance currently acts on. */
  readonly phase: Phase;
  /** Reads the phase from the backend (and adopts it). */
  get(): Promise<Phase>;
  /** Stores a new phase; throws `InvalidPhaseError` for an unknown one, before any change. */
  set(phase: Phase): Promise<void>;
  /** Typed events. */
  readonly events: EventSource<PhaseStoreEvents>;
  /** Stops polling or watching. */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** @internal Shared bookkeeping of every store: adopt a phase, log and emit the switch. */
export function phaseTracker(name: string, initial: Phase, logger: Logger | undefined) {
  const events = new TypedEmitter<PhaseStoreEvents>();
  let current = initial;
  return {
    events,
    get current() {
      return current;
    },
    adopt(next: Phase, origin: 'local' | 'remote') {
      if (next === current) return;
      const from = current;
      current = next;
      logger?.info('migration phase switched', { migration: name, from, to: next, origin });
      events.emit('changed', { name, from, to: next, origin });
    },
    fail(error: unknown) {
      logger?.warn('migration phase store error', { migration: name, err: error });
      events.emit('error', { name, error });
    },
  };
}

/**
 * Options of {@link memoryPhaseStore}.
 *
 * @example
 * ```ts
 * const options: MemoryPhaseStoreOptions = { initial: 'source-first', name: 'orders' };
 * ```
 */
export interface MemoryPhaseStoreOptions {
  /** Starting phase. Default `source-only`. */
  initial?: Phase;
  /** Labels logs, events and metrics. Default `migration`. */
  name?: string;
  /** Where switches are logged. Default: not logged. */
  logger?: Logger;
}

const memorySchema = z.strictObject({
  initial: z.unknown().optional(),
  name: nameSchema.default('migration'),
  logger: loggerSchema.optional(),
});

/**
 * A phase held in this process: tests, single-process apps, the embedded shop.
 *
 * @example
 * ```ts
 * import { dualWrite, memoryPhaseStore } from 'girder/migrator';
 *
 * const phase = memoryPhaseStore({ initial: 'source-first' });
 * const orders = dualWrite({ source, target, table: 'orders', key: 'id', phase });
 * ```
 */
export function memoryPhaseStore(options: MemoryPhaseStoreOptions = {}): PhaseStore {
  const o = parseOptions('memoryPhaseStore', memorySchema, options);
  const tracker = phaseTracker(o.name, checkPhase(o.initial ?? 'source-only'), o.logger);
  const close = async () => {};
  return {
    kind: 'memory',
    name: o.name,
    get phase() {
      return tracker.current;
    },
    get: async () => tracker.current,
    async set(phase) {
      tracker.adopt(checkPhase(phase), 'local');
    },
    events: tracker.events,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Any live value with a `value` and a `changed` event, such as girder/registry's
 * `watchConfig` on etcd. Only this shape is used: `value` is read after each `changed`.
 *
 * @example
 * ```ts
 * const live: LiveValue = { value: 'source-only', events: { on: (_e, _fn) => () => {} } };
 * ```
 */
export interface LiveValue {
  /** The current value (a phase name, or an object holding one; see `select`). */
  readonly value: unknown;
  /** Emits `changed` whenever `value` changes. */
  readonly events: {
    /** Subscribe; may return an unsubscribe function. */
    // biome-ignore lint/suspicious/noExplicitAny: the payload is ignored; `value` is re-read.
    on(event: 'changed', listener: (payload: any) => void): unknown;
  };
}

/**
 * Options of {@link livePhaseStore}.
 *
 * @example
 * ```ts
 * const options: LivePhaseStoreOptions = {
 *   select: (config) => (config as { phase: string }).phase,
 *   write: (phase) => etcd.put('/config/orders-migration').value(JSON.stringify({ phase })),
 * };
 * ```
 */
export interface LivePhaseStoreOptions {
  /** Picks the phase out of the live value. Default: the value itself. */
  select?: (value: unknown) => unknown;
  /**
   * Stores a new phase in the backend (e.g. an etcd put). Without it, `set()` throws
   * `INVALID_ARGUMENT`: the phase is then changed only at the source of the live value.
   */
  write?: (phase: Phase) => Promise<unknown>;
  /** Labels logs, events and metrics. Default `migration`. */
  name?: string;
  /** Where switches are logged. Default: not logged. */
  logger?: Logger;
}

const liveSchema = z.strictObject({
  select: fnSchema<(value: unknown) => unknown>().default(() => (v: unknown) => v),
  write: fnSchema<(phase: Phase) => Promise<unknown>>().optional(),
  name: nameSchema.default('migration'),
  logger: loggerSchema.optional(),
});

/**
 * A phase store over a live value (girder/registry's `watchConfig` on etcd, or anything
 * with `value` and a `changed` event): every instance watching the same key switches
 * without a restart. An unknown value is refused: `error` event, the last good phase stays.
 * The initial value must be a phase (`InvalidPhaseError` otherwise).
 *
 * @example
 * ```ts
 * import { watchConfig } from 'girder/registry';
 * import { livePhaseStore } from 'girder/migrator';
 *
 * const config = await watchConfig(registry, '/config/orders-migration', { schema });
 * const phase = livePhaseStore(config, {
 *   select: (c) => (c as { phase: string }).phase,
 *   write: (p) => config.set({ phase: p }),
 * });
 * ```
 */
export function livePhaseStore(live: LiveValue, options: LivePhaseStoreOptions = {}): PhaseStore {
  const o = parseOptions('livePhaseStore', liveSchema, options);
  const isLive =
    typeof live === 'object' &&
    live !== null &&
    typeof (live as LiveValue).events === 'object' &&
    typeof (live as LiveValue).events?.on === 'function';
  if (!isLive) {
    throw new InvalidArgumentError('live', 'must have `value` and `events.on`');
  }
  const tracker = phaseTracker(o.name, checkPhase(o.select(live.value)), o.logger);
  const read = (): Phase => checkPhase(o.select(live.value));
  const off = live.events.on('changed', () => {
    try {
      tracker.adopt(read(), 'remote');
    } catch (error) {
      tracker.fail(error);
    }
  });
  const close = async () => {
    if (typeof off === 'function') off();
  };
  return {
    kind: 'live',
    name: o.name,
    get phase() {
      return tracker.current;
    },
    async get() {
      const phase = read();
      tracker.adopt(phase, 'remote');
      return phase;
    },
    async set(phase) {
      checkPhase(phase);
      if (!o.write) {
        throw new InvalidArgumentError(
          'phase',
          'this live phase store has no `write` option: set the phase at its source',
        );
      }
      await o.write(phase);
      tracker.adopt(phase, 'local');
    },
    events: tracker.events,
    close,
    [Symbol.asyncDispose]: close,
  };
}
