// A consumer process SIGKILLed in the middle of a batch: what it had not acknowledged
// stays pending in Redis and another member takes it over (XAUTOCLAIM) after
// claimIdleMs. Every message is handled at least once; none is lost.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { redisStreamsQueue } from '../../src/mq/index.js';
import { bundledEntry } from '../harness/bundle.js';
import { sharedRedisUrl } from '../harness/shared.js';
import { uniquePrefix } from '../harness/unique-prefix.js';
import { eventually, names } from './contract.js';

const CONSUMER = fileURLToPath(new URL('./fixtures/stream-consumer.ts', import.meta.url));
const children: ChildProcess[] = [];
const clients: Redis[] = [];

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const c of clients) c.disconnect();
});

it('a consumer killed mid-batch: its messages are redelivered to another member, none lost', async () => {
  const client = new Redis(sharedRedisUrl(), { enableAutoPipelining: true });
  clients.push(client);
  const prefix = uniquePrefix('mq-chaos').replace(/:$/, '');
  const { topic, group } = names('chaos');
  const total = 100;
  const claimIdleMs = 500;
  const queue = redisStreamsQueue(client, {
    prefix,
    claimIdleMs,
    claimIntervalMs: 100,
    blockMs: 100,
  });
  await queue.producer.send(
    topic,
    Array.from({ length: total }, (_, i) => ({ key: `k${i % 7}`, value: String(i) })),
  );

  const child = spawn(
    process.execPath,
    [await bundledEntry(CONSUMER), sharedRedisUrl(), prefix, topic, group, '30'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const doneByChild = new Set<string>();
  let hung: string[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    const msg = JSON.parse(line) as { done?: string[]; hang?: string[] };
    for (const v of msg.done ?? []) doneByChild.add(v);
    if (msg.hang !== undefined) {
      hung = msg.hang;
      break;
    }
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  expect(hung.length).toBeGreaterThan(0);
  // The dead member's batch is still pending in Redis.
  expect((await queue.lag(topic, group)).pending).toBeGreaterThanOrEqual(hung.length);

  const handled = new Map<string, number>();
  const sub = await queue.consumer.consume(
    topic,
    async (batch) => {
      for (const m of batch) handled.set(m.text(), m.attempt);
    },
    { group, batch: { size: 10, waitMs: 10 } },
  );
  await eventually(async () => {
    expect(await queue.lag(topic, group)).toMatchObject({ pending: 0, lag: 0 });
    const seen = new Set([...doneByChild, ...handled.keys()]);
    expect(seen.size).toBe(total);
  }, 15_000);
  await sub.stop();
  await queue.close();
  for (const v of hung) {
    expect(handled.has(v)).toBe(true);
    expect(handled.get(v)).toBeGreaterThanOrEqual(2); // a redelivery, counted
  }
}, 90_000); // a child process starting on a busy CI machine
