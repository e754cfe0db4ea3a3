// The Redis text of an L2 entry: the value is stored as the serializer wrote it (not
// escaped inside JSON), so an L2 hit parses it once; entries of the earlier format stay
// readable.
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeStored, encodeStored } from '../../src/cache/entry.js';
import { cache, redisCacheStore } from '../../src/cache/index.js';
import type { StoredEntry } from '../../src/cache/types.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';

const entryArb: fc.Arbitrary<StoredEntry> = fc.record(
  {
    value: fc.option(fc.string(), { nil: undefined }),
    freshUntil: fc.integer({ min: 0, max: 2 ** 45 }),
    staleUntil: fc.integer({ min: 0, max: 2 ** 45 }),
    tags: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 3 }),
    tagVersions: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
  },
  { requiredKeys: ['value', 'freshUntil', 'staleUntil'] },
);

describe('L2 entry text', () => {
  it('round-trips any entry, values with newlines included', () => {
    fc.assert(
      fc.property(entryArb, (entry) => {
        expect(decodeStored(encodeStored(entry))).toEqual(entry);
      }),
    );
    const multiline = { value: 'a\nb\n', freshUntil: 1, staleUntil: 2 };
    expect(decodeStored(encodeStored(multiline))).toEqual(multiline);
  });

  it('keeps the serialized value verbatim after the header', () => {
    const text = encodeStored({ value: '{"id":1}', freshUntil: 5, staleUntil: 9, tags: ['t'] });
    expect(text).toBe('[5,9,["t"],null]\n{"id":1}');
    expect(encodeStored({ value: undefined, freshUntil: 5, staleUntil: 9 })).toBe(
      '[5,9,null,null]',
    );
  });

  it('still reads entries of the earlier one-array format', () => {
    expect(decodeStored('[5,9,"{\\"id\\":1}",["t"],[2]]')).toEqual({
      value: '{"id":1}',
      freshUntil: 5,
      staleUntil: 9,
      tags: ['t'],
      tagVersions: [2],
    });
    expect(decodeStored('[5,9,null,null,null]')).toEqual({
      value: undefined,
      freshUntil: 5,
      staleUntil: 9,
    });
  });

  it.each([['not json'], ['[1,2,3]'], ['["a",2,null,null]'], ['[1,2,null,null,null]\nx'], [42]])(
    'reads %j as absent',
    (text) => {
      expect(decodeStored(text)).toBeUndefined();
    },
  );
});

describe('L2 hit on Redis', () => {
  const redis = new Redis(sharedRedisUrl());
  afterAll(() => redis.quit());

  it('stores the value unescaped and deserializes it once per hit', async () => {
    const prefix = uniquePrefix('cache-entry').slice(0, -1);
    let parses = 0;
    const serializer = {
      serialize: (v: { id: number }) => JSON.stringify(v),
      deserialize: (text: string) => {
        parses++;
        return JSON.parse(text) as { id: number };
      },
    };
    const writer = cache({ l1: false, l2: redisCacheStore(redis, { prefix }), serializer });
    const reader = cache({ l1: false, l2: redisCacheStore(redis, { prefix }), serializer });
    await writer.set('p:1', { id: 1 });
    const keys = await redis.keys(`{${prefix}:*`);
    expect(keys).toHaveLength(1);
    expect(await redis.get(keys[0] as string)).toMatch(/\n\{"id":1\}$/);
    expect(await reader.get('p:1')).toEqual({ id: 1 });
    expect(parses).toBe(1);
    await writer.close();
    await reader.close();
  });
});
