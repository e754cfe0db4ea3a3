// Model-based property test: random sequences of set / delete / deleteByTag / clear /
// time steps on one or two instances, checked after each step against a plain model of
// what `get` must answer (fresh, not deleted, no tag invalidated since the write).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Cache,
  type CacheStore,
  cache,
  memoryBus,
  memoryCacheStore,
} from '../../src/cache/index.js';
import { manualClock } from '../../src/core/index.js';

const KEYS = ['a', 'b', 'c'];
const TAGS = ['x', 'y'];

type Step =
  | { op: 'set'; who: number; key: string; value: number; ttlMs: number; tags: string[] }
  | { op: 'delete'; who: number; key: string }
  | { op: 'tag'; who: number; tag: string }
  | { op: 'clear'; who: number }
  | { op: 'advance'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    who: fc.integer({ min: 0, max: 1 }),
    key: fc.constantFrom(...KEYS),
    value: fc.integer(),
    ttlMs: fc.integer({ min: 1, max: 300 }),
    tags: fc.subarray(TAGS),
  }),
  fc.record({
    op: fc.constant('delete' as const),
    who: fc.integer({ min: 0, max: 1 }),
    key: fc.constantFrom(...KEYS),
  }),
  fc.record({
    op: fc.constant('tag' as const),
    who: fc.integer({ min: 0, max: 1 }),
    tag: fc.constantFrom(...TAGS),
  }),
  fc.record({ op: fc.constant('clear' as const), who: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 200 }) }),
);

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe.each([
  ['two-level memory, two instances', true, 2],
  ['L2-only memory, two instances', false, 2],
  ['L1-only, one instance', undefined, 1],
] as const)('model: %s', (_name, withL1, instances) => {
  it('get answers what the model says', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const clock = manualClock(1_000_000);
        const l2: CacheStore | undefined =
          withL1 === undefined ? undefined : memoryCacheStore({ clock });
        const bus = memoryBus();
        const caches: Cache<number>[] = Array.from({ length: instances }, () =>
          cache<number>({
            l1: withL1 === false ? false : { maxEntries: 100 },
            ...(l2 === undefined ? {} : { l2 }),
            bus,
            clock,
            ttlMs: 100,
          }),
        );
        const model = new Map<string, { value: number; until: number; tags: string[] }>();
        for (const s of steps) {
          const c = caches[s.op === 'advance' ? 0 : s.who % instances] as Cache<number>;
          switch (s.op) {
            case 'set':
              await c.set(s.key, s.value, { ttlMs: s.ttlMs, tags: s.tags });
              model.set(s.key, { value: s.value, until: clock.now() + s.ttlMs, tags: s.tags });
              break;
            case 'delete':
              await c.delete(s.key);
              model.delete(s.key);
              break;
            case 'tag':
              await c.deleteByTag(s.tag);
              for (const [k, e] of model) if (e.tags.includes(s.tag)) model.delete(k);
              break;
            case 'clear':
              await c.clear();
              model.clear();
              break;
            case 'advance':
              clock.advance(s.ms);
              break;
          }
          await settle(); // bus delivery
          for (const reader of caches) {
            for (const key of KEYS) {
              const e = model.get(key);
              const expected = e !== undefined && clock.now() < e.until ? e.value : undefined;
              expect(await reader.get(key)).toBe(expected);
            }
          }
        }
        await Promise.all(caches.map((c) => c.close()));
      }),
      { numRuns: 60 },
    );
  });
});
