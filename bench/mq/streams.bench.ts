import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { type Queue, redisStreamsQueue, type Subscription } from 'girder/mq';
import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from '../../test/harness/redis.js';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * Redis Streams produce + consume: one op = one message published AND handled by a
 * consumer (the runner returns when the consumer has seen all of its messages). Same
 * ioredis client (`enableAutoPipelining`) for every producer; each consumer blocks on its
 * own duplicate connection. Subjects, in the same run:
 * - girder `redisStreamsQueue` (send script, consumer loop, XACK after the handler);
 * - the ceiling: bare XADD, an XREADGROUP BLOCK loop and XACK by hand;
 * - BullMQ 5 (Queue.add / addBulk, a Worker) moving the same messages.
 * Cases: sequential (one message per send, awaited; batch size 1, one in flight) and
 * batched (sends of BATCH messages; consumer batches of BATCH, 4 lanes; BullMQ worker
 * concurrency BATCH, as it has no batches).
 * Uses REDIS_URL when set, otherwise starts a throwaway redis-server.
 */
const BATCH = 50;
const PAYLOAD = JSON.stringify({ orderId: 'order-123456', amount: 4200, currency: 'CNY' });

/** Counts handled messages; `until(n)` resolves once `n` more were handled. */
class Tally {
  count = 0;
  #waiters: { at: number; resolve: () => void }[] = [];
  add(n: number): void {
    this.count += n;
    if (this.#waiters.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => {
      if (this.count < w.at) return true;
      w.resolve();
      return false;
    });
  }
  until(more: number): { wait: Promise<void> } {
    const at = this.count + more;
    return {
      wait:
        this.count >= at
          ? Promise.resolve()
          : new Promise<void>((resolve) => this.#waiters.push({ at, resolve })),
    };
  }
}

let server: RedisServer | undefined;
let client: Redis;
let url = '';

async function openClient() {
  url = process.env.REDIS_URL?.trim() ?? '';
  if (!url) {
    server = await startRedis();
    url = server.url;
  }
  client = new Redis(url, { enableAutoPipelining: true });
  await client.flushdb();
}

interface Mover {
  send(n: number, batched: boolean): Promise<void>;
  tally: Tally;
  close(): Promise<void>;
}

async function girderMover(topic: string, batched: boolean): Promise<Mover> {
  const queue: Queue = redisStreamsQueue(client, { prefix: 'bench:girder', maxLen: 100_000 });
  const tally = new Tally();
  const sub: Subscription = await queue.consumer.consume(
    topic,
    async (batch) => {
      tally.add(batch.length);
    },
    batched ? { group: 'g', batch: { size: BATCH, waitMs: 0 }, concurrency: 4 } : { group: 'g' },
  );
  return {
    tally,
    async send(n, batchedSend) {
      if (!batchedSend) {
        for (let i = 0; i < n; i++) await queue.producer.send(topic, [{ value: PAYLOAD }]);
        return;
      }
      for (let i = 0; i < n; i += BATCH) {
        const size = Math.min(BATCH, n - i);
        await queue.producer.send(
          topic,
          Array.from({ length: size }, () => ({ value: PAYLOAD })),
        );
      }
    },
    async close() {
      await sub.stop();
      await queue.close();
    },
  };
}

async function bareMover(topic: string, batched: boolean): Promise<Mover> {
  const stream = `{bench:bare:${topic}}`;
  await client.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM').catch(() => {});
  const reader = client.duplicate();
  const tally = new Tally();
  let running = true;
  const loop = (async () => {
    while (running) {
      const reply = (await reader
        .call(
          'XREADGROUP',
          'GROUP',
          'g',
          'c',
          'COUNT',
          batched ? BATCH : 1,
          'BLOCK',
          100,
          'STREAMS',
          stream,
          '>',
        )
        .catch(() => null)) as [string, [string, string[]][]][] | null;
      if (reply === null) continue;
      const ids = reply[0]![1].map((e) => e[0]);
      // The handler's work: none here, as in girder's (it counts).
      await client.xack(stream, 'g', ...ids);
      tally.add(ids.length);
    }
  })();
  return {
    tally,
    async send(n, batchedSend) {
      if (!batchedSend) {
        for (let i = 0; i < n; i++) {
          await client.xadd(stream, 'MAXLEN', '~', 100_000, '*', 'v', PAYLOAD);
        }
        return;
      }
      for (let i = 0; i < n; i += BATCH) {
        const size = Math.min(BATCH, n - i);
        // Auto-pipelined: one round trip for the batch, as girder's one script call.
        await Promise.all(
          Array.from({ length: size }, () =>
            client.xadd(stream, 'MAXLEN', '~', 100_000, '*', 'v', PAYLOAD),
          ),
        );
      }
    },
    async close() {
      running = false;
      await loop;
      reader.disconnect();
    },
  };
}

async function bullMover(topic: string, batched: boolean): Promise<Mover> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new BullQueue(topic, { connection, prefix: 'bench:bull' });
  const tally = new Tally();
  const worker = new BullWorker(
    topic,
    async () => {
      tally.add(1);
    },
    {
      connection: workerConnection,
      prefix: 'bench:bull',
      concurrency: batched ? BATCH : 1,
      removeOnComplete: { count: 0 },
    },
  );
  await worker.waitUntilReady();
  const opts = { removeOnComplete: true, removeOnFail: true };
  return {
    tally,
    async send(n, batchedSend) {
      if (!batchedSend) {
        for (let i = 0; i < n; i++) await queue.add('m', PAYLOAD, opts);
        return;
      }
      for (let i = 0; i < n; i += BATCH) {
        const size = Math.min(BATCH, n - i);
        await queue.addBulk(
          Array.from({ length: size }, () => ({ name: 'm', data: PAYLOAD, opts })),
        );
      }
    },
    async close() {
      await worker.close();
      await queue.close();
      connection.disconnect();
      workerConnection.disconnect();
    },
  };
}

const movers: Record<string, Mover> = {};

const move =
  (key: string, batched: boolean): Runner =>
  async (n) => {
    const mover = movers[key]!;
    const done = mover.tally.until(n);
    await mover.send(n, batched);
    await done.wait;
  };

function caseOf(batched: boolean) {
  const tag = batched ? 'batched' : 'seq';
  return {
    name: batched
      ? `produce + consume, sends of ${BATCH}, consumer batches of ${BATCH} x 4 lanes`
      : 'produce + consume, one message at a time',
    // One message at a time is bound by round-trip latency, the first thing a loaded
    // machine disturbs: more rounds for a steadier median.
    minRounds: batched ? 9 : 15,
    async setup() {
      await openClient();
      movers[`girder-${tag}`] = await girderMover(`g-${tag}`, batched);
      movers[`bare-${tag}`] = await bareMover(`b-${tag}`, batched);
      movers[`bull-${tag}`] = await bullMover(`q-${tag}`, batched);
      return async () => {
        for (const k of [`girder-${tag}`, `bare-${tag}`, `bull-${tag}`]) await movers[k]!.close();
        client.disconnect();
        await server?.stop();
        server = undefined;
      };
    },
    girder: move(`girder-${tag}`, batched),
    peers: [
      { name: 'bare XADD / XREADGROUP / XACK (ceiling)', run: move(`bare-${tag}`, batched) },
      { name: 'BullMQ 5 Queue + Worker', run: move(`bull-${tag}`, batched) },
    ],
  };
}

export const suite: BenchSuite = {
  name: 'mq (redis streams)',
  cases: [caseOf(false), caseOf(true)],
};
