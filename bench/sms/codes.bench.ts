import { registeredRedisScripts } from 'girder/core';
import { codeService, redisCodeStore, type SmsMessage, type SmsService } from 'girder/sms';
import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from '../../test/harness/redis.js';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * Verification codes on Redis: one op is `send` (one script, plus an in-process SMS
 * stub) then `verify` of the right code (one script), so two Redis round trips. The
 * peer is the floor on the SAME auto-pipelined client: two bare EVALSHA `return 1`
 * round trips, one after the other. Sequential, and with 100 ops in flight. A diagnostic
 * peer runs girder's own two scripts through the bare client (the Redis-side cost of a
 * send + verify without girder's JavaScript: HMACs, CSPRNG, runner, events).
 * Uses REDIS_URL when set, otherwise starts a throwaway redis-server.
 */
const PHONES = Array.from({ length: 10_000 }, (_, i) => `+86138${String(i).padStart(8, '0')}`);
const IN_FLIGHT = 100;

let server: RedisServer | undefined;
let client: Redis;
let trivialSha = '';
const delivered = new Map<string, string>();
const stub: SmsService = {
  async send(message: SmsMessage) {
    delivered.set(message.to[0] as string, message.params?.code as string);
    return { provider: 'stub', messageIds: ['1'], requestId: message.requestId ?? '' };
  },
};
let codes: ReturnType<typeof codeService>;
let next = 0;

const girderOp = async () => {
  const phone = PHONES[next++ % PHONES.length] as string;
  await codes.send(phone, 'login');
  await codes.verify(phone, 'login', delivered.get(phone) as string);
};
const bareOp = async () => {
  const key = `{bench:bare:${next++ % PHONES.length}}`;
  await client.evalsha(trivialSha, 1, key, '1');
  await client.evalsha(trivialSha, 1, key, '1');
};

// girder's issue and check scripts, found in core's script registry after setup.
let issueSha = '';
let checkSha = '';
const FAR_DEADLINE = String(Date.now() + 3_600_000);
const HASH = 'f'.repeat(64);
const rawOp = async () => {
  const key = `{bench:raw:${next++ % PHONES.length}}`;
  await client.evalsha(issueSha, 1, key, HASH, 600_000, 0, 3, 1_200_000, FAR_DEADLINE);
  await client.evalsha(checkSha, 1, key, HASH, FAR_DEADLINE);
};

const sequential =
  (op: () => Promise<void>): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) await op();
  };
const concurrent =
  (op: () => Promise<void>): Runner =>
  async (n) => {
    let issued = 0;
    const lane = async () => {
      while (issued < n) {
        issued++;
        await op();
      }
    };
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, n) }, lane));
  };

async function setup() {
  let url = process.env.REDIS_URL?.trim();
  if (!url) {
    server = await startRedis();
    url = server.url;
  }
  client = new Redis(url, { enableAutoPipelining: true });
  await client.flushdb();
  codes = codeService({
    sms: stub,
    store: redisCodeStore(client, { prefix: 'bench:code' }),
    template: 'login',
    secret: 'bench-secret-bench-secret-32byte',
    resendAfterMs: 0, // every op sends a fresh code
  });
  trivialSha = (await client.script('LOAD', 'return 1')) as string;
  await girderOp(); // loads the scripts
  for (const script of registeredRedisScripts()) {
    if (script.body.includes("'HSET', KEYS[1], 'h', ARGV[1], 's'")) issueSha = script.sha;
    if (script.body.includes("'HMGET', KEYS[1], 'h', 'e', 'n'")) checkSha = script.sha;
  }
  return async () => {
    await codes.close();
    client.disconnect();
    await server?.stop();
  };
}

export const suite: BenchSuite = {
  name: 'sms codes (redis)',
  cases: [
    {
      name: 'codeService send + verify, sequential',
      setup,
      girder: sequential(girderOp),
      peers: [
        { name: 'two bare EVALSHA `return 1` round trips', run: sequential(bareOp) },
        { name: "girder's issue + check scripts, bare client", run: sequential(rawOp) },
      ],
    },
    {
      name: `codeService send + verify, ${IN_FLIGHT} in flight`,
      setup,
      girder: concurrent(girderOp),
      peers: [
        { name: 'two bare EVALSHA `return 1` round trips', run: concurrent(bareOp) },
        { name: "girder's issue + check scripts, bare client", run: concurrent(rawOp) },
      ],
    },
  ],
};
