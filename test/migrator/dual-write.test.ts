import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRepairLogTable,
  dualWrite,
  memoryPhaseStore,
  type Phase,
  type SecondaryFailure,
} from '../../src/migrator/index.js';
import { allRows, createOrders, type DbPair, pglitePair, postgresPair, stopServer } from './db.js';

const backends: [string, () => Promise<DbPair>][] = [
  ['PGlite', pglitePair],
  ['PostgreSQL', postgresPair],
];

describe.each(backends)('dualWrite on %s', (_label, open) => {
  let dbs: DbPair;
  let n = 0;
  /** A fresh table name per test, created on both sides. */
  const freshTable = async () => {
    const table = `orders_${++n}`;
    await createOrders(dbs.source, table);
    await createOrders(dbs.target, table);
    return table;
  };
  beforeAll(async () => {
    dbs = await open();
    await createRepairLogTable(dbs.source);
  }, 120_000);
  afterAll(async () => {
    await dbs.close();
    await stopServer();
  });

  const routing: [Phase, 'source' | 'target', boolean, boolean][] = [
    ['source-only', 'source', true, false],
    ['source-first', 'source', true, true],
    ['target-first', 'target', true, true],
    ['target-only', 'target', false, true],
  ];
  it.each(routing)(
    '%s: reads from the %s; writes source=%s target=%s',
    async (phase, readSide, onSource, onTarget) => {
      const table = await freshTable();
      const store = memoryPhaseStore({ initial: phase });
      const w = dualWrite({
        source: dbs.source,
        target: dbs.target,
        table,
        key: 'id',
        version: 'version',
        phase: store,
      });
      expect(w.read).toBe(dbs[readSide]);
      expect(w.readTable).toBe(table);
      const inserted = await w.write.insert({ id: 1, status: 'new', total: 100 });
      expect(Number(inserted.version)).toBe(1);
      await w.write.insert({ id: 2, status: 'new', total: 200 });
      const updated = await w.write.update(1, { status: 'paid' });
      expect(updated).toMatchObject({ status: 'paid' });
      expect(Number(updated?.version)).toBe(2);
      expect(await w.write.delete(2)).toBe(true);
      expect(await w.write.update(99, { status: 'x' })).toBeUndefined();
      const expected = [{ id: 1, status: 'paid', total: 100, note: null, version: 2 }];
      expect(await allRows(dbs.source, table)).toEqual(onSource ? expected : []);
      expect(await allRows(dbs.target, table)).toEqual(onTarget ? expected : []);
      expect(await w.find(1)).toMatchObject({ status: 'paid' });
    },
  );

  it('follows a phase switch without a restart', async () => {
    const table = await freshTable();
    const store = memoryPhaseStore({ initial: 'source-only' });
    const w = dualWrite({
      source: dbs.source,
      target: dbs.target,
      table,
      key: 'id',
      version: 'version',
      phase: store,
    });
    await w.write.insert({ id: 1, status: 'a', total: 1 });
    await store.set('source-first');
    await w.write.insert({ id: 2, status: 'b', total: 2 });
    await store.set('target-first');
    expect(w.read).toBe(dbs.target);
    await w.write.update(2, { total: 3 });
    expect((await allRows(dbs.target, table)).map((r) => [r.id, r.total])).toEqual([[2, 3]]);
    expect((await allRows(dbs.source, table)).map((r) => [r.id, r.total])).toEqual([
      [1, 1],
      [2, 3],
    ]);
  });

  it('a failed secondary write is recorded in the repair log and emitted, never thrown', async () => {
    const table = await freshTable();
    const store = memoryPhaseStore({ initial: 'source-first' });
    const failures: SecondaryFailure[] = [];
    const called: unknown[] = [];
    const w = dualWrite({
      source: dbs.source,
      target: dbs.target,
      table,
      key: 'id',
      version: 'version',
      phase: store,
      repairLog: { db: dbs.source },
      onSecondaryError: (f) => {
        called.push(f.key);
        throw new Error('a broken callback changes nothing');
      },
    });
    w.events.on('secondaryFailed', (f) => failures.push(f));
    // The target loses the table: every secondary write now fails.
    await sql.raw(`ALTER TABLE ${table} RENAME TO ${table}_away`).execute(dbs.target);
    const row = await w.write.insert({ id: 7, status: 'new', total: 5 });
    expect(row).toMatchObject({ id: expect.anything(), status: 'new' });
    await w.write.update(7, { status: 'paid' });
    await w.write.run((db, side) => db.updateTable(side.table).set({ note: 'x' }).execute());
    expect(failures.map((f) => [f.op, f.side, f.phase])).toEqual([
      ['insert', 'target', 'source-first'],
      ['update', 'target', 'source-first'],
      ['run', 'target', 'source-first'],
    ]);
    expect(called).toHaveLength(3);
    const log = await dbs.source
      .selectFrom('girder_migration_repair_log')
      .selectAll()
      .where('table_name', '=', table)
      .orderBy('created_at')
      .execute();
    const keyOf = (k: unknown) => (k === null ? null : String(JSON.parse(String(k))));
    expect(log.map((r) => [r.op, r.side, keyOf(r.row_key)])).toEqual(
      expect.arrayContaining([
        ['insert', 'target', '7'],
        ['update', 'target', '7'],
        ['run', 'target', null],
      ]),
    );
    expect(await allRows(dbs.source, table)).toMatchObject([{ id: 7, status: 'paid', note: 'x' }]);
    await sql.raw(`ALTER TABLE ${table}_away RENAME TO ${table}`).execute(dbs.target);
  });

  it('a secondary copy never replaces a newer version', async () => {
    const table = await freshTable();
    const w = dualWrite({
      source: dbs.source,
      target: dbs.target,
      table,
      key: 'id',
      version: 'version',
      phase: memoryPhaseStore({ initial: 'source-first' }),
    });
    await w.write.insert({ id: 1, status: 'a', total: 1 });
    // Another instance already copied a later write to the target.
    await dbs.target
      .updateTable(table)
      .set({ status: 'later', version: 5 })
      .where('id', '=', 1)
      .execute();
    await w.write.update(1, { status: 'older' });
    expect(await allRows(dbs.target, table)).toMatchObject([{ status: 'later', version: 5 }]);
    expect(await allRows(dbs.source, table)).toMatchObject([{ status: 'older', version: 2 }]);
  });

  it('transform shapes rows for a target with another schema, transformBack the way back', async () => {
    const table = await freshTable();
    await dbs.target.schema
      .createTable(`${table}_v2`)
      .addColumn('id', 'bigint', (c) => c.primaryKey())
      .addColumn('state', 'varchar(32)')
      .addColumn('total_cents', 'integer')
      .addColumn('note', 'text')
      .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
      .execute();
    const rename = (row: Record<string, unknown>, from: string[], to: string[]) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [to[from.indexOf(k)] ?? k, v]));
    const store = memoryPhaseStore({ initial: 'source-first' });
    const w = dualWrite({
      source: dbs.source,
      target: dbs.target,
      table,
      targetTable: `${table}_v2`,
      key: 'id',
      version: 'version',
      phase: store,
      transform: (r) => rename(r, ['status', 'total'], ['state', 'total_cents']),
      transformBack: (r) => rename(r, ['state', 'total_cents'], ['status', 'total']),
    });
    await w.write.insert({ id: 1, status: 'new', total: 10 });
    await store.set('target-first');
    expect(w.readTable).toBe(`${table}_v2`);
    await w.write.update(1, { status: 'paid' });
    expect(await allRows(dbs.target, `${table}_v2`)).toMatchObject([
      { state: 'paid', total_cents: 10, version: 2 },
    ]);
    expect(await allRows(dbs.source, table)).toMatchObject([
      { status: 'paid', total: 10, version: 2 },
    ]);
  });

  it('refuses bad input before writing anything', async () => {
    const table = await freshTable();
    const w = dualWrite({
      source: dbs.source,
      target: dbs.target,
      table,
      key: 'id',
      phase: memoryPhaseStore({ initial: 'source-first' }),
    });
    await expect(w.write.insert({})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(w.write.insert({ 'id; drop': 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(w.write.update(null, { status: 'x' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(w.write.update(1, { id: 2 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(w.write.delete('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(w.write.run(null as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await allRows(dbs.source, table)).toEqual([]);
    expect(() =>
      dualWrite({
        source: dbs.source,
        target: dbs.target,
        table,
        key: 'id',
        phase: memoryPhaseStore(),
        transform: (r) => r,
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
