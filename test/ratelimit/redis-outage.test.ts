// Redis stopped mid-test (a dedicated server, SIGKILLed and restarted): each onStoreError
// mode answers as documented while it is down, and the limiter recovers by itself.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Decision,
  fixedWindow,
  type RateLimiter,
  redisStore,
  type StoreErrorMode,
} from '../../src/ratelimit/index.js';
import { type RedisServer, startRedis } from '../harness/index.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const STORE_RETRY_MS = 200;

function setup(mode: StoreErrorMode) {
  const client = new Redis(server.url, { enableAutoPipelining: true });
  client.on('error', () => {}); // expected while the server is down
  const limiter: RateLimiter = fixedWindow({
    limit: 10,
    windowMs: 60_000,
    store: redisStore(client, { prefix: `outage-${mode}`, timeoutMs: 500 }),
    onStoreError: mode,
    instances: 5, // local: 10 / 5 = 2 per process
    storeRetryMs: STORE_RETRY_MS,
  });
  const events: string[] = [];
  const sources: string[] = [];
  limiter.events.on('fallback', (e) => events.push(`fallback:${e.mode}`));
  limiter.events.on('recovered', () => events.push('recovered'));
  limiter.events.on('storeError', (e) => {
    expect(e.error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    if (events.at(-1) !== 'storeError') events.push('storeError');
  });
  limiter.events.on('decision', (e) => sources.push(e.source));
  return { client, limiter, events, sources };
}

const expectations: Record<StoreErrorMode, (down: Decision[]) => void> = {
  deny: (down) => {
    expect(down.every((d) => !d.allowed)).toBe(true);
    expect(down.every((d) => d.retryAfterMs > 0 && d.retryAfterMs <= STORE_RETRY_MS)).toBe(true);
  },
  allow: (down) => expect(down.every((d) => d.allowed)).toBe(true),
  local: (down) => expect(down.map((d) => d.allowed)).toEqual([true, true, false, false, false]),
};

describe.each(['deny', 'allow', 'local'] as const)('onStoreError: %s', (mode) => {
  it('answers per mode while Redis is down and recovers after restart()', async () => {
    const { client, limiter, events, sources } = setup(mode);
    try {
      await client.ping();
      const before = await limiter.limit(`k`);
      expect(before).toMatchObject({ allowed: true, remaining: 9 });

      await server.kill();
      await waitFor(() => client.status !== 'ready', 'the client to notice the outage');
      const down: Decision[] = [];
      for (let i = 0; i < 5; i++) down.push(await limiter.limit('k'));
      expectations[mode](down);
      expect(events.slice(0, 2)).toEqual(['storeError', `fallback:${mode}`]);
      expect(sources.slice(-5)).toEqual(Array(5).fill('fallback'));

      await server.restart(); // no persistence: the key (and script cache) are gone
      await waitFor(() => client.status === 'ready', 'the client to reconnect');
      await new Promise((r) => setTimeout(r, STORE_RETRY_MS + 20));
      const after = await limiter.limit('k');
      expect(events.at(-1)).toBe('recovered');
      expect(events.filter((e) => e.startsWith('fallback'))).toHaveLength(1);
      expect(sources.at(-1)).toBe('store');
      expect(after).toMatchObject({ allowed: true, remaining: 9 });
    } finally {
      client.disconnect();
      if (!server.isRunning) await server.restart();
    }
  });
});
