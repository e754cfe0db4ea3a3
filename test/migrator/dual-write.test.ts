import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { memoryPhaseStore, type Phase, type SecondaryFailure } from '../../src/migrator/index.js';
import { allLines, allRows, BACKENDS, type TableShape, usePair } from './db.js';

/** How each key shape names a row: a scalar id, or an object of (tenant_id, id). */
const SHAPES = {
  orders: {
    key: 'id' as string | string[],
    keyOf: (id: number): unknown => id,
    columns: (id: number) => ({ id }),
    all: allRows,
  },
  lines: {
    key: ['tenant_id', 'id'] as string | string[],
    keyOf: (id: number): unknown => ({ tenant_id: 3, id }),
    columns: (id: number) => ({ tenant_id: 3, id }),
    all: allLines,
  },
};

describe.each(BACKENDS)('dualWrite on %s', (_label, open) => {
  const fx = usePair(open, 'orders');
  const freshTable = (shape?: TableShape) => fx.freshTable(shape);

  const routing: [Phase, 'source' | 'target', boolean, boolean][] = [
    ['source-only', 'source', true, false],
    ['source-first', 'source', true, true],
    ['target-first', 'target', true, true],
    ['target-only', 'target', false, true],
  ];
  const cases = (['orders', 'lines'] as const).flatMap((shape) =>
    routing.map((r) => [shape, ...r] as const),
  );
  it.each(cases)(
    '%s, %s: reads from the %s; writes source=%s target=%s',
    async (shape, phase, readSide, onSource, onTarget) => {
      const { key, keyOf, columns, all } = SHAPES[shape];
      const table = await freshTable(shape);
      const store = memoryPhaseStore({ initial: phase });
      const w = fx.writer(table, { key, phase: store });
      expect(w.read).toBe(fx.dbs[readSide]);
      expect(w.readTable).toBe(table);
      const inserted = await w.write.insert({ ...columns(1), status: 'new', total: 100 });
      expect(Number(inserted.version)).toBe(1);
      await w.write.insert({ ...columns(2), status: 'new', total: 200 });
      const updated = await w.write.update(keyOf(1), { status: 'paid' });
      expect(updated).toMatchObject({ status: 'paid' });
      expect(Number(updated?.version)).toBe(2);
      expect(await w.write.delete(keyOf(2))).toBe(true);
      expect(await w.write.update(keyOf(99), { status: 'x' })).toBeUndefined();
      const expected = [{ ...columns(1), status: 'paid', total: 100, note: null, version: 2 }];
      expect(await all(fx.dbs.source, table)).toEqual(onSource ? expected : []);
      expect(await all(fx.dbs.target, table)).toEqual(onTarget ? expected : []);
      expect(await w.find(keyOf(1))).toMatchObject({ status: 'paid' });
      expect(await w.find(keyOf(2))).toBeUndefined();
    },
  );

  it('a composite key tells rows apart by every column', async () => {
    const table = await freshTable('lines');
    const w = fx.writer(table, {
      key: ['tenant_id', 'id'],
      phase: memoryPhaseStore({ initial: 'source-first' }),
    });
    await w.write.insert({ tenant_id: 1, id: 1, status: 'a', total: 1 });
    await w.write.insert({ tenant_id: 2, id: 1, status: 'b', total: 2 });
    await w.write.update({ id: 1, tenant_id: 2 }, { status: 'b2' });
    await w.write.delete({ tenant_id: 1, id: 1 });
    const expected = [{ tenant_id: 2, id: 1, status: 'b2', total: 2, note: null, version: 2 }];
    expect(await allLines(fx.dbs.source, table)).toEqual(expected);
    expect(await allLines(fx.dbs.target, table)).toEqual(expected);
  });

  it('refuses a key value of the wrong shape for the key, before writing anything', async () => {
    const table = await freshTable('lines');
    const w = fx.writer(table, {
      key: ['tenant_id', 'id'],
      phase: memoryPhaseStore({ initial: 'source-first' }),
      version: null,
    });
    await w.write.insert({ tenant_id: 1, id: 1, status: 'a', total: 1 });
    const wrong: unknown[] = [
      1,
      '1',
      [1, 1],
      null,
      { tenant_id: 1 },
      { tenant_id: 1, id: 1, status: 'a' },
      { tenant_id: 1, id: null },
      { tenant_id: 1, id: '' },
    ];
    for (const key of wrong) {
      await expect(w.find(key)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(w.write.update(key, { status: 'x' })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(w.write.delete(key)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(w.write.run(async () => 1, { keys: [key] })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    await expect(w.write.update({ tenant_id: 1, id: 1 }, { tenant_id: 2 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(await allLines(fx.dbs.source, table)).toMatchObject([{ status: 'a', version: 1 }]);
    // A scalar key is refused for a composite writer, an object for a one-column one.
    const single = fx.writer(table, {
      phase: memoryPhaseStore({ initial: 'source-first' }),
      version: null,
    });
    await expect(single.find({ id: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    for (const key of [[], ['id', 'id'], [''], 'a b']) {
      expect(() =>
        fx.writer(table, { key: key as string[], phase: memoryPhaseStore(), version: null }),
      ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    }
  });

  it('follows a phase switch without a restart', async () => {
    const table = await freshTable();
    const store = memoryPhaseStore({ initial: 'source-only' });
    const w = fx.writer(table, { phase: store });
    await w.write.insert({ id: 1, status: 'a', total: 1 });
    await store.set('source-first');
    await w.write.insert({ id: 2, status: 'b', total: 2 });
    await store.set('target-first');
    expect(w.read).toBe(fx.dbs.target);
    await w.write.update(2, { total: 3 });
    expect((await allRows(fx.dbs.target, table)).map((r) => [r.id, r.total])).toEqual([[2, 3]]);
    expect((await allRows(fx.dbs.source, table)).map((r) => [r.id, r.total])).toEqual([
      [1, 1],
      [2, 3],
    ]);
  });

  it('a failed secondary write is recorded in the repair log and emitted, never thrown', async () => {
    const table = await freshTable();
    const store = memoryPhaseStore({ initial: 'source-first' });
    const failures: SecondaryFailure[] = [];
    const called: unknown[] = [];
    const w = fx.writer(table, {
      phase: store,
      repairLog: { db: fx.dbs.source },
      onSecondaryError: (f) => {
        called.push(f.key);
        throw new Error('a broken callback changes nothing');
      },
    });
    w.events.on('secondaryFailed', (f) => failures.push(f));
    // The target loses the table: every secondary write now fails.
    await sql.raw(`ALTER TABLE ${table} RENAME TO ${table}_away`).execute(fx.dbs.target);
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
    const log = await fx.dbs.source
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
    expect(await allRows(fx.dbs.source, table)).toMatchObject([
      { id: 7, status: 'paid', note: 'x' },
    ]);
    await sql.raw(`ALTER TABLE ${table}_away RENAME TO ${table}`).execute(fx.dbs.target);
  });

  it('a secondary copy never replaces a newer version', async () => {
    const table = await freshTable();
    const w = fx.writer(table, { phase: memoryPhaseStore({ initial: 'source-first' }) });
    await w.write.insert({ id: 1, status: 'a', total: 1 });
    // Another instance already copied a later write to the target.
    await fx.dbs.target
      .updateTable(table)
      .set({ status: 'later', version: 5 })
      .where('id', '=', 1)
      .execute();
    await w.write.update(1, { status: 'older' });
    expect(await allRows(fx.dbs.target, table)).toMatchObject([{ status: 'later', version: 5 }]);
    expect(await allRows(fx.dbs.source, table)).toMatchObject([{ status: 'older', version: 2 }]);
  });

  it('transform shapes rows for a target with another schema, transformBack the way back', async () => {
    const table = await freshTable();
    await fx.dbs.target.schema
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
    const w = fx.writer(table, {
      targetTable: `${table}_v2`,
      phase: store,
      transform: (r) => rename(r, ['status', 'total'], ['state', 'total_cents']),
      transformBack: (r) => rename(r, ['state', 'total_cents'], ['status', 'total']),
    });
    await w.write.insert({ id: 1, status: 'new', total: 10 });
    await store.set('target-first');
    expect(w.readTable).toBe(`${table}_v2`);
    await w.write.update(1, { status: 'paid' });
    expect(await allRows(fx.dbs.target, `${table}_v2`)).toMatchObject([
      { state: 'paid', total_cents: 10, version: 2 },
    ]);
    expect(await allRows(fx.dbs.source, table)).toMatchObject([
      { status: 'paid', total: 10, version: 2 },
    ]);
  });

  it('refuses bad input before writing anything', async () => {
    const table = await freshTable();
    const w = fx.writer(table, {
      phase: memoryPhaseStore({ initial: 'source-first' }),
      version: null,
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
    expect(await allRows(fx.dbs.source, table)).toEqual([]);
    expect(() =>
      fx.writer(table, { phase: memoryPhaseStore(), transform: (r) => r, version: null }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
