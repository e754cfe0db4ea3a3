import { z } from 'zod';
import {
  type AsyncMethodKeys,
  decorate,
  InvalidArgumentError,
  parseOptions,
  TypedEmitter,
} from '../core/index.js';
import type { FailoverEvents } from './events.js';
import {
  attach,
  type DecoratedTarget,
  fn,
  invoke,
  methodsSchema,
  nameSchema,
  resolveTargets,
} from './shared.js';

/** Options of {@link trafficSplit}. */
export interface TrafficSplitOptions<T> {
  /** Gets `percent`% of the calls. */
  primary: T;
  /** Gets the other `100 - percent`%. */
  secondary: T;
  /** Share of calls routed to `primary`, 0..100 (fractions allowed); change it live with `setPercent`. */
  percent: number;
  /** Random source in [0, 1) for unkeyed calls. Default `Math.random`. */
  random?: () => number;
  /**
   * Sticky routing: a key per call (a user id, a phone number). Calls with the same key
   * go to the same side for a given percentage, and raising the percentage only moves
   * keys from `secondary` to `primary`, never back. Return `undefined` for a random pick.
   * Default: every call is picked at random.
   */
  key?: (method: string, args: readonly unknown[]) => string | undefined;
  /** Methods to decorate. Default: every method of `primary`. */
  methods?: readonly AsyncMethodKeys<T>[];
  /** Name of this decorator, for logs and metrics (`control.name`). */
  name?: string;
}

/** The live percentage of a {@link trafficSplit}: its `control` property. */
export interface TrafficSplitControl {
  /** The `name` option. */
  readonly name: string | undefined;
  /** Current share of calls going to `primary`, 0..100. */
  readonly percent: number;
  /** Change the share from the next call on. Throws `INVALID_ARGUMENT` outside 0..100. */
  setPercent(percent: number): void;
}

/** What {@link trafficSplit} returns: the targets' own type, plus its `events` and `control`. */
export type TrafficSplit<T> = DecoratedTarget<T, FailoverEvents, TrafficSplitControl>;

const percentSchema = z.number().min(0).max(100);

const schema = z.strictObject({
  primary: z.custom<object>((v) => v !== null && typeof v === 'object', {
    message: 'must be an object',
  }),
  secondary: z.custom<object>((v) => v !== null && typeof v === 'object', {
    message: 'must be an object',
  }),
  percent: percentSchema,
  random: fn<() => number>().default(() => Math.random),
  key: fn<(method: string, args: readonly unknown[]) => string | undefined>().optional(),
  methods: methodsSchema,
  name: nameSchema,
});

/**
 * Where a sticky key falls in [0, 100): FNV-1a followed by murmur3's finaliser for an
 * even spread. {@link trafficSplit} sends a keyed call to `primary` when this is below
 * `percent`; use it to tell in advance which side a user lands on.
 *
 * @example
 * ```ts
 * import { stickyBucket } from 'girder/failover';
 *
 * const onPrimary = stickyBucket('user-42') < 10; // would user 42 get the new path at 10%?
 * ```
 *
 * @throws InvalidArgumentError (`INVALID_ARGUMENT`) when `key` is not a string (a
 *   `key` option returning one makes that call reject with it).
 */
export function stickyBucket(key: string): number {
  if (typeof key !== 'string') throw new InvalidArgumentError('key', 'must be a string');
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 2 ** 32) * 100;
}

/**
 * Route `percent`% of calls to `primary` and the rest to `secondary`, both
 * implementations of the same interface, with a percentage you can change while
 * running: a gray release (local implementation vs the new gRPC client, old provider vs
 * new) that ramps up 1% -> 10% -> 100% and rolls back instantly. Returns an object of
 * the targets' own type. Errors are not failed over: each call goes to exactly one side
 * (stack `failover([split, fallback])` if you want that). The returned object carries
 * `events` (`route`, `percent`) and `control` (`percent`, `setPercent`), see
 * {@link Decorated}.
 *
 * @throws InvalidOptionsError naming each bad option (e.g. `percent` outside 0..100).
 * @throws InvalidArgumentError when `secondary` lacks a decorated method.
 *
 * @example
 * ```ts
 * import { trafficSplit } from 'girder/failover';
 *
 * // Start with 5% of calls on the new gRPC client, the rest in-process; same user, same side.
 * const interactions = trafficSplit({
 *   primary: grpcInteractionClient,
 *   secondary: localInteractionService,
 *   percent: 5,
 *   key: (_method, [req]) => String((req as { userId: number }).userId),
 * });
 * config.on('change', (c) => interactions.control.setPercent(c.grpcPercent));
 * ```
 */
export function trafficSplit<T extends object>(options: TrafficSplitOptions<T>): TrafficSplit<T> {
  const opts = parseOptions('trafficSplit', schema, options);
  const resolved = resolveTargets([opts.primary, opts.secondary], opts.methods, (i) =>
    i === 0 ? 'primary' : 'secondary',
  );
  const [primary, secondary] = resolved.targets as [T, T];
  const { random, key } = opts;
  const events = new TypedEmitter<FailoverEvents>();
  let percent = opts.percent;

  const decorated = decorate(
    primary,
    ({ method, args }) => {
      const k = key?.(method, args);
      const toPrimary = (k === undefined ? random() * 100 : stickyBucket(k)) < percent;
      if (events.has('route')) {
        events.emit('route', {
          to: toPrimary ? 'primary' : 'secondary',
          method,
          sticky: k !== undefined,
        });
      }
      return invoke(toPrimary ? primary : secondary, method, args);
    },
    { methods: resolved.methods as AsyncMethodKeys<T>[] },
  );

  const control: TrafficSplitControl = {
    name: opts.name,
    get percent() {
      return percent;
    },
    setPercent(next: number) {
      if (!percentSchema.safeParse(next).success) {
        throw new InvalidArgumentError('percent', 'must be a number from 0 to 100');
      }
      const from = percent;
      percent = next;
      if (from !== next) events.emit('percent', { from, to: next });
    },
  };
  return attach(decorated, events, control);
}
