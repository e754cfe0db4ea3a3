// Top-N over a data set too large to load at once: page through it with keyset
// pagination and keep the n best items seen so far in a size-n min-heap.
import { z } from 'zod';
import {
  checkSignal,
  functionSchema,
  InvalidArgumentError,
  parseOptions,
  throwIfAborted,
} from '../core/index.js';
import { MinHeap } from './heap.js';

/**
 * One page answered by a {@link TopNSource}.
 *
 * @example
 * ```ts
 * import type { TopNPage } from 'girder/cache';
 *
 * const page: TopNPage<{ id: number; sold: number }, number> = {
 *   items: [{ id: 41, sold: 3 }, { id: 42, sold: 9 }],
 *   next: 42, // the last id: the next page starts after it
 * };
 * ```
 */
export interface TopNPage<T, C> {
  /** The items of this page (at most `limit`, in the source's own stable order). */
  readonly items: readonly T[];
  /** The cursor of the next page; `undefined` (or an empty page) ends the scan. */
  readonly next?: C | undefined;
}

/**
 * Pages through a data set: called with `undefined` first, then with each page's
 * `next`. Use keyset pagination (`WHERE id > cursor ORDER BY id LIMIT limit`), not
 * OFFSET, so every page costs the same and rows are neither skipped nor repeated.
 *
 * @example
 * ```ts
 * import type { TopNSource } from 'girder/cache';
 *
 * const products: TopNSource<Product, number> = async (after, limit) => {
 *   const items = await db.selectFrom('products').selectAll()
 *     .where('id', '>', after ?? 0).orderBy('id').limit(limit).execute();
 *   return { items, next: items.at(-1)?.id };
 * };
 * ```
 */
export type TopNSource<T, C> = (
  cursor: C | undefined,
  limit: number,
  signal: AbortSignal | undefined,
) => TopNPage<T, C> | Promise<TopNPage<T, C>>;

/**
 * Options of {@link topN}.
 *
 * @example
 * ```ts
 * import type { TopNOptions } from 'girder/cache';
 *
 * const options: TopNOptions<Product> = {
 *   n: 10,
 *   score: (p) => p.sold,
 *   compare: (a, b) => a.id - b.id, // equal sales: lower id first
 *   batchSize: 500,
 * };
 * ```
 */
export interface TopNOptions<T> {
  /** How many items to keep (1 to 100 000). */
  n: number;
  /** The item's score, a finite number; higher ranks first. Called once per item. */
  score: (item: T) => number;
  /** Items asked per page (1 to 100 000). Default 1 000. */
  batchSize?: number;
  /**
   * Order of items with equal scores: negative when `a` ranks before `b`. Without it
   * (or when it answers 0), the item the source returned first ranks first, which is
   * deterministic for a keyset-paginated source.
   */
  compare?: (a: T, b: T) => number;
  /** Stops the scan between pages (rejects with `ABORTED`); also handed to the source. */
  signal?: AbortSignal;
}

/**
 * One ranked item of {@link topN}'s answer.
 *
 * @example
 * ```ts
 * const [first]: TopNEntry<Product>[] = await topN(products, { n: 10, score: (p) => p.sold });
 * console.log(first?.item.name, first?.score);
 * ```
 */
export interface TopNEntry<T> {
  /** The item as the source returned it. */
  readonly item: T;
  /** Its score. */
  readonly score: number;
}

const schema = z.strictObject({
  n: z.number().int().min(1).max(100_000),
  score: functionSchema<(item: unknown) => number>(),
  batchSize: z.number().int().min(1).max(100_000).default(1_000),
  compare: functionSchema<(a: unknown, b: unknown) => number>().optional(),
  signal: z.unknown().optional(),
});

interface Kept<T> {
  readonly item: T;
  readonly score: number;
  /** Position in the scan: the last tie-break. */
  readonly seq: number;
}

/**
 * The `n` highest-scoring items of a data set read page by page, best first. Memory
 * stays O(n + batchSize) whatever the data set's size M; time is O(M log n): each item
 * costs one score and one comparison with the worst item kept, plus a heap step when it
 * gets in. Ties are deterministic: equal scores are ordered by `compare`, then by
 * position in the scan. Fewer than `n` items in the data set: all of them, sorted.
 *
 * @throws InvalidOptionsError for unknown or out-of-range options (`n` must be at least 1).
 * @throws InvalidArgumentError when `score` returns a non-finite number, or the source
 *   returns a malformed page or the cursor it was given (a scan that would never end).
 * @throws AbortedError when `signal` aborts.
 *
 * @example
 * ```ts
 * import { topN } from 'girder/cache';
 *
 * const best = await topN(
 *   async (after: number | undefined, limit) => {
 *     const items = await db.selectFrom('products').select(['id', 'name', 'sold'])
 *       .where('id', '>', after ?? 0).orderBy('id').limit(limit).execute();
 *     return { items, next: items.at(-1)?.id };
 *   },
 *   { n: 10, score: (p) => p.sold, compare: (a, b) => a.id - b.id },
 * );
 * best.map(({ item, score }) => `${item.name}: ${score} sold`);
 * ```
 */
export async function topN<T, C>(
  source: TopNSource<T, C>,
  options: TopNOptions<T>,
): Promise<TopNEntry<T>[]> {
  if (typeof source !== 'function') {
    throw new InvalidArgumentError('source', 'must be a function (cursor, limit, signal) => page');
  }
  const parsed = parseOptions('topN', schema, options);
  const signal = checkSignal(parsed.signal, 'signal');
  const { n, batchSize } = parsed;
  const score = parsed.score as (item: T) => number;
  const compare = parsed.compare as ((a: T, b: T) => number) | undefined;
  // `worse(a, b)`: a ranks after b. The heap's root is the worst item kept.
  const worse = (a: Kept<T>, b: Kept<T>): boolean => {
    if (a.score !== b.score) return a.score < b.score;
    const order = compare === undefined ? 0 : compare(a.item, b.item);
    return order !== 0 ? order > 0 : a.seq > b.seq;
  };
  const heap = new MinHeap<Kept<T>>(worse);
  let seq = 0;
  let cursor: C | undefined;
  for (;;) {
    throwIfAborted(signal);
    const page = await source(cursor, batchSize, signal);
    if (page === null || typeof page !== 'object' || !Array.isArray(page.items)) {
      throw new InvalidArgumentError('source', 'must return { items: T[], next?: cursor }');
    }
    for (const item of page.items) {
      const s = score(item);
      if (typeof s !== 'number' || !Number.isFinite(s)) {
        throw new InvalidArgumentError('score', `must return a finite number, got ${String(s)}`);
      }
      const position = seq++;
      if (heap.size < n) {
        heap.push({ item, score: s, seq: position });
        continue;
      }
      const root = heap.peek() as Kept<T>;
      // The common case (not better than the worst kept) decides on the score alone.
      if (s < root.score) continue;
      const candidate = { item, score: s, seq: position };
      if (worse(root, candidate)) heap.replaceTop(candidate);
    }
    const next = page.next;
    if (next === undefined || page.items.length === 0) break;
    if (Object.is(next, cursor)) {
      throw new InvalidArgumentError(
        'source',
        'returned the cursor it was given: the scan would never end',
      );
    }
    cursor = next;
  }
  const result: TopNEntry<T>[] = new Array(heap.size);
  for (let i = heap.size - 1; i >= 0; i--) {
    const kept = heap.pop() as Kept<T>;
    result[i] = { item: kept.item, score: kept.score };
  }
  return result;
}
