// `balanced`: a picker on a live discovery, wrapped around any call. It keeps the
// picker's set in step with the discovery, brackets each call with start/report (timed
// on the injected clock), and may retry on another instance.
import { z } from 'zod';
import {
  AbortedError,
  type Clock,
  checkSignal,
  clockSchema,
  type EventSource,
  functionSchema,
  InvalidArgumentError,
  isCallerCancellation,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type { Discovery, Instance } from '../registry/types.js';
import { NoInstanceError } from './errors.js';
import { nameSchema } from './shared.js';
import type { Picker } from './types.js';

/**
 * Options of {@link balanced}.
 *
 * @example
 * ```ts
 * const opts: BalancedOptions = { retry: { attempts: 2 }, isFailure: (e) => !(e instanceof NotFound) };
 * ```
 */
export interface BalancedOptions {
  /** Retry a failed call on another instance. Default: no retry. */
  retry?: {
    /** Attempts in total, the first included (1 = no retry). At most 10. */
    attempts: number;
  };
  /**
   * Whether an error is the instance's fault: reported as a failure and retried. Return
   * `false` for answers another instance would give too (not found, bad input): they are
   * reported as successes and thrown at once. Default: every error. The caller's own
   * cancellation is never a failure, whatever this says.
   */
  isFailure?: (error: unknown) => boolean;
  /** Clock timing the calls. Default `systemClock`. */
  clock?: Clock;
  /** Name, for logs and metrics. Default: the discovery's service. */
  name?: string;
}

/**
 * Per-call context of a {@link Balanced} function.
 *
 * @example
 * ```ts
 * await getCart({ key: userId, signal: AbortSignal.timeout(500) });
 * ```
 */
export interface BalancedCallContext {
  /** Affinity key (for `consistentHash`). */
  key?: string;
  /** The caller's signal, handed to `call`; aborting it stops retries. */
  signal?: AbortSignal;
}

/**
 * Events of {@link balanced}.
 *
 * @example
 * ```ts
 * getOrder.events.on('call', ({ instance, ok, latencyMs }) => log.debug('call', { id: instance.id, ok, latencyMs }));
 * ```
 */
export type BalancedEvents = {
  /** One attempt ended. */
  call: {
    /** The balanced function's name. */
    name: string;
    /** The instance the attempt went to. */
    instance: Instance;
    /** 1 for the first attempt. */
    attempt: number;
    /** `'ok'`, `'failure'` (counted against the instance), `'rejected'` (not the instance's fault) or `'cancelled'`. */
    outcome: 'ok' | 'failure' | 'rejected' | 'cancelled';
    /** How long the attempt took. */
    latencyMs: number;
    /** What the attempt threw, when it failed. */
    error?: unknown;
  };
  /** A call found no instance. */
  noInstance: {
    /** The balanced function's name. */
    name: string;
    /** The discovery's service. */
    service: string;
  };
};

/**
 * What {@link balanced} returns: call it to run one balanced call.
 *
 * @example
 * ```ts
 * const getOrder = balanced(discovery, p2cEwma(), (i, signal) => fetch(`http://${i.address}/order`, { signal }));
 * const res = await getOrder();
 * await getOrder.close();
 * ```
 */
export interface Balanced<R> extends AsyncDisposable {
  /** Runs one call on a picked instance (retrying on another when configured). */
  (ctx?: BalancedCallContext): Promise<R>;
  /** Typed events. */
  readonly events: EventSource<BalancedEvents>;
  /** The picker in use. */
  readonly picker: Picker;
  /** Stops following the discovery (the discovery itself stays open: it is the caller's). */
  close(): Promise<void>;
}

const schema = z.strictObject({
  retry: z.strictObject({ attempts: z.number().int().min(1).max(10) }).optional(),
  isFailure: functionSchema<(error: unknown) => boolean>().optional(),
  clock: clockSchema.default(systemClock),
  name: nameSchema,
});

/**
 * Balances any client over a live {@link Discovery}: each call picks an instance with
 * `picker`, counts it in flight (`start`), runs `call(instance, signal)`, times it and
 * reports the outcome. With `retry: { attempts }`, a failure is retried on an instance
 * not tried yet in this call: the picker's choice when it offers one within n picks,
 * else the first untried instance the discovery lists (bypassing the picker, ejection
 * included), else any instance once all have been tried.
 *
 * Failure behaviour: no instance → {@link NoInstanceError} (`NO_INSTANCE`), before any
 * call. Every attempt failing → the last attempt's error, as thrown by `call`. An error
 * `isFailure` rejects is thrown at once (no retry) and reported as a success. The
 * caller's abort (`ctx.signal`) stops at once, rejects with the call's error (or
 * `AbortedError` when it fired before or between attempts) and is reported as cancelled, never as a
 * failure. Only retry calls that are safe to repeat: a failed attempt may have done
 * its work.
 *
 * The picker follows the discovery's `changed` event until `close()`. A picker shared
 * between several `balanced` functions sees every one of their updates: give each
 * discovery its own picker.
 *
 * @throws InvalidOptionsError naming each bad option.
 * @throws InvalidArgumentError when `discovery`, `picker` or `call` is not usable.
 *
 * @example
 * ```ts
 * import { balanced, p2cEwma, withEjection } from 'girder/balancer';
 * import { memoryRegistry } from 'girder/registry';
 *
 * const discovery = memoryRegistry().discover('orders');
 * const getOrder = balanced(
 *   discovery,
 *   withEjection(p2cEwma()),
 *   async (instance, signal) => {
 *     const res = await fetch(`http://${instance.address}/orders/42`, { signal });
 *     if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
 *     return res.json();
 *   },
 *   { retry: { attempts: 2 } },
 * );
 * const order = await getOrder({ signal: AbortSignal.timeout(1_000) });
 * ```
 */
export function balanced<R, T extends Instance = Instance>(
  discovery: Discovery,
  picker: Picker<T>,
  call: (instance: T, signal: AbortSignal) => Promise<R>,
  options: BalancedOptions = {},
): Balanced<R> {
  const opts = parseOptions('balanced', schema, options);
  if (
    typeof discovery !== 'object' ||
    discovery === null ||
    typeof discovery.instances !== 'function' ||
    typeof discovery.events?.on !== 'function'
  ) {
    throw new InvalidArgumentError('discovery', 'must be a Discovery');
  }
  if (typeof picker !== 'object' || picker === null || typeof picker.pick !== 'function') {
    throw new InvalidArgumentError('picker', 'must be a Picker');
  }
  if (typeof call !== 'function') throw new InvalidArgumentError('call', 'must be a function');
  const name = opts.name ?? discovery.service;
  const attempts = opts.retry?.attempts ?? 1;
  const isFailure = opts.isFailure ?? (() => true);
  const clock = opts.clock;
  const events = new TypedEmitter<BalancedEvents>();

  picker.update(discovery.instances() as readonly T[]);
  const unsubscribe = discovery.events.on('changed', ({ instances }) => {
    picker.update(instances as readonly T[]);
  });

  const pickAvoiding = (
    ctx: BalancedCallContext,
    tried: Set<string> | undefined,
  ): T | undefined => {
    const first = picker.pick(ctx);
    if (tried === undefined || first === undefined || !tried.has(first.id)) return first;
    // Stateful pickers move on with each pick: a few more picks usually find another
    // instance; a heavily weighted one may keep winning, so then take the first untried
    // instance the discovery lists.
    const all = discovery.instances() as readonly T[];
    for (let k = 1; k < all.length; k++) {
      const next = picker.pick(ctx);
      if (next !== undefined && !tried.has(next.id)) return next;
    }
    return all.find((i) => !tried.has(i.id)) ?? first;
  };

  const run = async (ctx: BalancedCallContext = {}): Promise<R> => {
    if (typeof ctx !== 'object' || ctx === null)
      throw new InvalidArgumentError('ctx', 'must be an object');
    if (ctx.key !== undefined && typeof ctx.key !== 'string') {
      throw new InvalidArgumentError('ctx.key', 'must be a string');
    }
    const callerSignal = checkSignal(ctx.signal, 'ctx.signal');
    if (callerSignal?.aborted) throw new AbortedError(callerSignal.reason);
    const signal = callerSignal ?? new AbortController().signal;
    let tried: Set<string> | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1 && callerSignal?.aborted) throw new AbortedError(callerSignal.reason);
      const instance = pickAvoiding(ctx, tried);
      if (instance === undefined) {
        if (attempt > 1) throw lastError;
        events.emit('noInstance', { name, service: discovery.service });
        throw new NoInstanceError(discovery.service);
      }
      picker.start?.(instance);
      const started = clock.now();
      try {
        const result = await call(instance, signal);
        const latencyMs = Math.max(0, clock.now() - started);
        picker.report(instance, { ok: true, latencyMs });
        events.emit('call', { name, instance, attempt, outcome: 'ok', latencyMs });
        return result;
      } catch (error) {
        const latencyMs = Math.max(0, clock.now() - started);
        if (isCallerCancellation(error, callerSignal)) {
          picker.report(instance, { ok: true, latencyMs, cancelled: true });
          events.emit('call', { name, instance, attempt, outcome: 'cancelled', latencyMs, error });
          throw error;
        }
        const failed = isFailure(error);
        picker.report(instance, { ok: !failed, latencyMs });
        events.emit('call', {
          name,
          instance,
          attempt,
          outcome: failed ? 'failure' : 'rejected',
          latencyMs,
          error,
        });
        if (!failed) throw error;
        lastError = error;
        tried ??= new Set();
        tried.add(instance.id);
      }
    }
    throw lastError;
  };

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    unsubscribe();
  };
  return Object.defineProperties(run, {
    // Observability labels a block by its `name`: the option, not the function's own name.
    name: { value: name },
    events: { value: events, enumerable: true },
    picker: { value: picker, enumerable: true },
    close: { value: close, enumerable: true },
    [Symbol.asyncDispose]: { value: close },
  }) as unknown as Balanced<R>;
}
