// Property: for random tables and random injected differences, the validator reports
// exactly the injected set (no false positives, nothing missed), whatever the chunk size.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validator } from '../../src/migrator/index.js';
import {
  type Backend,
  createItems,
  type Db,
  type DbPair,
  ITEM_COLUMNS,
  pgliteBackend,
} from './validator-db.js';

let backend: Backend;
beforeAll(async () => {
  backend = await pgliteBackend();
});
afterAll(async () => {
  await backend?.close();
});

interface Item {
  id: number;
  name: string | null;
  qty: number | null;
  price: string | null;
  at: Date | null;
  flag: boolean | null;
  doc: unknown;
}

// PostgreSQL text cannot hold U+0000.
const text = fc.string({ maxLength: 6 }).map((s) => s.replaceAll('\u0000', ''));
const json = fc.oneof(
  fc.constant(null),
  fc.dictionary(
    fc.string({ maxLength: 3 }).map((s) => s.replaceAll('\u0000', '')),
    fc.integer(),
  ),
);
const itemFor = (id: number) =>
  fc.record({
    id: fc.constant(id),
    name: fc.option(text),
    qty: fc.option(fc.integer({ min: -1000, max: 1000 })),
    price: fc.option(fc.integer({ min: 0, max: 99_999 }).map((c) => (c / 100).toFixed(2))),
    at: fc.option(fc.integer({ min: 0, max: 2e12 }).map((ms) => new Date(ms - (ms % 1000)))),
    flag: fc.option(fc.boolean()),
    doc: json,
  });

type Column = Exclude<keyof Item, 'id'>;
const COLUMNS: Column[] = ['name', 'qty', 'price', 'at', 'flag', 'doc'];

/** A different value for `column` (NULL <-> '' and NULL <-> 0 included). */
function changed(item: Item, column: Column): Item {
  const v = item[column];
  const next = (): unknown => {
    switch (column) {
      case 'name':
        return v === null ? '' : v === '' ? null : `${v}x`;
      case 'qty':
        return v === null ? 0 : (v as number) + 1;
      case 'price':
        return v === null ? '0.00' : (Number(v) + 0.01).toFixed(2);
      case 'at':
        return v === null ? new Date(0) : new Date((v as Date).getTime() + 1000);
      case 'flag':
        return v === null ? false : !v;
      case 'doc':
        return v === null ? {} : { wrapped: v };
    }
  };
  return { ...item, [column]: next() };
}

type Mutation = { kind: 'missing'; id: number } | { kind: 'changed'; id: number; column: Column };

const scenario = fc
  .uniqueArray(fc.integer({ min: 1, max: 300 }), { maxLength: 60 })
  .chain((ids) =>
    fc.record({
      rows: ids.length === 0 ? fc.constant([]) : fc.tuple(...ids.map(itemFor)),
      extraIds: fc.uniqueArray(fc.integer({ min: 1, max: 320 }), { maxLength: 5 }),
      touched: fc.shuffledSubarray(ids, { maxLength: Math.min(12, ids.length) }),
      kinds: fc.array(fc.constantFrom<'missing' | 'changed'>('missing', 'changed'), {
        minLength: 12,
        maxLength: 12,
      }),
      columns: fc.array(fc.constantFrom(...COLUMNS), { minLength: 12, maxLength: 12 }),
      chunkSize: fc.integer({ min: 1, max: 25 }),
    }),
  )
  .chain((s) => {
    const present = new Set((s.rows as Item[]).map((r) => r.id));
    const extraIds = s.extraIds.filter((id) => !present.has(id));
    return fc.record({
      rows: fc.constant(s.rows as Item[]),
      extras: extraIds.length === 0 ? fc.constant([]) : fc.tuple(...extraIds.map(itemFor)),
      mutations: fc.constant(
        s.touched.map(
          (id, i): Mutation =>
            s.kinds[i] === 'missing'
              ? { kind: 'missing', id }
              : { kind: 'changed', id, column: s.columns[i]! },
        ),
      ),
      chunkSize: fc.constant(s.chunkSize),
    });
  });

const toRow = (item: Item) => ({
  ...item,
  doc: item.doc === null ? null : JSON.stringify(item.doc),
  updated_at: 0,
});

async function insert(db: Db, table: string, items: readonly Item[]) {
  if (items.length > 0) await db.insertInto(table).values(items.map(toRow)).execute();
}

describe('validator property', () => {
  it('reports exactly the injected differences on random tables', async () => {
    const pair: DbPair = await backend.pair();
    await createItems(pair.source, pair.sourceTable);
    await createItems(pair.target, pair.targetTable);
    await fc.assert(
      fc.asyncProperty(scenario, async ({ rows, extras, mutations, chunkSize }) => {
        await sql`truncate ${sql.table(pair.sourceTable)}`.execute(pair.source);
        await sql`truncate ${sql.table(pair.targetTable)}`.execute(pair.target);
        const byId = new Map(rows.map((r) => [r.id, r]));
        const expected: string[] = [];
        for (const m of mutations) {
          if (m.kind === 'missing') byId.delete(m.id);
          if (m.kind === 'changed') byId.set(m.id, changed(byId.get(m.id)!, m.column));
          expected.push(`${m.kind}:${m.id}`);
        }
        for (const item of extras) {
          byId.set(item.id, item);
          expected.push(`extra:${item.id}`);
        }
        await insert(pair.source, pair.sourceTable, rows);
        await insert(pair.target, pair.targetTable, [...byId.values()]);
        const result = await validator({
          source: pair.source,
          target: pair.target,
          table: pair.sourceTable,
          targetTable: pair.targetTable,
          key: 'id',
          columns: ITEM_COLUMNS,
          chunkSize,
          estimate: 'none',
        }).start().result;
        const reported = result.diffs.map((d) => `${d.kind}:${d.key.id}`);
        expect(reported.sort()).toEqual(expected.sort());
        expect(result.rowsChecked).toBe(rows.length);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it('reports exactly the injected differences with a composite key', async () => {
    const pair: DbPair = await backend.pair();
    for (const [db, table] of [
      [pair.source, pair.sourceTable],
      [pair.target, pair.targetTable],
    ] as const) {
      await sql`create table ${sql.table(table)} (a text, b int, v text, primary key (a, b))`.execute(
        db,
      );
    }
    const key = fc.tuple(fc.constantFrom('', 'a', 'ab', 'b'), fc.integer({ min: 0, max: 9 }));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(key, fc.option(text)), {
          selector: ([k]) => k.join('|'),
          maxLength: 30,
        }),
        fc.uniqueArray(key, { selector: (k) => k.join('|'), maxLength: 6 }),
        fc.integer({ min: 1, max: 8 }),
        async (rows, touched, chunkSize) => {
          await sql`truncate ${sql.table(pair.sourceTable)}`.execute(pair.source);
          await sql`truncate ${sql.table(pair.targetTable)}`.execute(pair.target);
          const source = new Map(rows.map(([k, v]) => [k.join('|'), { a: k[0], b: k[1], v }]));
          const target = new Map(source);
          const expected: string[] = [];
          touched.forEach(([a, b], i) => {
            const id = `${a}|${b}`;
            const row = source.get(id);
            if (row === undefined) {
              target.set(id, { a, b, v: 'extra' });
              expected.push(`extra:${id}`);
            } else if (i % 2 === 0) {
              target.delete(id);
              expected.push(`missing:${id}`);
            } else {
              target.set(id, { ...row, v: row.v === null ? '' : null });
              expected.push(`changed:${id}`);
            }
          });
          if (source.size > 0) {
            await pair.source
              .insertInto(pair.sourceTable)
              .values([...source.values()])
              .execute();
          }
          if (target.size > 0) {
            await pair.target
              .insertInto(pair.targetTable)
              .values([...target.values()])
              .execute();
          }
          const result = await validator({
            source: pair.source,
            target: pair.target,
            table: pair.sourceTable,
            targetTable: pair.targetTable,
            key: ['a', 'b'],
            columns: ['v'],
            chunkSize,
            estimate: 'none',
          }).start().result;
          const reported = result.diffs.map((d) => `${d.kind}:${d.key.a}|${d.key.b}`);
          expect(reported.sort()).toEqual(expected.sort());
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
