// The validator's behaviour on a real database, run on PGlite and on PostgreSQL (two
// databases on one server) by validator-pglite.test.ts and validator-postgres.test.ts.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createValidatorStateTable,
  type Inconsistency,
  validator,
} from '../../src/migrator/index.js';
import {
  type Backend,
  type BackendName,
  createItems,
  type DbPair,
  fillItems,
  itemOptions,
  itemsPair as itemsPairOn,
  openBackend,
} from './validator-db.js';

const diffSet = (diffs: readonly Inconsistency[]) =>
  diffs.map((d) => `${d.kind}:${JSON.stringify(d.key)}`).sort();

let stateTables = 0;

export function describeValidator(backendName: BackendName): void {
  describe(`validator on ${backendName}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await openBackend(backendName);
    });
    afterAll(async () => {
      await backend?.close();
    });

    const itemsPair = (rows: number) => itemsPairOn(backend, rows);
    const options = itemOptions;
    const onTarget = (pair: DbPair, text: string) =>
      sql.raw(text.replaceAll('{t}', pair.targetTable)).execute(pair.target);
    const onSource = (pair: DbPair, text: string) =>
      sql.raw(text.replaceAll('{t}', pair.sourceTable)).execute(pair.source);

    it('reports no difference on identical tables, one chunk event per chunk', async () => {
      const pair = await itemsPair(1000);
      const check = validator(options(pair, { chunkSize: 150 }));
      const chunks: boolean[] = [];
      check.events.on('chunk', (c) => chunks.push(c.matched));
      const result = await check.start().result;
      expect(result).toMatchObject({
        status: 'done',
        mode: 'full',
        rowsChecked: 1000,
        chunks: 7,
        differingChunks: 0,
        differences: 0,
        diffs: [],
      });
      expect(chunks).toEqual(Array(7).fill(true));
    });

    it('finds every injected difference: missing, extra, each column type, NULL against empty', async () => {
      const pair = await itemsPair(1000);
      await onTarget(pair, 'delete from {t} where id in (10, 500)');
      await onSource(pair, 'delete from {t} where id = 55');
      await onTarget(pair, 'insert into {t} (id, name) values (1003, null), (1500, null)');
      await onSource(pair, 'update {t} set name = null where id = 20');
      await onTarget(pair, "update {t} set name = '' where id = 20");
      await onTarget(pair, 'update {t} set qty = qty + 1 where id = 21');
      await onTarget(pair, 'update {t} set price = price + 0.01 where id = 22');
      await onTarget(pair, "update {t} set at = at + interval '1 second' where id = 23");
      await onTarget(pair, 'update {t} set flag = not flag where id = 24');
      await onTarget(pair, `update {t} set doc = '{"i": 25, "tags": ["b", "a"]}' where id = 25`);
      await onTarget(pair, "update {t} set name = 'item 26 ' where id = 26");
      // ('x1', 2) and ('x', 12) concatenate to the same text without the length prefix.
      await onSource(pair, "update {t} set name = 'x1', qty = 2 where id = 27");
      await onTarget(pair, "update {t} set name = 'x', qty = 12 where id = 27");
      await onTarget(pair, 'update {t} set updated_at = 1001 where id = 999');
      await onTarget(pair, 'update {t} set qty = null where id = 998');
      const check = validator(options(pair));
      const seen: Inconsistency[] = [];
      check.events.on('diff', ({ inconsistency }) => seen.push(inconsistency));
      const result = await check.start().result;
      const expected = [
        ...[10, 500].map((id) => `missing:{"id":${id}}`),
        ...[55, 1003, 1500].map((id) => `extra:{"id":${id}}`),
        ...[20, 21, 22, 23, 24, 25, 26, 27, 998, 999].map((id) => `changed:{"id":${id}}`),
      ].sort();
      expect(diffSet(result.diffs)).toEqual(expected);
      expect(diffSet(seen)).toEqual(expected);
      expect(result).toMatchObject({ missing: 2, extra: 3, changed: 10, differences: 15 });
      expect(result.diffs[0]?.table).toBe(pair.sourceTable);
      // Only the chunks holding a difference were read row by row; the tail is its own chunk.
      expect(result.differingChunks).toBe(4);
      expect(result.chunks).toBe(11);
    });

    it('finds rows in the target beyond the last source key, and an empty source', async () => {
      const pair = await itemsPair(0);
      await fillItems(pair.target, 250, pair.targetTable);
      const result = await validator(options(pair)).start().result;
      expect(result).toMatchObject({ rowsChecked: 0, extra: 250, chunks: 3, differences: 250 });
    });

    it('compares composite keys', async () => {
      const pair = await backend.pair();
      for (const [db, table] of [
        [pair.source, pair.sourceTable],
        [pair.target, pair.targetTable],
      ] as const) {
        await sql`create table ${sql.table(table)} (tenant text, seq int, v text, primary key (tenant, seq))`.execute(
          db,
        );
        await sql`insert into ${sql.table(table)} select t, s, t || s from unnest(array['a', 'b', 'c']) as t, generate_series(1, 70) as s`.execute(
          db,
        );
      }
      await onTarget(pair, "delete from {t} where tenant = 'b' and seq = 7");
      await onTarget(pair, "update {t} set v = 'changed' where tenant = 'c' and seq = 70");
      await onTarget(pair, "insert into {t} values ('a', 71, 'extra'), ('d', 1, 'tail')");
      const result = await validator(
        options(pair, { key: ['tenant', 'seq'], columns: ['v'], chunkSize: 40 }),
      ).start().result;
      expect(diffSet(result.diffs)).toEqual(
        [
          'missing:{"tenant":"b","seq":7}',
          'changed:{"tenant":"c","seq":70}',
          'extra:{"tenant":"a","seq":71}',
          'extra:{"tenant":"d","seq":1}',
        ].sort(),
      );
      expect(result.rowsChecked).toBe(210);
    });

    it('incremental pass: checks rows changed since the watermark on either side', async () => {
      const pair = await itemsPair(500);
      // Changed on the source only after the watermark: the target copy is stale.
      await onSource(pair, "update {t} set name = 'new', updated_at = 2500 where id = 5");
      // Changed on both sides the same way: no difference.
      await onSource(pair, "update {t} set name = 'same', updated_at = 2500 where id = 6");
      await onTarget(pair, "update {t} set name = 'same', updated_at = 2500 where id = 6");
      // Inserted on one side only.
      await onSource(pair, 'insert into {t} (id, updated_at) values (600, 2600)');
      await onTarget(pair, 'insert into {t} (id, updated_at) values (700, 2700)');
      // Changed on the target only, and deleted from the source after the watermark.
      await onTarget(pair, 'update {t} set qty = 0, updated_at = 2800 where id = 7');
      await onSource(pair, 'update {t} set updated_at = 2900 where id = 8');
      await onTarget(pair, 'delete from {t} where id = 8');
      // An older divergence is outside the pass (that is the full pass's job).
      await onTarget(pair, "update {t} set name = 'old' where id = 9");
      const check = validator(options(pair, { since: 2000, updatedAt: 'updated_at' }));
      const result = await check.start().result;
      expect(result.mode).toBe('incremental');
      expect(diffSet(result.diffs)).toEqual(
        [
          'changed:{"id":5}',
          'changed:{"id":7}',
          'missing:{"id":600}',
          'missing:{"id":8}',
          'extra:{"id":700}',
        ].sort(),
      );
      expect(result.rowsChecked).toBe(4); // 5, 6, 8 and 600 changed since on the source
    });

    it('stops after a chunk and resumes from the state table without redoing chunks', async () => {
      const pair = await itemsPair(1000);
      await onTarget(pair, 'delete from {t} where id in (3, 950)');
      const stateTable = `validator_state_${++stateTables}`;
      await createValidatorStateTable(pair.source, { table: stateTable });
      const opts = options(pair, { state: { db: pair.source, table: stateTable } });
      const first = validator(opts);
      const indexes: number[] = [];
      const run = first.start({ runId: 'resume-me' });
      first.events.on('chunk', (c) => {
        indexes.push(c.index);
        if (c.index === 3) void run.stop();
      });
      const stopped = await run.result;
      expect(stopped).toMatchObject({ status: 'stopped', chunks: 4, rowsChecked: 400, missing: 1 });

      const second = validator(opts);
      const after: number[] = [];
      second.events.on('chunk', (c) => after.push(c.index));
      const resumed = await (await second.resume('resume-me')).result;
      expect(after[0]).toBe(4);
      expect([...indexes, ...after]).toEqual([...Array(10).keys()]);
      expect(resumed).toMatchObject({ status: 'done', chunks: 10, rowsChecked: 1000, missing: 2 });
      expect(diffSet(resumed.diffs)).toEqual(['missing:{"id":3}', 'missing:{"id":950}']);
      expect(resumed.startedAt).toBe(stopped.startedAt);
      await expect(second.resume('resume-me')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(second.resume('nope')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      // A new run may not reuse the id of a recorded one.
      await expect(second.start({ runId: 'resume-me' }).result).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    });

    it('compares through transform when the target schema differs', async () => {
      const pair = await backend.pair();
      await createItems(pair.source, pair.sourceTable);
      await fillItems(pair.source, 120, pair.sourceTable);
      await sql`create table ${sql.table(pair.targetTable)} (id int primary key, title text, qty int)`.execute(
        pair.target,
      );
      const rows = await pair.source
        .selectFrom(pair.sourceTable)
        .select(['id', 'name', 'qty'])
        .execute();
      const copies = rows.map((r) => ({
        id: r.id,
        title: String(r.name).toUpperCase(),
        qty: r.qty,
      }));
      await pair.target.insertInto(pair.targetTable).values(copies).execute();
      await onTarget(pair, "update {t} set title = 'wrong' where id = 100");
      const result = await validator(
        options(pair, {
          columns: ['name', 'qty'],
          targetColumns: ['title', 'qty'],
          transform: (row) => ({ id: row.id, title: String(row.name).toUpperCase(), qty: row.qty }),
        }),
      ).start().result;
      expect(diffSet(result.diffs)).toEqual(['changed:{"id":100}']);
    });
  });
}
