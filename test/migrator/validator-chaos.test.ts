// A validation process SIGKILLed mid-run on real PostgreSQL; another process resumes it
// from the state table: it starts at the first chunk not recorded, redoes none, and the
// result holds the differences found before and after the kill.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidatorStateTable, validator } from '../../src/migrator/index.js';
import { bundledEntry } from '../harness/bundle.js';
import {
  type Backend,
  createItems,
  fillItems,
  ITEM_COLUMNS,
  postgresBackend,
} from './validator-db.js';

const WORKER = fileURLToPath(new URL('./fixtures/validator-worker.ts', import.meta.url));

let backend: Backend;
beforeAll(async () => {
  backend = await postgresBackend();
});
afterAll(async () => {
  await backend?.close();
});

describe('validator resume after SIGKILL', () => {
  it('picks up after the last chunk recorded and finds every difference', async () => {
    const pair = await backend.pair();
    await createItems(pair.source);
    await createItems(pair.target);
    await fillItems(pair.source, 5000);
    await fillItems(pair.target, 5000);
    await sql`delete from items where id in (42, 4242)`.execute(pair.target);
    await sql`update items set name = '' where id in (150, 4900)`.execute(pair.target);
    await sql`insert into items (id) values (7000)`.execute(pair.target);
    const stateTable = 'validator_chaos_state';
    await createValidatorStateTable(pair.source, { table: stateTable });

    const child = spawn(
      process.execPath,
      [await bundledEntry(WORKER), pair.urls!.source, pair.urls!.target, stateTable, 'killed-run'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const printed: number[] = [];
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const event = JSON.parse(line) as { index?: number; done?: boolean };
        if (event.done) reject(new Error('the worker finished before it was killed'));
        if (event.index === undefined) return;
        printed.push(event.index);
        if (event.index === 5) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.once('exit', () => resolve());
    });
    await exited;
    expect(child.signalCode).toBe('SIGKILL');

    const saved = await pair.source
      .selectFrom(stateTable)
      .selectAll()
      .where('run_id', '=', 'killed-run')
      .executeTakeFirstOrThrow();
    expect(saved.status).toBe('running');
    const chunksDone = Number(saved.chunks_done);
    expect(chunksDone).toBeGreaterThanOrEqual(printed.length);
    expect(chunksDone).toBeLessThan(50);

    const check = validator({
      source: pair.source,
      target: pair.target,
      table: 'items',
      key: 'id',
      columns: ITEM_COLUMNS,
      chunkSize: 100,
      state: { db: pair.source, table: stateTable },
    });
    const resumedChunks: { index: number; after: unknown }[] = [];
    check.events.on('chunk', (c) => resumedChunks.push({ index: c.index, after: c.after }));
    const result = await (await check.resume('killed-run')).result;
    // The first chunk of the resumed run is the first one not recorded: nothing redone.
    const [lastId] = JSON.parse(saved.last_key) as [number];
    expect(resumedChunks[0]).toEqual({ index: chunksDone, after: { id: lastId } });
    expect(lastId).toBe(chunksDone * 100);
    expect(resumedChunks.map((c) => c.index)).toEqual(
      Array.from({ length: 51 - chunksDone }, (_, i) => chunksDone + i),
    );
    expect(result).toMatchObject({ status: 'done', chunks: 51, rowsChecked: 5000 });
    expect(result.diffs.map((d) => `${d.kind}:${d.key.id}`).sort()).toEqual(
      ['changed:150', 'changed:4900', 'extra:7000', 'missing:42', 'missing:4242'].sort(),
    );
  }, 60_000);
});
