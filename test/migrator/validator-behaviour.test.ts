// Run control on PGlite: throttling by maxLoad (manual clock), pause/resume, stop by
// signal, progress and ETA, adaptive chunk size, and option/argument errors.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import {
  type ValidationProgress,
  type ValidatorOptions,
  validator,
} from '../../src/migrator/index.js';
import {
  type Backend,
  itemOptions,
  itemsPair as itemsPairOn,
  pgliteBackend,
} from './validator-db.js';

let backend: Backend;
// PGlite's WebAssembly start-up takes long on a loaded machine.
beforeAll(async () => {
  backend = await pgliteBackend();
}, 120_000);
afterAll(async () => {
  await backend?.close();
});

const itemsPair = (rows: number) => itemsPairOn(backend, rows);
const options = itemOptions;
/** Resolves with the next emission of `event`. */
const next = <T>(on: (listener: (payload: T) => void) => () => void) =>
  new Promise<T>((resolve) => {
    const off = on((payload) => {
      off();
      resolve(payload);
    });
  });

describe('validator run control', () => {
  it('waits while maxLoad says busy, polling with exponential backoff on the clock', async () => {
    const pair = await itemsPair(300);
    const clock = manualClock(1_000);
    let busyPolls = 3;
    let polls = 0;
    const check = validator(
      options(pair, {
        clock,
        loadPollMs: 100,
        maxLoadPollMs: 250,
        maxLoad: () => {
          polls++;
          return busyPolls-- > 0;
        },
      }),
    );
    const waits: number[] = [];
    check.events.on('throttled', (t) => waits.push(t.waitMs));
    let chunks = 0;
    check.events.on('chunk', () => chunks++);
    let throttled = next<{ waitMs: number }>((l) => check.events.on('throttled', l));
    const run = check.start();
    expect((await throttled).waitMs).toBe(100);
    for (const waitMs of [100, 200]) {
      expect(chunks).toBe(0);
      throttled = next((l) => check.events.on('throttled', l));
      await clock.advanceAsync(waitMs);
      await throttled;
    }
    await clock.advanceAsync(250);
    const result = await run.result;
    expect(waits).toEqual([100, 200, 250]);
    expect(result.chunks).toBe(3);
    expect(polls).toBe(3 + 4); // 3 busy answers, then one poll before each chunk and before the end
  });

  it('pauses after the chunk in progress and continues on resume', async () => {
    const pair = await itemsPair(500);
    const check = validator(options(pair));
    const indexes: number[] = [];
    const run = check.start();
    check.events.on('chunk', (c) => {
      indexes.push(c.index);
      if (c.index === 1) run.pause();
    });
    await next((l) => check.events.on('throttled', l));
    expect(run.status).toBe('paused');
    expect(indexes).toEqual([0, 1]);
    // Give the loop every chance to go on: it must not.
    for (let i = 0; i < 20; i++) await sql`select 1`.execute(pair.source);
    expect(indexes).toEqual([0, 1]);
    run.resume();
    const result = await run.result;
    expect(indexes).toEqual([0, 1, 2, 3, 4]);
    expect(result.status).toBe('done');
    expect(run.status).toBe('done');
  });

  it('stops when the start signal aborts, with a stopped result', async () => {
    const pair = await itemsPair(500);
    const check = validator(options(pair));
    const controller = new AbortController();
    check.events.on('chunk', (c) => {
      if (c.index === 0) controller.abort();
    });
    const result = await check.start({ signal: controller.signal }).result;
    expect(result).toMatchObject({ status: 'stopped', chunks: 1 });
  });

  it('reports progress with an estimate, the rate and an ETA', async () => {
    const pair = await itemsPair(400);
    await sql`analyze ${sql.table(pair.sourceTable)}`.execute(pair.source);
    const check = validator(options(pair, { estimate: 'stats' }));
    const progress: ValidationProgress[] = [];
    check.events.on('progress', (p) => progress.push(p));
    await check.start().result;
    expect(progress.map((p) => p.rowsDone)).toEqual([100, 200, 300, 400]);
    expect(progress.map((p) => p.chunksDone)).toEqual([1, 2, 3, 4]);
    expect(progress.every((p) => p.estimatedRows === 400)).toBe(true);
    expect(progress.at(-1)?.etaMs).toBe(0);
    const counted = validator(options(pair, { estimate: 'count', name: 'counted' }));
    const run = counted.start();
    await run.result;
    expect(run.progress).toMatchObject({ estimatedRows: 400, rowsDone: 400, name: 'counted' });
  });

  it('adapts the chunk size toward targetChunkTimeMs within its bounds', async () => {
    const pair = await itemsPair(2000);
    const clock = manualClock();
    // Every source query "takes" 500 ms on the manual clock: chunks are twice too slow.
    const slow = pair.source.withPlugin({
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        clock.advance(500);
        return args.result;
      },
    });
    const check = validator(
      options(pair, {
        source: slow,
        clock,
        chunkSize: 400,
        targetChunkTimeMs: 250,
        minChunkSize: 150,
      }),
    );
    const sizes: number[] = [];
    check.events.on('chunk', (c) => sizes.push(c.chunkSize));
    await check.start().result;
    expect(sizes.slice(0, 3)).toEqual([400, 200, 150]);
    expect(Math.min(...sizes)).toBe(150);
  });

  it('rejects bad options, naming them', async () => {
    const { source, target } = await backend.pair();
    const good = { source, target, table: 't', key: 'id', columns: [] };
    const bad: [Record<string, unknown>, string][] = [
      [{ ...good, source: undefined }, 'source'],
      [{ ...good, source: 1 }, 'source'],
      [{ ...good, tabel: 'x' }, 'tabel'],
      [{ ...good, table: 'drop table; --' }, 'table'],
      [{ ...good, key: [] }, 'key'],
      [{ ...good, key: ['a', 'a'] }, 'key'],
      [{ ...good, columns: ['id'] }, 'columns'],
      [{ ...good, chunkSize: 0 }, 'chunkSize'],
      [{ ...good, chunkSize: 1.5 }, 'chunkSize'],
      [{ ...good, minChunkSize: 500, maxChunkSize: 100 }, 'maxChunkSize'],
      [{ ...good, since: 5 }, 'updatedAt'],
      [{ ...good, dialect: 'oracle' }, 'dialect'],
      [{ ...good, maxLoad: true }, 'maxLoad'],
      [{ ...good, targetColumns: ['x'] }, 'targetColumns'],
      [{ ...good, estimate: 'guess' }, 'estimate'],
    ];
    for (const [opts, field] of bad) {
      expect(() => validator(opts as unknown as ValidatorOptions), field).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining(field),
        }),
      );
    }
  });

  it('rejects bad start and resume arguments before doing anything', async () => {
    const pair = await itemsPair(10);
    const check = validator(options(pair));
    const invalid = { code: 'INVALID_ARGUMENT' };
    expect(() => check.start({ runId: '' })).toThrow(expect.objectContaining(invalid));
    expect(() => check.start({ signal: 'x' as never })).toThrow(expect.objectContaining(invalid));
    expect(() => check.start({ nope: 1 } as never)).toThrow(expect.objectContaining(invalid));
    expect(() => check.start(null as never)).toThrow(expect.objectContaining(invalid));
    await expect(check.resume('x')).rejects.toMatchObject(invalid); // no state store
    await expect(check.resume(5 as never)).rejects.toMatchObject(invalid);
    const run = check.start({ runId: 'twice' });
    expect(() => check.start({ runId: 'twice' })).toThrow(expect.objectContaining(invalid));
    await run.result;
  });

  it('fails with an error event when a query fails, and close() stops running runs', async () => {
    const pair = await backend.pair();
    const check = validator(options(pair)); // the tables do not exist
    const errors: unknown[] = [];
    check.events.on('error', ({ error }) => errors.push(error));
    const run = check.start();
    await expect(run.result).rejects.toThrow(/does not exist/);
    expect(run.status).toBe('failed');
    expect(errors).toHaveLength(1);

    const ok = await itemsPair(300);
    const other = validator(options(ok));
    const running = other.start();
    await next((l) => other.events.on('chunk', l));
    await other[Symbol.asyncDispose]();
    expect((await running.result).status).toBe('stopped');
  });
});
