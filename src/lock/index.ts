/**
 * Distributed locks with fencing tokens on memory, Redis and etcd.
 *
 * @module lock
 */
export { FencedError, LockLostError, LockNotHeldError, LockTimeoutError } from './errors.js';
export type {
  AcquireOptions,
  Lock,
  LockEvents,
  Locker,
  LockerOptions,
  LockLossReason,
  WatchdogOptions,
} from './types.js';
