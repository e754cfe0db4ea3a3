/**
 * Service registry on etcd (leases with keepalive, re-registration, watch-based
 * discovery that stays up through an outage) and in memory; live typed config; worker ids
 * and snowflake ids.
 *
 * @module registry
 */

export { type MemoryConfigStore, memoryConfigStore } from './config-store.js';
export { ClockMovedBackwardsError, NoFreeWorkerIdError, RegistryClosedError } from './errors.js';
export { type EtcdRegistryOptions, etcdRegistry } from './etcd.js';
export {
  type MemoryRegistryOptions,
  type MemoryRegistryStore,
  memoryRegistry,
  memoryRegistryStore,
} from './memory.js';
export {
  type Snowflake,
  type SnowflakeOptions,
  type SnowflakeParts,
  snowflake,
  WorkerIdLostError,
} from './snowflake.js';
export type {
  Discovery,
  DiscoveryEvents,
  Instance,
  InstanceSpec,
  Registration,
  RegistrationEvents,
  Registry,
  RegistryBackend,
  RegistryEvents,
} from './types.js';
export {
  type LiveConfig,
  type LiveConfigEvents,
  type WatchConfigOptions,
  watchConfig,
} from './watch-config.js';
export {
  type WorkerId,
  type WorkerIdEvents,
  type WorkerIdOptions,
  workerId,
} from './worker-id.js';
