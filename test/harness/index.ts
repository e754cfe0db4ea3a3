// What tests import: `import { sharedRedisUrl, startRedis, uniquePrefix } from '../harness/index.js'`.
export { type EnsureBinaryOptions, ensureBinary, MissingBinaryError } from './binaries.js';
export { type EtcdOptions, type EtcdServer, startEtcd } from './etcd.js';
export { freePort, freePorts } from './ports.js';
export {
  locatePostgres,
  type PostgresOptions,
  type PostgresServer,
  postgresPool,
  startPostgres,
} from './postgres.js';
export { type RedisOptions, type RedisServer, startRedis } from './redis.js';
export {
  type RedisCluster,
  type RedisClusterOptions,
  sharedRedisCluster,
  startRedisCluster,
} from './redis-cluster.js';
export { type ServiceHandle, type ServiceOptions, ServiceStartError } from './service.js';
export { sharedEtcdEndpoints, sharedRedisUrl } from './shared.js';
export {
  type BackendName,
  type ContractBackend,
  describeBackends,
  openRedisClient,
  type RedisBackendClient,
} from './store-contract.js';
export { uniquePrefix } from './unique-prefix.js';
