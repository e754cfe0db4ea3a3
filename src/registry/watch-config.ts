// `watchConfig`: one key's JSON value, validated by a zod schema, kept live. An invalid
// update is rejected and the last good value stays: a typo in the config centre must not
// take a fleet down.
import type { Etcd3, Namespace } from 'etcd3';
import { z } from 'zod';
import { checkEtcdClient, isEtcdClient } from '../core/etcd/index.js';
import {
  type Backoff,
  type Clock,
  clockSchema,
  type EventSource,
  InvalidArgumentError,
  type OptionIssue,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import {
  type ConfigFeed,
  checkKey,
  etcdConfigFeed,
  isMemoryConfigStore,
  type MemoryConfigStore,
} from './config-store.js';
import { defaultRegistryRetry } from './etcd.js';

/**
 * Events of a {@link LiveConfig}.
 *
 * @example
 * ```ts
 * config.events.on('rejected', ({ issues }) => console.warn('bad config ignored', issues));
 * ```
 */
export type LiveConfigEvents<T> = {
  /** A new valid value replaced the previous one. */
  changed: {
    /** The key watched. */
    key: string;
    /** The new value. */
    value: T;
    /** The value before, if any. */
    previous: T | undefined;
  };
  /** An update failed the schema (or was not JSON); the last good value is kept. */
  rejected: {
    /** The key watched. */
    key: string;
    /** The text that was rejected. */
    raw: string;
    /** What the schema (or the JSON parser) reported. */
    issues: readonly OptionIssue[];
  };
  /** The key was deleted; the last good value is kept. */
  removed: {
    /** The key watched. */
    key: string;
  };
  /** Reading or watching the key failed; it is retried. */
  error: {
    /** The key watched. */
    key: string;
    /** The underlying error. */
    error: unknown;
  };
};

/**
 * A typed live value from {@link watchConfig}.
 *
 * @example
 * ```ts
 * const limits = watchConfig(etcd, 'shop/limits', z.object({ perSecond: z.number() }));
 * await limits.ready;
 * console.log(limits.value?.perSecond);
 * ```
 */
export interface LiveConfig<T> extends AsyncDisposable {
  /** The key watched. */
  readonly key: string;
  /** The last valid value, or `initial` until one is read; undefined when neither exists. */
  readonly value: T | undefined;
  /** Resolves after the first read of the key (valid, invalid or missing). */
  readonly ready: Promise<void>;
  /** Typed events. */
  readonly events: EventSource<LiveConfigEvents<T>>;
  /** Stops watching; `value` keeps its last value. */
  close(): Promise<void>;
}

/**
 * Options of {@link watchConfig}.
 *
 * @example
 * ```ts
 * const options: WatchConfigOptions<{ phase: string }> = { initial: { phase: 'old' } };
 * ```
 */
export interface WatchConfigOptions<T> {
  /** Name for metrics and logs. Default `'config'`. */
  name?: string;
  /** The value before one is read, and while the key does not exist. Validated by the schema. */
  initial?: T;
  /** Longest wait for one etcd request. Default 2 000 ms. */
  requestTimeoutMs?: number;
  /** Delays between retries after a failed read. Default exponential 100 ms to 5 s, full jitter. */
  retry?: Backoff;
  /** Clock for timeouts and retries. Default `systemClock`. */
  clock?: Clock;
}

const optionsSchema = z.strictObject({
  name: z.string().min(1).max(256).default('config'),
  initial: z.unknown().optional(),
  requestTimeoutMs: z.number().int().min(1).max(600_000).default(2_000),
  retry: z
    .custom<Backoff>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
      { message: 'must be a Backoff' },
    )
    .optional(),
  clock: clockSchema.default(systemClock),
});

function issuesOf(error: z.ZodError): OptionIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/**
 * Watch one key holding JSON and keep a typed, validated copy of it.
 *
 * - `source` is an etcd3 client (the key is read, then watched from the next revision;
 *   after a reconnection it is read again) or a {@link memoryConfigStore}.
 * - Each new value is parsed as JSON and checked with `schema`: a valid one replaces
 *   `value` (event `changed`); an invalid one is ignored, `value` keeps the last good
 *   one, and `rejected` carries the schema's issues.
 * - A deleted key keeps the last good value (event `removed`).
 * - While etcd is unreachable the last value stays (event `error`, retried with backoff).
 *
 * @throws InvalidArgumentError when `source` is neither, `key` is empty, `schema` is not a
 *   zod schema, or `initial` fails the schema.
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { watchConfig } from 'girder/registry';
 *
 * const Phase = z.object({ phase: z.enum(['old', 'dual-write', 'new']) });
 * const phase = watchConfig(etcd, 'shop/migration/phase', Phase, { initial: { phase: 'old' } });
 * phase.events.on('rejected', ({ issues }) => console.warn('ignored a bad phase', issues));
 * await phase.ready;
 * if (phase.value?.phase === 'dual-write') {
 *   // write both
 * }
 * await phase.close();
 * ```
 */
export function watchConfig<S extends z.ZodType>(
  source: Etcd3 | Namespace | MemoryConfigStore,
  key: string,
  schema: S,
  options: WatchConfigOptions<z.output<S>> = {},
): LiveConfig<z.output<S>> {
  type T = z.output<S>;
  const parsed = parseOptions('watchConfig', optionsSchema, options);
  checkKey(key);
  if (!(schema instanceof z.ZodType)) {
    throw new InvalidArgumentError('schema', 'must be a zod schema');
  }
  let feed: ConfigFeed;
  if (isMemoryConfigStore(source)) feed = source;
  else if (isEtcdClient(source)) {
    feed = etcdConfigFeed(checkEtcdClient(source, 'source'), {
      requestTimeoutMs: parsed.requestTimeoutMs,
      retry: parsed.retry ?? defaultRegistryRetry(),
      clock: parsed.clock,
    });
  } else {
    throw new InvalidArgumentError('source', 'must be an etcd3 client or a memoryConfigStore()');
  }
  let value: T | undefined;
  if (parsed.initial !== undefined) {
    const checked = schema.safeParse(parsed.initial);
    if (!checked.success) {
      const list = issuesOf(checked.error).map((i) => `${i.path || '(root)'}: ${i.message}`);
      throw new InvalidArgumentError('initial', `fails the schema: ${list.join('; ')}`);
    }
    value = checked.data;
  }
  const events = new TypedEmitter<LiveConfigEvents<T>>();
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  let lastRaw: string | undefined;
  let closed = false;

  const onValue = (raw: string | undefined) => {
    if (closed) return;
    markReady();
    if (raw === undefined) {
      if (lastRaw !== undefined) events.emit('removed', { key });
      lastRaw = undefined;
      return;
    }
    // A re-read after a reconnection often returns the same text: not a change.
    if (raw === lastRaw) return;
    lastRaw = raw;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      const message = `not JSON: ${error instanceof Error ? error.message : String(error)}`;
      events.emit('rejected', { key, raw, issues: [{ path: '', message }] });
      return;
    }
    const checked = schema.safeParse(json);
    if (!checked.success) {
      events.emit('rejected', { key, raw, issues: issuesOf(checked.error) });
      return;
    }
    const previous = value;
    value = checked.data;
    events.emit('changed', { key, value: checked.data, previous });
  };
  const stop = feed.subscribe(key, onValue, (error) => events.emit('error', { key, error }));

  const live: LiveConfig<T> = {
    key,
    get value() {
      return value;
    },
    ready,
    events,
    async close() {
      if (closed) return;
      closed = true;
      stop();
      markReady();
    },
    [Symbol.asyncDispose]() {
      return live.close();
    },
  };
  return live;
}
