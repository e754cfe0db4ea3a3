// The fixer never goes backwards: writers (some of whose copies to the target are lost)
// run interleaved with fixes of random keys; the target's version of a row never
// decreases, and once the writers stop, one pass of the fixer makes the sides equal.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dualWrite, fixer, memoryPhaseStore } from '../../src/migrator/index.js';
import { allLines, allRows, createShaped, type DbPair, pgliteOne, type TableShape } from './db.js';

/** Each key shape: its key option, the key columns of row `id`, and its rows in key order. */
const SHAPES = {
  orders: { key: 'id' as string | string[], columns: (id: number) => ({ id }), all: allRows },
  // Two tenants share ids: only both columns together name a row.
  lines: {
    key: ['tenant_id', 'id'] as string | string[],
    columns: (id: number) => ({ tenant_id: id % 2, id: Math.floor(id / 2) }),
    all: allLines,
  },
};
const SHAPE_NAMES: TableShape[] = ['orders', 'lines'];

const KEYS = 6;

const writerOp = fc.record({
  kind: fc.constantFrom('update', 'update', 'update', 'delete', 'insert'),
  key: fc.integer({ min: 0, max: KEYS - 1 }),
  lost: fc.boolean(),
  yields: fc.integer({ min: 0, max: 3 }),
});
type WriterOp = { kind: string; key: number; lost: boolean; yields: number };
const fixOp = fc.record({
  key: fc.integer({ min: 0, max: KEYS + 3 }),
  yields: fc.integer({ min: 0, max: 3 }),
});

describe.each(SHAPE_NAMES)('fixer under concurrent writers (PGlite, %s key)', (shape) => {
  const { key, columns, all } = SHAPES[shape];
  const keyOf = (id: number) => (shape === 'orders' ? id : columns(id));
  const idOf = (row: Record<string, unknown>) =>
    JSON.stringify(key === 'id' ? row.id : [row.tenant_id, row.id]);
  let dbs: DbPair;
  beforeAll(async () => {
    // One PGlite holds both sides (table prop, then prop_t): half the start-up time.
    dbs = await pgliteOne();
    await createShaped(dbs.source, shape, 'prop');
    await createShaped(dbs.target, shape, 'prop_t');
  }, 120_000);
  afterAll(() => dbs.close());

  it('never replaces a newer row with an older one, and converges', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(writerOp, { maxLength: 12 }), { minLength: 3, maxLength: 3 }),
        fc.array(fixOp, { minLength: 1, maxLength: 15 }),
        async (writers, fixes) => {
          await sql`TRUNCATE prop`.execute(dbs.source);
          await sql`TRUNCATE prop_t`.execute(dbs.target);
          const seed = Array.from({ length: KEYS }, (_, id) => ({
            ...columns(id),
            status: 's',
            total: 0,
            version: 1,
          }));
          await dbs.source.insertInto('prop').values(seed).execute();
          await dbs.target.insertInto('prop_t').values(seed).execute();
          const options = {
            source: dbs.source,
            target: dbs.target,
            table: 'prop',
            targetTable: 'prop_t',
            key,
            version: 'version',
          };
          const dual = dualWrite({
            ...options,
            phase: memoryPhaseStore({ initial: 'source-first' }),
          });
          // A writer whose copy to the target is lost (crash between the two writes).
          const lossy = dualWrite({
            ...options,
            phase: memoryPhaseStore({ initial: 'source-only' }),
          });
          const fix = fixer({ ...options, primary: 'source' });
          const highest = new Map<string, number>();
          let nextKey = 1_000;
          const keysEver = new Set<number>(seed.map((_, id) => id));

          const yieldTimes = async (n: number) => {
            for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
          };
          const checkMonotonic = async () => {
            for (const row of await all(dbs.target, 'prop_t')) {
              const id = idOf(row);
              const version = Number(row.version);
              expect(version).toBeGreaterThanOrEqual(highest.get(id) ?? 0);
              highest.set(id, version);
            }
          };
          const runWriter = async (ops: WriterOp[], w: number) => {
            for (const op of ops) {
              await yieldTimes(op.yields);
              const through = op.lost ? lossy : dual;
              if (op.kind === 'update') {
                await through.write.update(keyOf(op.key), { status: `w${w}` });
              } else if (op.kind === 'delete') await through.write.delete(keyOf(op.key));
              else {
                const id = nextKey++;
                keysEver.add(id);
                await through.write.insert({ ...columns(id), status: `w${w}`, total: 1 });
              }
              await checkMonotonic();
            }
          };
          const runFixer = async () => {
            for (const op of fixes) {
              await yieldTimes(op.yields);
              const id = op.key < KEYS ? op.key : nextKey - 1 - (op.key - KEYS);
              await fix.fix({ table: 'prop', key: columns(id), kind: 'changed' });
              await checkMonotonic();
            }
          };
          await Promise.all([...writers.map(runWriter), runFixer()]);
          const keys = [...keysEver].map((id) => ({
            table: 'prop',
            key: columns(id),
            kind: 'changed' as const,
          }));
          const summary = await fix.fixAll(keys);
          expect(summary.failed).toBe(0);
          await checkMonotonic();
          expect(await all(dbs.target, 'prop_t')).toEqual(await all(dbs.source, 'prop'));
        },
      ),
      { numRuns: shape === 'orders' ? 40 : 25 },
    );
  }, 120_000);
});
