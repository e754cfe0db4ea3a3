// The fixer never goes backwards: writers (some of whose copies to the target are lost)
// run interleaved with fixes of random keys; the target's version of a row never
// decreases, and once the writers stop, one pass of the fixer makes the sides equal.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dualWrite, fixer, memoryPhaseStore } from '../../src/migrator/index.js';
import { allRows, createOrders, type DbPair, pgliteOne } from './db.js';

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

describe('fixer under concurrent writers (PGlite)', () => {
  let dbs: DbPair;
  beforeAll(async () => {
    // One PGlite holds both sides (table prop, then prop_t): half the start-up time.
    dbs = await pgliteOne();
    await createOrders(dbs.source, 'prop');
    await createOrders(dbs.target, 'prop_t');
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
            id,
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
            key: 'id',
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
          const highest = new Map<number, number>();
          let nextKey = 1_000;
          const keysEver = new Set<number>(seed.map((r) => r.id));

          const yieldTimes = async (n: number) => {
            for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
          };
          const checkMonotonic = async () => {
            for (const row of await allRows(dbs.target, 'prop_t')) {
              const id = Number(row.id);
              const version = Number(row.version);
              expect(version).toBeGreaterThanOrEqual(highest.get(id) ?? 0);
              highest.set(id, version);
            }
          };
          const runWriter = async (ops: WriterOp[], w: number) => {
            for (const op of ops) {
              await yieldTimes(op.yields);
              const through = op.lost ? lossy : dual;
              if (op.kind === 'update') await through.write.update(op.key, { status: `w${w}` });
              else if (op.kind === 'delete') await through.write.delete(op.key);
              else {
                const id = nextKey++;
                keysEver.add(id);
                await through.write.insert({ id, status: `w${w}`, total: 1 });
              }
              await checkMonotonic();
            }
          };
          const runFixer = async () => {
            for (const op of fixes) {
              await yieldTimes(op.yields);
              const key = op.key < KEYS ? op.key : nextKey - 1 - (op.key - KEYS);
              await fix.fix({ table: 'prop', key: { id: key }, kind: 'changed' });
              await checkMonotonic();
            }
          };
          await Promise.all([...writers.map(runWriter), runFixer()]);
          const keys = [...keysEver].map((id) => ({
            table: 'prop',
            key: { id },
            kind: 'changed' as const,
          }));
          const summary = await fix.fixAll(keys);
          expect(summary.failed).toBe(0);
          await checkMonotonic();
          expect(await allRows(dbs.target, 'prop_t')).toEqual(await allRows(dbs.source, 'prop'));
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
