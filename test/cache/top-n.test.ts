// topN against a full sort, on random data sets read through a keyset-paginated source.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type TopNSource, topN } from '../../src/cache/index.js';
import { AbortedError, InvalidOptionsError } from '../../src/core/index.js';

interface Row {
  id: number;
  sold: number;
}

/** A keyset-paginated source over `rows` (ordered by id), counting its pages. */
function pagedSource(rows: readonly Row[]) {
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  const calls: Array<{ after: number | undefined; limit: number }> = [];
  const source: TopNSource<Row, number> = async (after, limit) => {
    calls.push({ after, limit });
    const items = sorted.filter((r) => after === undefined || r.id > after).slice(0, limit);
    return { items, next: items.at(-1)?.id };
  };
  return { source, calls };
}

/** The reference: a full sort by score desc, then the tie-break. */
const fullSort = (rows: readonly Row[], n: number, byId: boolean) =>
  [...rows]
    .sort((a, b) => b.sold - a.sold || (byId ? b.id - a.id : a.id - b.id))
    .slice(0, n)
    .map((r) => ({ item: r, score: r.sold }));

const rowsArb = fc
  .uniqueArray(fc.integer({ min: 1, max: 10_000 }), { maxLength: 300 })
  .chain((ids) =>
    fc.tuple(
      fc.constant(ids),
      // A small score range forces many ties.
      fc.array(fc.integer({ min: -5, max: 20 }), { minLength: ids.length, maxLength: ids.length }),
    ),
  )
  .map(([ids, scores]) => ids.map((id, i) => ({ id, sold: scores[i] as number })));

describe('topN', () => {
  it('equals a full sort (ties: scan order), for any data, n and batch size', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArb,
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 50 }),
        async (rows, n, batchSize) => {
          const { source } = pagedSource(rows);
          const best = await topN(source, { n, batchSize, score: (r) => r.sold });
          // The source's scan order is ascending id, so among ties the lower id ranks first.
          expect(best).toEqual(fullSort(rows, n, false));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('equals a full sort with a compare tie-break (higher id first)', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.integer({ min: 1, max: 50 }), async (rows, n) => {
        const { source } = pagedSource(rows);
        const best = await topN(source, {
          n,
          batchSize: 7,
          score: (r) => r.sold,
          compare: (a, b) => b.id - a.id,
        });
        expect(best).toEqual(fullSort(rows, n, true));
      }),
      { numRuns: 200 },
    );
  });

  it('n larger than the data set: every item, sorted; empty data: []', async () => {
    const rows = [
      { id: 1, sold: 3 },
      { id: 2, sold: 9 },
    ];
    expect(await topN(pagedSource(rows).source, { n: 10, score: (r) => r.sold })).toEqual([
      { item: rows[1], score: 9 },
      { item: rows[0], score: 3 },
    ]);
    expect(await topN(pagedSource([]).source, { n: 10, score: (r) => r.sold })).toEqual([]);
  });

  it('reads page after page with the cursor and batch size it was given', async () => {
    const rows = Array.from({ length: 25 }, (_, i) => ({ id: i + 1, sold: i }));
    const { source, calls } = pagedSource(rows);
    await topN(source, { n: 3, batchSize: 10, score: (r) => r.sold });
    expect(calls).toEqual([
      { after: undefined, limit: 10 },
      { after: 10, limit: 10 },
      { after: 20, limit: 10 },
      { after: 25, limit: 10 },
    ]);
  });

  it('n = 0 and other bad options are refused with INVALID_OPTIONS', async () => {
    const { source } = pagedSource([]);
    const score = (r: Row) => r.sold;
    for (const bad of [{ n: 0 }, { n: 1.5 }, { n: 5, batchSize: 0 }, { n: 5, typo: 1 }]) {
      await expect(topN(source, { score, ...bad } as never)).rejects.toBeInstanceOf(
        InvalidOptionsError,
      );
    }
    await expect(topN(source, { n: 5 } as never)).rejects.toBeInstanceOf(InvalidOptionsError);
  });

  it('bad runtime input is INVALID_ARGUMENT: source, non-finite scores, a cursor that never moves', async () => {
    const rows = [{ id: 1, sold: 1 }];
    await expect(topN(42 as never, { n: 1, score: () => 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      topN(pagedSource(rows).source, { n: 1, score: () => Number.NaN }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'score' });
    // First call: cursor undefined -> 1, then 1 -> 1 again: refused instead of looping.
    await expect(
      topN(async () => ({ items: rows, next: 1 }), { n: 1, score: (r) => r.sold }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'source' });
    await expect(
      topN(async (c: number | undefined) => ({ items: rows, next: c ?? 0 }), {
        n: 1,
        score: (r) => r.sold,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'source' });
    await expect(
      topN(async () => ({ items: 'x' }) as never, { n: 1, score: () => 1 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'source' });
    await expect(
      topN(pagedSource(rows).source, { n: 1, score: () => 1, signal: 'no' as never }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('an aborted signal stops the scan between pages', async () => {
    const controller = new AbortController();
    let pages = 0;
    const source: TopNSource<Row, number> = async (after) => {
      pages++;
      if (pages === 2) controller.abort();
      const id = (after ?? 0) + 1;
      return { items: [{ id, sold: id }], next: id };
    };
    await expect(
      topN(source, { n: 1, score: (r) => r.sold, signal: controller.signal }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(pages).toBe(2);
  });
});
