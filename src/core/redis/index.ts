// The Redis layer every Redis-backed girder module uses (re-exported by core/index.ts).
export { checkRedisClient, isRedisClient, type RedisClient } from './client.js';
export {
  classifyRedisError,
  RedisCommandError,
  RedisUnavailableError,
  type RedisUnavailableReason,
} from './errors.js';
export { isRedisPrefix, redisKey, redisPrefixSchema } from './keys.js';
export { type RedisRunner, type RedisRunnerOptions, redisRunner } from './runner.js';
export {
  type RedisScript,
  type RedisScriptOptions,
  redisScript,
  registeredRedisScripts,
} from './script.js';
