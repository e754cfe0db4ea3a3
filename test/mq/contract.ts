// The queue contract: one table of specs every backend (memory, Redis Streams, Kafka)
// must pass. Each backend opens an environment able to build fresh queues; every spec
// uses its own topic and group names, so specs never see each other's messages.
import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { constant } from '../../src/core/index.js';
import {
  DEAD_LETTER_HEADERS,
  type Queue,
  type ReceivedMessage,
  type Subscription,
} from '../../src/mq/index.js';
import { type ContractBackend, describeBackends } from '../harness/store-contract.js';

/** What a backend offers the contract suite. */
export interface QueueEnv {
  /** A fresh queue; `claimIdleMs` must be honoured (redelivery specs use it). */
  makeQueue(opts: { claimIdleMs: number }): Queue | Promise<Queue>;
}

/** A backend of the queue contract. */
export interface QueueBackend extends ContractBackend<QueueEnv> {
  /**
   * Whether the backend keeps a pending list (delivered, unacknowledged) and hands what a
   * stopped member left there to another member after `claimIdleMs` (memory, Redis).
   * Kafka re-reads from the committed offset after a rebalance instead and reports
   * unacknowledged messages as lag, so the claim specs are not registered for it.
   */
  readonly claims: boolean;
}

/** Unique topic/group names for one spec. */
export function names(spec: string) {
  const id = randomBytes(4).toString('hex');
  return { topic: `${spec}.${id}`, group: `g-${id}`, dlq: `${spec}.${id}.dlq` };
}

/** Poll `check` until it passes (no timing assertion: it fails only if it never passes). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > end) throw error;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A promise with its resolver, for holding handlers. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

const CLAIM_IDLE_MS = 400;

/** Run the contract against `backends`. */
export function describeQueueContract(backends: readonly QueueBackend[]): void {
  describeBackends(backends, (backend, env) => {
    const claims = backends.find((b) => b.name === backend)?.claims ?? false;
    const open: Queue[] = [];
    const queue = async (claimIdleMs = CLAIM_IDLE_MS) => {
      const q = await env().makeQueue({ claimIdleMs });
      open.push(q);
      return q;
    };
    const closeAll = async () => {
      await Promise.all(open.splice(0).map((q) => q.close()));
    };

    it('delivers what was sent: key, value, headers, topic, attempt 1', async () => {
      const q = await queue();
      const { topic, group } = names('deliver');
      await q.producer.send(topic, [
        { key: 'k1', value: 'hello', headers: { trace: 'abc' } },
        { value: new Uint8Array([0xe2, 0x82, 0xac]) },
      ]);
      const got: ReceivedMessage[] = [];
      const sub = await q.consumer.consume(topic, async (b) => void got.push(...b), { group });
      await eventually(() => expect(got).toHaveLength(2));
      await sub.stop();
      expect(got[0]).toMatchObject({ topic, key: 'k1', headers: { trace: 'abc' }, attempt: 1 });
      expect(got[0]!.text()).toBe('hello');
      expect(got[1]!.key).toBeUndefined();
      expect(got[1]!.text()).toBe('€');
      expect(new Set(got.map((m) => m.id)).size).toBe(2);
      await closeAll();
    });

    it('keeps per-key order under concurrency: one key never runs concurrently or out of order', async () => {
      const q = await queue();
      const { topic, group } = names('order');
      const keys = ['a', 'b', 'c', 'd', 'e'];
      const perKey = 30;
      const messages = [];
      for (let i = 0; i < perKey; i++) {
        for (const key of keys) messages.push({ key, value: String(i) });
      }
      await q.producer.send(topic, messages);
      const seen = new Map<string, number[]>(keys.map((k) => [k, []]));
      const active = new Set<string>();
      let overlaps = 0;
      let total = 0;
      const sub = await q.consumer.consume(
        topic,
        async (batch) => {
          const batchKeys = new Set(batch.map((m) => m.key!));
          for (const k of batchKeys) if (active.has(k)) overlaps++;
          for (const k of batchKeys) active.add(k);
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          for (const m of batch) seen.get(m.key!)!.push(Number(m.text()));
          for (const k of batchKeys) active.delete(k);
          total += batch.length;
        },
        { group, concurrency: 4, batch: { size: 3, waitMs: 5 } },
      );
      await eventually(() => expect(total).toBe(keys.length * perKey));
      await sub.stop();
      expect(overlaps).toBe(0);
      const inOrder = Array.from({ length: perKey }, (_, i) => i);
      for (const k of keys) expect(seen.get(k)).toEqual(inOrder);
      await closeAll();
    });

    it('hands batches of at most batch.size, filled when messages are waiting', async () => {
      const q = await queue();
      const { topic, group } = names('batch');
      await q.producer.send(
        topic,
        Array.from({ length: 25 }, (_, i) => ({ value: String(i) })),
      );
      const sizes: number[] = [];
      const values: number[] = [];
      const sub = await q.consumer.consume(
        topic,
        async (batch) => {
          sizes.push(batch.length);
          for (const m of batch) values.push(Number(m.text()));
        },
        { group, batch: { size: 10, waitMs: 50 } },
      );
      await eventually(() => expect(values).toHaveLength(25));
      await sub.stop();
      expect(Math.max(...sizes)).toBe(10);
      expect(values).toEqual(Array.from({ length: 25 }, (_, i) => i));
      await closeAll();
    });

    it('a lone message waits at most waitMs, then runs as a batch of one', async () => {
      const q = await queue();
      const { topic, group } = names('lone');
      const sizes: number[] = [];
      const sub = await q.consumer.consume(topic, async (b) => void sizes.push(b.length), {
        group,
        batch: { size: 100, waitMs: 30 },
      });
      await q.producer.send(topic, [{ value: 'x' }]);
      await eventually(() => expect(sizes).toEqual([1]));
      await sub.stop();
      await closeAll();
    });

    it('acknowledges only after the handler succeeds; a failure is retried with attempt + 1', async () => {
      const q = await queue();
      const { topic, group } = names('ack');
      await q.producer.send(topic, [{ value: 'once' }]);
      const hold = gate();
      const attempts: number[] = [];
      const sub = await q.consumer.consume(
        topic,
        async (batch) => {
          attempts.push(batch[0]!.attempt);
          if (batch[0]!.attempt === 1) throw new Error('first try fails');
          await hold.opened;
        },
        { group, retry: { maxAttempts: 3, backoff: constant({ delayMs: 10 }) } },
      );
      await eventually(() => expect(attempts).toEqual([1, 2]));
      // Handled twice, still running: not acknowledged yet (Kafka counts it as lag).
      const during = await q.lag(topic, group);
      expect(during.pending + during.lag).toBe(1);
      if (claims) expect(during.pending).toBe(1);
      hold.open();
      await sub.stop();
      expect(await q.lag(topic, group)).toMatchObject({ pending: 0, lag: 0 });
      await closeAll();
    });

    it('after maxAttempts the batch goes to the dead-letter topic with the error in its headers', async () => {
      const q = await queue();
      const { topic, group, dlq } = names('dlq');
      const events = { retried: 0, failed: 0, deadLettered: 0 };
      q.events.on('retried', () => events.retried++);
      q.events.on('failed', () => events.failed++);
      q.events.on('deadLettered', (e) => {
        expect(e).toMatchObject({ topic, group, count: 1, deadLetter: dlq });
        events.deadLettered++;
      });
      await q.producer.send(topic, [
        { key: 'order-1', value: 'poison', headers: { tenant: 't1' } },
      ]);
      const sub = await q.consumer.consume(
        topic,
        async () => {
          throw new TypeError('cannot parse');
        },
        { group, retry: { maxAttempts: 3, backoff: constant({ delayMs: 5 }) }, deadLetter: dlq },
      );
      const dead: ReceivedMessage[] = [];
      const dlqSub = await q.consumer.consume(dlq, async (b) => void dead.push(...b), {
        group: `${group}-ops`,
      });
      await eventually(() => expect(dead).toHaveLength(1));
      await Promise.all([sub.stop(), dlqSub.stop()]);
      const m = dead[0]!;
      expect(m.text()).toBe('poison');
      expect(m.key).toBe('order-1');
      expect(m.headers).toMatchObject({
        tenant: 't1',
        [DEAD_LETTER_HEADERS.error]: 'cannot parse',
        [DEAD_LETTER_HEADERS.errorName]: 'TypeError',
        [DEAD_LETTER_HEADERS.attempts]: '3',
        [DEAD_LETTER_HEADERS.originalTopic]: topic,
        [DEAD_LETTER_HEADERS.group]: group,
      });
      expect(events).toEqual({ retried: 2, failed: 3, deadLettered: 1 });
      expect(await q.lag(topic, group)).toMatchObject({ pending: 0, lag: 0 });
      await closeAll();
    });

    it('stop() is graceful: no new fetches, in-flight work finishes and is acknowledged', async () => {
      const q = await queue();
      const { topic, group } = names('stop');
      await q.producer.send(topic, [{ value: '1' }]);
      const hold = gate();
      const started = gate();
      const handled: string[] = [];
      const sub = await q.consumer.consume(
        topic,
        async (batch) => {
          started.open();
          await hold.opened;
          handled.push(...batch.map((m) => m.text()));
        },
        { group },
      );
      await started.opened;
      let stopped = false;
      const stopping = sub.stop().then(() => {
        stopped = true;
      });
      await q.producer.send(topic, [{ value: 'after stop' }]);
      await new Promise((r) => setTimeout(r, 50));
      expect(stopped).toBe(false);
      hold.open();
      await stopping;
      expect(handled).toEqual(['1']);
      expect(await q.lag(topic, group)).toMatchObject({ pending: 0, lag: 1 });
      await closeAll();
    });

    // Kafka re-reads from the committed offset after a rebalance instead of claiming.
    if (claims) {
      it('stop() aborts a hanging handler after drainTimeoutMs; its message is redelivered', async () => {
        const q = await queue();
        const { topic, group } = names('drain');
        await q.producer.send(topic, [{ value: 'slow' }]);
        const started = gate();
        let aborted = false;
        const sub = await q.consumer.consume(
          topic,
          async (_batch, signal) => {
            started.open();
            signal.addEventListener('abort', () => {
              aborted = true;
            });
            await new Promise(() => {}); // ignores its signal
          },
          { group, drainTimeoutMs: 20 },
        );
        await started.opened;
        await sub.stop();
        expect(aborted).toBe(true);
        expect(await q.lag(topic, group)).toMatchObject({ pending: 1 });
        const again: ReceivedMessage[] = [];
        const next = await q.consumer.consume(topic, async (b) => void again.push(...b), { group });
        await eventually(() => expect(again).toHaveLength(1));
        await next.stop();
        expect(again[0]!.text()).toBe('slow');
        expect(again[0]!.attempt).toBe(2);
        expect(await q.lag(topic, group)).toMatchObject({ pending: 0, lag: 0 });
        await closeAll();
      });
    }

    it('lag counts undelivered messages, pending counts unacknowledged ones', async () => {
      const q = await queue();
      const { topic, group } = names('lag');
      await q.producer.send(
        topic,
        Array.from({ length: 5 }, (_, i) => ({ value: String(i) })),
      );
      expect(await q.lag(topic, group)).toMatchObject({ topic, group, pending: 0, lag: 5 });
      const hold = gate();
      let calls = 0;
      const sub = await q.consumer.consume(
        topic,
        async () => {
          calls++;
          await hold.opened;
        },
        { group, batch: { size: 2, waitMs: 0 } },
      );
      await eventually(async () => {
        expect(calls).toBe(1);
        const l = await q.lag(topic, group);
        expect(l.pending + l.lag).toBe(5);
        if (claims) expect(l.pending).toBeGreaterThanOrEqual(2);
      });
      hold.open();
      await eventually(async () =>
        expect(await q.lag(topic, group)).toMatchObject({ pending: 0, lag: 0 }),
      );
      await sub.stop();
      await closeAll();
    });

    it('the signal option stops the subscription', async () => {
      const q = await queue();
      const { topic, group } = names('signal');
      const controller = new AbortController();
      const got: string[] = [];
      await q.consumer.consume(topic, async (b) => void got.push(...b.map((m) => m.text())), {
        group,
        signal: controller.signal,
      });
      await q.producer.send(topic, [{ value: 'a' }]);
      await eventually(() => expect(got).toEqual(['a']));
      controller.abort();
      // Stopped: messages sent from now on stay unread (lag grows). A read already at the
      // server when the signal fired may still bring one `b`, which the drain handles
      // (fetched messages are the subscription's to finish); nothing after it.
      await eventually(async () => {
        await q.producer.send(topic, [{ value: 'b' }]);
        expect((await q.lag(topic, group)).lag).toBeGreaterThan(0);
      });
      expect(got.slice(0, 1)).toEqual(['a']);
      expect(got.slice(1).every((v) => v === 'b')).toBe(true);
      expect(got.length).toBeLessThanOrEqual(2);
      await closeAll();
    });

    it('rejects bad input with typed errors, and refuses once closed', async () => {
      const q = await queue();
      const { topic, group } = names('input');
      const noop = async () => {};
      await expect(q.producer.send('', [{ value: 'x' }])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(q.producer.send(topic, 'x' as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(q.producer.send(topic, [{ value: 42 } as never])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(
        q.consumer.consume(topic, noop, { group, concurency: 2 } as never),
      ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      await expect(
        q.consumer.consume(topic, noop, { group, batch: { size: 0 } }),
      ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      await expect(q.consumer.consume(topic, 'nope' as never, { group })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(
        q.consumer.consume(topic, noop, { group, deadLetter: topic }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(
        q.consumer.consume(topic, noop, { group, signal: AbortSignal.abort() }),
      ).rejects.toMatchObject({ code: 'ABORTED' });
      await expect(q.lag(topic, '')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await q.close();
      await expect(q.producer.send(topic, [{ value: 'x' }])).rejects.toMatchObject({
        code: 'QUEUE_CLOSED',
      });
      await expect(q.consumer.consume(topic, noop, { group })).rejects.toMatchObject({
        code: 'QUEUE_CLOSED',
      });
      await closeAll();
    });

    it('close() stops every subscription gracefully', async () => {
      const q = await queue();
      const { topic, group } = names('close');
      const handled: string[] = [];
      const subs: Subscription[] = [];
      for (let i = 0; i < 2; i++) {
        subs.push(
          await q.consumer.consume(
            topic,
            async (b) => void handled.push(...b.map((m) => m.text())),
            {
              group,
            },
          ),
        );
      }
      await q.producer.send(topic, [{ value: 'a' }, { value: 'b' }]);
      await eventually(() => expect(handled.sort()).toEqual(['a', 'b']));
      await q.close();
      await Promise.all(subs.map((s) => s.stop())); // already stopped: resolves
      await closeAll();
    });
  });
}
