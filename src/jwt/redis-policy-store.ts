import { z } from 'zod';
import { parseOptions, withTimeout } from '../core/index.js';
import type { Permission, PolicyChange, PolicyListener, PolicyStore } from './policy-store.js';
import { checkPrefix, type RedisPubSubClient, RedisScript, type RedisSubscriber } from './redis.js';

/** Options of {@link redisPolicyStore}. */
export interface RedisPolicyStoreOptions {
  /** Name for logs and metrics. Default `redisPolicyStore`. */
  name?: string;
  /** Prefix of every key and of the channel (no braces). Default `girder:authz:`. */
  prefix?: string;
  /** Give up on a Redis command after this many ms. Default `2000`. */
  timeoutMs?: number;
}

const schema = z.strictObject({
  name: z.string().min(1).default('redisPolicyStore'),
  client: z.custom<RedisPubSubClient>(
    (c) =>
      typeof (c as RedisPubSubClient | null)?.call === 'function' &&
      typeof (c as RedisPubSubClient).duplicate === 'function',
    'expected a Redis client with call() and duplicate() (ioredis Redis)',
  ),
  prefix: z.string().refine(checkPrefix, 'must not contain { or }').default('girder:authz:'),
  timeoutMs: z.number().int().positive().default(2000),
});

// KEYS: version, roles, grants. ARGV: op, field, value, message, channel.
const APPLY = new RedisScript(`
local op = ARGV[1]
if op == 'setRole' then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
elseif op == 'deleteRole' then redis.call('HDEL', KEYS[2], ARGV[2])
elseif op == 'grant' then redis.call('HSET', KEYS[3], ARGV[2], '1')
elseif op == 'revoke' then redis.call('HDEL', KEYS[3], ARGV[2])
else return redis.error_reply('unknown policy op ' .. op) end
local v = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[5], v .. ' ' .. ARGV[4])
return v
`);

const LOAD = new RedisScript(`
return { redis.call('GET', KEYS[1]) or '0', redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]) }
`);

/** Grants are stored as hash fields `subject \n role`; names never contain a newline. */
const SEPARATOR = '\n';

/**
 * Policy store on Redis, shared by every instance. Each change is one Lua script that
 * updates the rules, increments the version and publishes `version change` on a
 * channel, atomically. Subscribers apply a change when it is the next version, and
 * reload the whole rule set (one script, a consistent snapshot) when they notice a
 * gap — a missed message, a reconnect — so pub/sub losses are repaired, never ignored.
 *
 * The store duplicates the client once for its subscriber connection. Rule keys have no
 * TTL (they are configuration, not session state) and share one hash tag, so the store
 * works on Redis Cluster.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { authorizer, redisPolicyStore } from 'girder/jwt';
 *
 * const authz = authorizer({ rules, store: redisPolicyStore(new Redis(process.env.REDIS_URL!)) });
 * await authz.grant('u-42', 'support'); // every instance allows it on its next check
 * ```
 */
export function redisPolicyStore(
  client: RedisPubSubClient,
  options: RedisPolicyStoreOptions = {},
): PolicyStore & AsyncDisposable {
  const { prefix, timeoutMs } = parseOptions('redisPolicyStore', schema, { ...options, client });
  const keys = [`${prefix}{policy}:v`, `${prefix}{policy}:roles`, `${prefix}{policy}:grants`];
  const channel = `${prefix}changes`;
  const bounded = <T>(work: () => Promise<T>): Promise<T> => withTimeout(work, { timeoutMs });
  // Scripts carry the same deadline to the server, which refuses to apply them after it.
  const script = { timeoutMs };
  const listeners = new Set<PolicyListener>();
  let subscriber: RedisSubscriber | undefined;
  let subscribing: Promise<void> | undefined;

  const deliver = (version: number, change: PolicyChange | null) => {
    for (const listener of [...listeners]) listener(version, change);
  };

  const connect = (): Promise<void> => {
    subscribing ??= (async () => {
      const sub = client.duplicate();
      subscriber = sub;
      sub.on('message', (ch: string, message: string) => {
        if (ch !== channel) return;
        const space = message.indexOf(' ');
        const version = Number(message.slice(0, space));
        let change: PolicyChange | null = null;
        try {
          change = JSON.parse(message.slice(space + 1)) as PolicyChange;
        } catch {
          // An unreadable change: listeners reload instead of applying it.
        }
        if (Number.isSafeInteger(version)) deliver(version, change);
      });
      let connected = false;
      sub.on('ready', () => {
        // Every reconnect may have lost messages: ask listeners to compare versions.
        if (connected) deliver(0, null);
        connected = true;
      });
      sub.on('error', () => {
        // ioredis reconnects on its own; the 'ready' after it triggers a resync.
      });
      await bounded(() => sub.subscribe(channel));
    })();
    subscribing.catch(() => {
      // Start over on the next subscribe() rather than keep a failed connection.
      const failed = subscriber;
      subscriber = undefined;
      subscribing = undefined;
      failed?.quit().catch(() => {});
    });
    return subscribing;
  };

  return {
    async load() {
      const [version, roles, grants] = (await bounded(() =>
        LOAD.run(client, keys, [], script),
      )) as [string, string[], string[]];
      const snapshot = {
        version: Number(version),
        roles: {} as Record<string, Permission[]>,
        grants: {} as Record<string, string[]>,
      };
      for (let i = 0; i < roles.length; i += 2) {
        try {
          snapshot.roles[roles[i]!] = JSON.parse(roles[i + 1]!) as Permission[];
        } catch {
          // A corrupt entry: keep the role, with a rule the authorizer rejects (fail closed).
          snapshot.roles[roles[i]!] = [{ effect: 'deny', resource: '', match: 'exact' }];
        }
      }
      for (let i = 0; i < grants.length; i += 2) {
        const field = grants[i]!;
        const at = field.indexOf(SEPARATOR);
        const subject = field.slice(0, at);
        const roles = snapshot.grants[subject];
        if (roles === undefined) snapshot.grants[subject] = [field.slice(at + 1)];
        else roles.push(field.slice(at + 1));
      }
      return snapshot;
    },

    async version() {
      return Number((await bounded(() => client.call('GET', keys[0]!))) ?? 0);
    },

    async apply(change) {
      const [field, value] =
        change.op === 'setRole'
          ? [change.role, JSON.stringify(change.permissions)]
          : change.op === 'deleteRole'
            ? [change.role, '']
            : [`${change.subject}${SEPARATOR}${change.role}`, ''];
      const version = await bounded(() =>
        APPLY.run(client, keys, [change.op, field, value, JSON.stringify(change), channel], script),
      );
      return Number(version);
    },

    async subscribe(listener) {
      listeners.add(listener);
      await connect();
      return () => {
        listeners.delete(listener);
      };
    },

    async close() {
      listeners.clear();
      const sub = subscriber;
      subscriber = undefined;
      subscribing = undefined;
      await sub?.quit().catch(() => {});
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}
