import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manualClock, TypedEmitter } from '../../src/core/index.js';
import { memoryLogger } from '../../src/logger/index.js';
import {
  createPhaseTable,
  InvalidPhaseError,
  livePhaseStore,
  memoryPhaseStore,
  type PhaseStoreEvents,
  sqlPhaseStore,
} from '../../src/migrator/index.js';
import { type DbPair, pglitePair } from './db.js';

describe('memoryPhaseStore', () => {
  it('switches, emits and logs every switch', async () => {
    const logger = memoryLogger();
    const store = memoryPhaseStore({ name: 'orders', logger });
    const seen: PhaseStoreEvents['changed'][] = [];
    store.events.on('changed', (e) => seen.push(e));
    expect(store.phase).toBe('source-only');
    await store.set('source-first');
    await store.set('source-first');
    expect(await store.get()).toBe('source-first');
    expect(seen).toEqual([
      { name: 'orders', from: 'source-only', to: 'source-first', origin: 'local' },
    ]);
    expect(logger.entries.some((e) => e.msg === 'migration phase switched')).toBe(true);
  });

  it('refuses an unknown phase with MIGRATOR_INVALID_PHASE, unchanged', async () => {
    const store = memoryPhaseStore({ initial: 'target-first' });
    await expect(store.set('target-frist' as never)).rejects.toMatchObject({
      code: 'MIGRATOR_INVALID_PHASE',
    });
    expect(store.phase).toBe('target-first');
    expect(() => memoryPhaseStore({ initial: 'nope' as never })).toThrow(InvalidPhaseError);
  });
});

describe('livePhaseStore', () => {
  /** A stand-in with the shape of girder/registry's watchConfig. */
  function liveConfig(initial: unknown) {
    const events = new TypedEmitter<{ changed: { value: unknown } }>();
    let value = initial;
    return {
      get value() {
        return value;
      },
      events,
      put(next: unknown) {
        value = next;
        events.emit('changed', { value: next });
      },
    };
  }

  it('follows the live value, refusing unknown phases', async () => {
    const config = liveConfig({ phase: 'source-only' });
    const store = livePhaseStore(config, {
      select: (v) => (v as { phase: unknown }).phase,
      write: async (phase) => config.put({ phase }),
    });
    const errors: unknown[] = [];
    store.events.on('error', ({ error }) => errors.push(error));
    config.put({ phase: 'source-first' });
    expect(store.phase).toBe('source-first');
    config.put({ phase: 'bogus' });
    expect(store.phase).toBe('source-first');
    expect(errors[0]).toBeInstanceOf(InvalidPhaseError);
    await store.set('target-first');
    expect(config.value).toEqual({ phase: 'target-first' });
    await store.close();
    config.put({ phase: 'target-only' });
    expect(store.phase).toBe('target-first');
  });

  it('needs a write function to set, and a valid initial value', async () => {
    const store = livePhaseStore(liveConfig('source-only'));
    await expect(store.set('source-first')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => livePhaseStore(liveConfig('x'))).toThrow(InvalidPhaseError);
    expect(() => livePhaseStore({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('sqlPhaseStore on PGlite', () => {
  let dbs: DbPair;
  beforeAll(async () => {
    dbs = await pglitePair();
    await createPhaseTable(dbs.source);
  }, 120_000);
  afterAll(() => dbs.close());

  it('a switch on one instance reaches another within pollMs', async () => {
    const clock = manualClock(1_000);
    const a = await sqlPhaseStore(dbs.source, { name: 'm1', pollMs: 500, clock });
    const b = await sqlPhaseStore(dbs.source, {
      name: 'm1',
      pollMs: 500,
      clock,
      initial: 'target-only',
    });
    expect(b.phase).toBe('source-only'); // the existing row wins over `initial`
    const seen: string[] = [];
    b.events.on('changed', (e) => seen.push(`${e.from}->${e.to}:${e.origin}`));
    await a.set('source-first');
    expect(b.phase).toBe('source-only');
    await clock.advanceAsync(500);
    await vi.waitFor(() => expect(b.phase).toBe('source-first'));
    expect(seen).toEqual(['source-only->source-first:remote']);
    await a.close();
    await b.close();
  });

  it('a row holding an unknown phase is refused; the last good phase stays', async () => {
    const clock = manualClock(1_000);
    const store = await sqlPhaseStore(dbs.source, { name: 'm2', pollMs: 100, clock });
    const errors: unknown[] = [];
    store.events.on('error', ({ error }) => errors.push(error));
    await dbs.source
      .updateTable('girder_migration_phase')
      .set({ phase: 'half-way' })
      .where('name', '=', 'm2')
      .execute();
    await clock.advanceAsync(100);
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0));
    expect(errors[0]).toBeInstanceOf(InvalidPhaseError);
    expect(store.phase).toBe('source-only');
    await expect(store.get()).rejects.toBeInstanceOf(InvalidPhaseError);
    await expect(store.set('sideways' as never)).rejects.toBeInstanceOf(InvalidPhaseError);
    await store.close();
  });

  it('refuses a non-Kysely database', async () => {
    await expect(sqlPhaseStore({} as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
