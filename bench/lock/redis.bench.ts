import { type Locker, redisLock } from 'girder/lock';
import { Command, type Redis } from 'ioredis';
// @ts-expect-error redlock 5's exports map hides its bundled types from NodeNext resolution.
import RedlockModule from 'redlock';
import type { BenchSuite, Runner } from '../harness.js';
import { benchRedis } from '../redis-client.js';

/**
 * Redis lock acquire + release on ONE ioredis client with `enableAutoPipelining`, one
 * free key per operation (1,000 keys in rotation), sequential and with IN_FLIGHT
 * concurrent callers. Subjects, measured in the same run:
 * - girder `redisLock` with its defaults (watchdog armed, per-command deadline);
 * - redlock 5 on the single instance, `retryCount: 0`;
 * - the ceiling: two bare EVALSHA round trips, `SET NX PX` + `INCR` of a fence counter,
 *   then a token-checked `DEL`, through the client's `evalsha` (auto-pipelined);
 * and two diagnostics: girder with `watchdog: false`, and the same two bare scripts sent
 * the way girder's runner sends on a `Redis` (ioredis' `Command` through `sendCommand`,
 * the socket corked until the end of the tick): what girder's lock costs over its own
 * transport.
 * Key prefixes of girder and the ceiling have the same length (`bench:lock`, `bench:bare`):
 * ioredis writes each pipeline as a string, at a cost per byte.
 * Uses REDIS_URL when set, otherwise starts a throwaway redis-server.
 */
/** The ceiling's acquire script (also used by `redis-profile.ts`). */
export const ACQUIRE = `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return 0`;
/** The ceiling's token-checked release script. */
export const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** The part of redlock 5's API this bench uses. */
interface RedlockLike {
  acquire(resources: string[], durationMs: number): Promise<{ release(): Promise<unknown> }>;
}
const Redlock = RedlockModule as new (
  clients: Redis[],
  settings: { retryCount: number },
) => RedlockLike;

const KEYS = Array.from({ length: 1_000 }, (_, i) => `order:${i}`);
const IN_FLIGHT = 100;
const TTL_MS = 30_000;

let client: Redis;
let girder: Locker;
let girderNoWatchdog: Locker;
let redlock: RedlockLike;
let acquireSha = '';
let releaseSha = '';

type Op = (key: string) => Promise<unknown>;

const sequential =
  (op: Op): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) await op(KEYS[i % 1_000]!);
  };

// IN_FLIGHT callers, each taking the next key in turn: keys never collide because at most
// IN_FLIGHT of the 1,000 are held at once.
const concurrent =
  (op: Op): Runner =>
  async (n) => {
    let issued = 0;
    const caller = async () => {
      while (issued < n) await op(KEYS[issued++ % 1_000]!);
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, caller));
  };

const girderOp =
  (locker: () => Locker): Op =>
  async (key) => {
    const lock = await locker().acquire(key);
    await lock.release();
  };
const redlockOp: Op = async (key) => {
  const lock = await redlock.acquire([`bench:redlock:${key}`], TTL_MS);
  await lock.release();
};
// girder's transport, by hand (see src/core/redis/tick-writer.ts).
let corked = false;
const uncork = () => {
  corked = false;
  client.stream.uncork();
};
function sendTick(args: (string | number)[]): Promise<unknown> {
  if (!corked) {
    corked = true;
    client.stream.cork();
    process.nextTick(uncork);
  }
  const command = new Command('evalsha', args, { replyEncoding: 'utf8' });
  void client.sendCommand(command);
  return command.promise;
}
const tickCeilingOp: Op = async (key) => {
  const lockKey = `{bench:tick:${key}}`;
  const token = `t-${key}`;
  await sendTick([acquireSha, 2, lockKey, `${lockKey}:fence`, token, TTL_MS]);
  await sendTick([releaseSha, 1, lockKey, token]);
};
const ceilingOp: Op = async (key) => {
  const lockKey = `{bench:bare:${key}}`;
  const token = `t-${key}`;
  await client.evalsha(acquireSha, 2, lockKey, `${lockKey}:fence`, token, TTL_MS);
  await client.evalsha(releaseSha, 1, lockKey, token);
};

async function setup() {
  const redis = await benchRedis();
  client = redis.client;
  girder = redisLock(client, { prefix: 'bench:lock', ttlMs: TTL_MS });
  girderNoWatchdog = redisLock(client, {
    prefix: 'bench:lck0',
    ttlMs: TTL_MS,
    watchdog: false,
  });
  redlock = new Redlock([client], { retryCount: 0 });
  acquireSha = (await client.script('LOAD', ACQUIRE)) as string;
  releaseSha = (await client.script('LOAD', RELEASE)) as string;
  // Load every subject's scripts into the server's cache before measuring.
  await girderOp(() => girder)('warm-up');
  await girderOp(() => girderNoWatchdog)('warm-up');
  await redlockOp('warm-up');
  return async () => {
    await girder.close();
    await girderNoWatchdog.close();
    await redis.stop();
  };
}

const subjects = (wrap: (op: Op) => Runner) => ({
  girder: wrap(girderOp(() => girder)),
  peers: [
    { name: 'redlock 5 (single instance, retryCount 0)', run: wrap(redlockOp) },
    { name: 'bare EVALSHA SET NX PX + INCR, then DEL (ceiling)', run: wrap(ceilingOp) },
    { name: 'girder redisLock, watchdog: false', run: wrap(girderOp(() => girderNoWatchdog)) },
    { name: 'bare EVALSHA by sendCommand, one write a tick', run: wrap(tickCeilingOp) },
  ],
});

export const suite: BenchSuite = {
  name: 'lock (redis)',
  cases: [
    { name: 'acquire + release, sequential', setup, minRounds: 11, ...subjects(sequential) },
    {
      name: `acquire + release, ${IN_FLIGHT} in flight`,
      setup,
      minRounds: 11,
      ...subjects(concurrent),
    },
  ],
};
