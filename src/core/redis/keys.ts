import { z } from 'zod';

/**
 * Whether `prefix` can start girder Redis keys: not empty and free of `{` and `}`, so the
 * hash tag {@link redisKey} puts around it is the key's first (and only) tag.
 *
 * @example
 * ```ts
 * import { isRedisPrefix } from 'girder/core';
 *
 * isRedisPrefix('shop:rl'); // true
 * isRedisPrefix('shop:{rl}'); // false
 * ```
 */
export function isRedisPrefix(prefix: unknown): prefix is string {
  return typeof prefix === 'string' && prefix.length > 0 && !/[{}]/.test(prefix);
}

/**
 * zod schema of a key prefix option (see {@link isRedisPrefix}), with a default.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { redisPrefixSchema } from 'girder/core';
 *
 * const schema = z.strictObject({ prefix: redisPrefixSchema('girder:lock') });
 * ```
 */
export function redisPrefixSchema(defaultPrefix: string) {
  return z
    .string()
    .min(1)
    .refine((p) => isRedisPrefix(p), 'must not contain { or } (girder adds the hash tag)')
    .default(defaultPrefix);
}

/**
 * The one key rule of girder on Redis: `{prefix:tag}` followed by `:suffix` when given.
 * The braces are a Redis Cluster hash tag, so every key built with the same prefix and
 * tag lands in one slot, and a script may touch all of them. Use the logical key (e.g.
 * `limiterName:userKey`) as the tag and distinguish its sub-keys by suffix.
 *
 * @example
 * ```ts
 * import { redisKey } from 'girder/core';
 *
 * redisKey('girder:rl', 'api:user:42'); // '{girder:rl:api:user:42}'
 * redisKey('girder:lock', 'order:7', 'fence'); // '{girder:lock:order:7}:fence'
 * ```
 */
export function redisKey(prefix: string, tag: string, suffix?: string): string {
  return suffix === undefined ? `{${prefix}:${tag}}` : `{${prefix}:${tag}}:${suffix}`;
}
