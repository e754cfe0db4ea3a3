/**
 * Distributed locks with fencing tokens on memory, Redis and etcd.
 *
 * @module lock
 */
export {
  FencedError,
  LockerClosedError,
  LockLostError,
  LockNotHeldError,
  LockTimeoutError,
} from './errors.js';
export { type EtcdLockOptions, etcdLock } from './etcd.js';
export {
  type FencedRedis,
  type FencedRedisOptions,
  type FencedValue,
  fencedRedis,
} from './fenced-redis.js';
export { type FencedUpdate, fencedUpdate } from './fenced-sql.js';
export { type MemoryLockOptions, memoryLock } from './memory.js';
export { type RedisLockOptions, redisLock } from './redis.js';
export type {
  AcquireOptions,
  HeldLockInfo,
  Lock,
  LockEvents,
  Locker,
  LockerOptions,
  LockLossReason,
  WatchdogOptions,
} from './types.js';
