// Property: whatever the batch size, concurrency and failure pattern, each key's messages
// are handled successfully exactly once each, in send order, and never two at once.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { constant } from '../../src/core/index.js';
import { memoryQueue } from '../../src/mq/index.js';
import { eventually } from './contract.js';

it('per-key order, exactly-once success and no overlap hold under random failures', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean()), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 4 }),
      async (plan, size, concurrency) => {
        const queue = memoryQueue({ blockMs: 20 });
        const messages = plan.map(([k], i) => ({ key: `k${k}`, value: String(i) }));
        const failFirst = new Set(plan.flatMap(([, f], i) => (f ? [String(i)] : [])));
        await queue.producer.send('t', messages);
        const order = new Map<string, number[]>();
        const active = new Set<string>();
        let overlap = false;
        let ok = 0;
        const sub = await queue.consumer.consume(
          't',
          async (batch) => {
            const keys = new Set(batch.map((m) => m.key!));
            for (const k of keys) if (active.has(k)) overlap = true;
            for (const k of keys) active.add(k);
            await Promise.resolve();
            for (const k of keys) active.delete(k);
            if (batch.some((m) => m.attempt === 1 && failFirst.has(m.text()))) throw new Error('x');
            for (const m of batch) {
              const list = order.get(m.key!) ?? [];
              list.push(Number(m.text()));
              order.set(m.key!, list);
            }
            ok += batch.length;
          },
          {
            group: 'g',
            batch: { size, waitMs: 0 },
            concurrency,
            retry: { maxAttempts: 3, backoff: constant({ delayMs: 0 }) },
          },
        );
        await eventually(() => expect(ok).toBe(messages.length), 5_000);
        await sub.stop();
        await queue.close();
        expect(overlap).toBe(false);
        for (const [key, list] of order) {
          const expected = messages.flatMap((m, i) => (m.key === key ? [i] : []));
          expect(list).toEqual(expected);
        }
      },
    ),
    { numRuns: 40 },
  );
});
