// A Redis restart under a running consumer: the dedicated server runs without
// persistence, so it comes back empty; the consumer's read fails with NOGROUP, the
// group is recreated and consumption resumes for messages sent after the restart.
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { redisStreamsQueue } from '../../src/mq/index.js';
import { type RedisServer, startRedis } from '../harness/redis.js';
import { eventually, names } from './contract.js';

let server: RedisServer | undefined;
let client: Redis | undefined;
afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

it('resumes consuming after Redis restarts empty (group recreated)', async () => {
  server = await startRedis();
  client = new Redis(server.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {}); // reconnect noise while the server restarts
  const queue = redisStreamsQueue(client, {
    claimIdleMs: 500,
    blockMs: 100,
    fetchErrorDelayMs: 50,
    commandTimeoutMs: 500,
  });
  const errors: unknown[] = [];
  queue.events.on('error', (e) => errors.push(e.error));
  const { topic, group } = names('restart');
  const got: string[] = [];
  const sub = await queue.consumer.consume(
    topic,
    async (b) => void got.push(...b.map((m) => m.text())),
    {
      group,
    },
  );
  await queue.producer.send(topic, [{ value: 'before' }]);
  await eventually(() => expect(got).toEqual(['before']));

  await server.restart();
  // Sends fail while the client reconnects; the caller retries (at least once).
  await eventually(() => queue.producer.send(topic, [{ value: 'after' }]), 15_000);
  await eventually(() => expect(got).toContain('after'), 15_000);
  await sub.stop();
  await queue.close();
  expect(got.filter((v) => v === 'after').length).toBeGreaterThanOrEqual(1);
});
