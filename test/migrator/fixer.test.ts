import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRepairLogTable,
  dualWrite,
  fixer,
  type Inconsistency,
  memoryPhaseStore,
} from '../../src/migrator/index.js';
import { allRows, createOrders, type DbPair, pglitePair, postgresPair, stopServer } from './db.js';

const backends: [string, () => Promise<DbPair>][] = [
  ['PGlite', pglitePair],
  ['PostgreSQL', postgresPair],
];

describe.each(backends)('fixer on %s', (_label, open) => {
  let dbs: DbPair;
  let n = 0;
  let table = '';
  beforeAll(async () => {
    dbs = await open();
    await createRepairLogTable(dbs.source);
  }, 120_000);
  afterAll(async () => {
    await dbs.close();
    await stopServer();
  });
  const fresh = async () => {
    table = `fix_${++n}`;
    await createOrders(dbs.source, table);
    await createOrders(dbs.target, table);
  };
  const put = (db: 'source' | 'target', id: number, status: string, version: number) =>
    dbs[db].insertInto(table).values({ id, status, total: 1, version }).execute();
  const diff = (id: number, kind: Inconsistency['kind'] = 'changed'): Inconsistency => ({
    table,
    key: { id },
    kind,
  });
  const make = (primary: 'source' | 'target' = 'source') =>
    fixer({
      source: dbs.source,
      target: dbs.target,
      table,
      key: 'id',
      version: 'version',
      primary,
    });

  it('copies missing and changed rows, deletes extra ones, skips absent', async () => {
    await fresh();
    await put('source', 1, 'missing-on-target', 1);
    await put('source', 2, 'new', 3);
    await put('target', 2, 'old', 2);
    await put('target', 3, 'extra', 1);
    const f = make();
    const fixed: string[] = [];
    f.events.on('fixed', (e) => fixed.push(`${e.action}:${e.key}`));
    expect(await f.fix(diff(1, 'missing'))).toEqual({ key: 1, action: 'copied', to: 'target' });
    expect(await f.fix(diff(2))).toMatchObject({ action: 'copied' });
    expect(await f.fix(diff(3, 'extra'))).toMatchObject({ action: 'deleted' });
    expect(await f.fix(diff(4))).toMatchObject({ action: 'skipped', reason: 'absent' });
    expect(fixed).toEqual(['copied:1', 'copied:2', 'deleted:3']);
    expect(await allRows(dbs.target, table)).toEqual(await allRows(dbs.source, table));
  });

  it('never replaces a newer row on the other side', async () => {
    await fresh();
    await put('source', 1, 'stale-read', 4);
    await put('target', 1, 'newer', 5);
    const outcome = await make().fix(diff(1));
    expect(outcome).toMatchObject({ action: 'skipped', reason: 'newer' });
    expect(await allRows(dbs.target, table)).toMatchObject([{ status: 'newer', version: 5 }]);
  });

  it('fixes toward the source from the target once the target is in charge', async () => {
    await fresh();
    await put('target', 1, 'fresh', 2);
    await put('source', 1, 'old', 1);
    const store = memoryPhaseStore({ initial: 'target-first' });
    const f = fixer({
      source: dbs.source,
      target: dbs.target,
      table,
      key: 'id',
      version: 'version',
      primary: store,
    });
    expect(await f.fix(diff(1))).toMatchObject({ action: 'copied', to: 'source' });
    expect(await allRows(dbs.source, table)).toMatchObject([{ status: 'fresh', version: 2 }]);
  });

  it('drains the repair log left by failed secondary writes', async () => {
    await fresh();
    const phase = memoryPhaseStore({ initial: 'source-first' });
    const w = dualWrite({
      source: dbs.source,
      target: dbs.target,
      table,
      key: 'id',
      version: 'version',
      phase,
      repairLog: { db: dbs.source },
    });
    await w.write.insert({ id: 1, status: 'a', total: 1 });
    await dbs.target.schema.alterTable(table).renameTo(`${table}_off`).execute();
    await w.write.insert({ id: 2, status: 'b', total: 1 });
    await w.write.update(1, { status: 'a2' });
    await w.write.update(1, { status: 'a3' });
    await w.write.delete(1);
    await w.write.run((db, s) => db.updateTable(s.table).set({ note: 'bulk' }).execute());
    await dbs.target.schema.alterTable(`${table}_off`).renameTo(table).execute();
    const f = fixer({
      source: dbs.source,
      target: dbs.target,
      table,
      key: 'id',
      version: 'version',
      primary: phase,
      repairLog: { db: dbs.source },
      batchSize: 2,
    });
    const summary = await f.drainRepairLog();
    // Key 1 has entries in two batches of 2: deleted in the first, absent in the second.
    expect(summary).toEqual({ copied: 1, deleted: 1, skipped: 1, failed: 0, unkeyed: 1 });
    expect(await allRows(dbs.target, table)).toEqual(await allRows(dbs.source, table));
    expect(await f.drainRepairLog()).toEqual({
      copied: 0,
      deleted: 0,
      skipped: 0,
      failed: 0,
      unkeyed: 0,
    });
  });

  it('fixAll carries on past a failing key and counts it', async () => {
    await fresh();
    await put('source', 1, 'a', 1);
    await put('source', 2, 'b', 1);
    const f = make();
    const failed: unknown[] = [];
    f.events.on('failed', (e) => failed.push(e.key));
    // A key the database cannot compare with a bigint column.
    const summary = await f.fixAll([
      diff(1),
      { table, key: { id: 'not-a-number' }, kind: 'changed' },
      diff(2),
    ]);
    expect(summary).toMatchObject({ copied: 2, failed: 1 });
    expect(failed).toEqual(['not-a-number']);
  });

  it('refuses bad input with INVALID_ARGUMENT', async () => {
    await fresh();
    const f = make();
    await expect(f.fix({ table: 'other', key: { id: 1 }, kind: 'changed' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(f.fix({ table, key: { nope: 1 }, kind: 'changed' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(f.fixAll(5 as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(f.drainRepairLog()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(f.fix(diff(1), { signal: 'x' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const aborted = AbortSignal.abort();
    await expect(f.fix(diff(1), { signal: aborted })).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
