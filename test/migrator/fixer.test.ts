import { describe, expect, it } from 'vitest';
import {
  dualWrite,
  fixer,
  type Inconsistency,
  memoryPhaseStore,
} from '../../src/migrator/index.js';
import { allLines, allRows, BACKENDS, usePair } from './db.js';

describe.each(BACKENDS)('fixer on %s', (_label, open) => {
  const fx = usePair(open, 'fix');
  let table = '';
  const fresh = async () => {
    table = await fx.freshTable();
  };
  const put = (side: 'source' | 'target', id: number, status: string, version: number) =>
    fx.put(side, table, id, status, version);
  const diff = (id: number, kind: Inconsistency['kind'] = 'changed'): Inconsistency => ({
    table,
    key: { id },
    kind,
  });
  const make = (primary: 'source' | 'target' = 'source') =>
    fixer({
      source: fx.dbs.source,
      target: fx.dbs.target,
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
    expect(await allRows(fx.dbs.target, table)).toEqual(await allRows(fx.dbs.source, table));
  });

  it('never replaces a newer row on the other side', async () => {
    await fresh();
    await put('source', 1, 'stale-read', 4);
    await put('target', 1, 'newer', 5);
    const outcome = await make().fix(diff(1));
    expect(outcome).toMatchObject({ action: 'skipped', reason: 'newer' });
    expect(await allRows(fx.dbs.target, table)).toMatchObject([{ status: 'newer', version: 5 }]);
  });

  it('fixes toward the source from the target once the target is in charge', async () => {
    await fresh();
    await put('target', 1, 'fresh', 2);
    await put('source', 1, 'old', 1);
    const store = memoryPhaseStore({ initial: 'target-first' });
    const f = fixer({
      source: fx.dbs.source,
      target: fx.dbs.target,
      table,
      key: 'id',
      version: 'version',
      primary: store,
    });
    expect(await f.fix(diff(1))).toMatchObject({ action: 'copied', to: 'source' });
    expect(await allRows(fx.dbs.source, table)).toMatchObject([{ status: 'fresh', version: 2 }]);
  });

  it('drains the repair log left by failed secondary writes', async () => {
    await fresh();
    const phase = memoryPhaseStore({ initial: 'source-first' });
    const w = fx.writer(table, { phase, repairLog: { db: fx.dbs.source } });
    await w.write.insert({ id: 1, status: 'a', total: 1 });
    await fx.dbs.target.schema.alterTable(table).renameTo(`${table}_off`).execute();
    await w.write.insert({ id: 2, status: 'b', total: 1 });
    await w.write.update(1, { status: 'a2' });
    await w.write.update(1, { status: 'a3' });
    await w.write.delete(1);
    await w.write.run((db, s) => db.updateTable(s.table).set({ note: 'bulk' }).execute());
    await fx.dbs.target.schema.alterTable(`${table}_off`).renameTo(table).execute();
    const f = fixer({
      source: fx.dbs.source,
      target: fx.dbs.target,
      table,
      key: 'id',
      version: 'version',
      primary: phase,
      repairLog: { db: fx.dbs.source },
      batchSize: 2,
    });
    const summary = await f.drainRepairLog();
    // Key 1 has entries in two batches of 2: deleted in the first, absent in the second.
    expect(summary).toEqual({ copied: 1, deleted: 1, skipped: 1, failed: 0, unkeyed: 1 });
    expect(await allRows(fx.dbs.target, table)).toEqual(await allRows(fx.dbs.source, table));
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

  it('composite key: copies, deletes and skips by every key column', async () => {
    const lines = await fx.freshTable('lines');
    const { source, target } = fx.dbs;
    const line = (tenant: number, id: number, status: string, version: number) => ({
      tenant_id: tenant,
      id,
      status,
      total: 1,
      version,
    });
    await source
      .insertInto(lines)
      .values([line(1, 1, 'a', 2), line(2, 1, 'b', 1)])
      .execute();
    await target
      .insertInto(lines)
      .values([line(1, 1, 'old', 1), line(3, 1, 'extra', 1)])
      .execute();
    const f = fixer({
      source,
      target,
      table: lines,
      key: ['tenant_id', 'id'],
      version: 'version',
      primary: 'source',
    });
    const keys: unknown[] = [];
    f.events.on('fixed', (e) => keys.push(e.key));
    const diff = (tenant_id: number, id: number): Inconsistency => ({
      table: lines,
      key: { tenant_id, id },
      kind: 'changed',
    });
    expect(await f.fix(diff(1, 1))).toEqual({
      key: { tenant_id: 1, id: 1 },
      action: 'copied',
      to: 'target',
    });
    expect(await f.fixAll([diff(2, 1), diff(3, 1), diff(4, 1)])).toMatchObject({
      copied: 1,
      deleted: 1,
      skipped: 1,
    });
    expect(keys).toEqual([
      { tenant_id: 1, id: 1 },
      { tenant_id: 2, id: 1 },
      { tenant_id: 3, id: 1 },
    ]);
    expect(await allLines(target, lines)).toEqual(await allLines(source, lines));
    // Never backwards with a composite key either.
    await target
      .updateTable(lines)
      .set({ status: 'newer', version: 9 })
      .where('tenant_id', '=', 1)
      .execute();
    expect(await f.fix(diff(1, 1))).toMatchObject({ action: 'skipped', reason: 'newer' });
    for (const key of [
      { tenant_id: 1 },
      { id: 1 },
      { tenant_id: 1, id: 1, x: 1 },
      { tenant_id: 1, id: null },
    ]) {
      await expect(f.fix({ table: lines, key, kind: 'changed' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
  });

  it('composite key: the repair log keeps the key losslessly for the fixer', async () => {
    const lines = await fx.freshTable('lines');
    const { source, target } = fx.dbs;
    const phase = memoryPhaseStore({ initial: 'source-first' });
    const sides = { source, target, table: lines, key: ['tenant_id', 'id'], version: 'version' };
    const w = dualWrite({ ...sides, phase, repairLog: { db: source } });
    // A bigint beyond 2^53 and a column literally named like the encoding's tag must survive.
    const big = 9_007_199_254_740_993n;
    await w.write.insert({ tenant_id: 7, id: big, status: 'a', total: 1 });
    await w.write.insert({ tenant_id: 8, id: 1, status: 'b', total: 1 });
    // The target goes away: the updates below reach only the source and the repair log.
    await target.schema.alterTable(lines).renameTo(`${lines}_off`).execute();
    await w.write.update({ tenant_id: 7, id: big }, { status: 'a2' });
    await w.write.update({ tenant_id: 8, id: 1 }, { status: 'b2' });
    await w.write.run(
      (db, side) =>
        db
          .updateTable(side.table)
          .set({ note: 'x' })
          .where('tenant_id', '=', 8)
          .where('id', '=', 2)
          .execute(),
      { keys: [{ tenant_id: 8, id: 2 }] },
    );
    await target.schema.alterTable(`${lines}_off`).renameTo(lines).execute();
    const logged = await source
      .selectFrom('girder_migration_repair_log')
      .select('row_key')
      .where('table_name', '=', lines)
      .orderBy('created_at')
      .execute();
    expect(logged.map((r) => r.row_key).sort()).toEqual([
      JSON.stringify({ columns: { tenant_id: 7, id: { bigint: big.toString() } } }),
      JSON.stringify({ columns: { tenant_id: 8, id: 1 } }),
      JSON.stringify({ columns: { tenant_id: 8, id: 2 } }),
    ]);
    const f = fixer({ ...sides, primary: phase, repairLog: { db: source } });
    const fixedKeys: unknown[] = [];
    f.events.on('fixed', (e) => fixedKeys.push(e.key));
    expect(await f.drainRepairLog()).toEqual({
      copied: 2,
      deleted: 0,
      skipped: 1,
      failed: 0,
      unkeyed: 0,
    });
    expect(fixedKeys).toEqual([
      { tenant_id: 7, id: big },
      { tenant_id: 8, id: 1 },
    ]);
    expect(await allLines(target, lines)).toEqual(await allLines(source, lines));
  });
});
