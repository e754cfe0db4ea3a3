/**
 * Foundations shared by every girder module: typed errors, option validation, an
 * injectable clock, cancellation helpers, backoff strategies, a typed event emitter,
 * shared statistics (time and count windows, decaying means)
 * and the interface decorator helper.
 *
 * @module core
 */

export {
  checkSignal,
  isAbortSignal,
  isCallerCancellation,
  type SleepOptions,
  sleep,
  type TimeoutOptions,
  throwIfAborted,
  withTimeout,
} from './abort.js';
export {
  type Backoff,
  type ConstantBackoffOptions,
  constant,
  type ExponentialBackoffOptions,
  exponential,
  type Jitter,
} from './backoff.js';
export {
  type Clock,
  MAX_TIMER_MS,
  type ManualClock,
  manualClock,
  systemClock,
  type TimerHandle,
} from './clock.js';
export {
  type Around,
  type AsyncMethodKeys,
  type DecorateOptions,
  decorate,
  type MethodCall,
  methodNamesOf,
} from './decorate.js';
export {
  AbortedError,
  GirderError,
  type GirderErrorCode,
  InvalidArgumentError,
  InvalidOptionsError,
  isGirderError,
  type OptionIssue,
  TimeoutError,
} from './errors.js';
export {
  type EventMap,
  type EventSource,
  type Listener,
  TypedEmitter,
  type TypedEmitterOptions,
} from './events.js';
export { clockSchema, functionSchema, parseOptions } from './options.js';
export {
  checkRedisClient,
  classifyRedisError,
  isRedisClient,
  isRedisPrefix,
  type RedisClient,
  RedisCommandError,
  type RedisRunner,
  type RedisRunnerOptions,
  type RedisScript,
  type RedisScriptOptions,
  RedisUnavailableError,
  type RedisUnavailableReason,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  redisScript,
  registeredRedisScripts,
} from './redis/index.js';
export {
  defaultSignalInto,
  defaultSignalOf,
  type SignalInto,
  type SignalOf,
} from './signal-of.js';
export {
  CountWindow,
  type CountWindowOptions,
  type CountWindowSnapshot,
  MAX_COUNT_WINDOW_SIZE,
} from './stats/count-window.js';
export {
  type Decay,
  type DecayByAlpha,
  type DecayByCalls,
  type DecayByTime,
  DecayingMean,
  decaySchema,
} from './stats/decaying-mean.js';
export type { LoadOptions } from './stats/snapshot.js';
export {
  MAX_TIME_WINDOW_BUCKETS,
  type TimeBucketSnapshot,
  TimeWindow,
  type TimeWindowOptions,
  type TimeWindowSnapshot,
} from './stats/time-window.js';
export {
  type FallbackEvent,
  type RecoveredEvent,
  type StoreErrorEvent,
  type StoreErrorMode,
  StoreFallback,
  type StoreFallbackEvents,
  type StoreFallbackOptions,
  type StoreFallbackSink,
  type StoreRoute,
} from './store-fallback.js';
