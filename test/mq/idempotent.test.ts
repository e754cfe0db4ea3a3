// idempotent() and the memory store: the wrapper's batch semantics and events, and the
// claim / mark / release states driven by a manual clock.
import { describe, expect, it } from 'vitest';
import { type EventSource, manualClock } from '../../src/core/index.js';
import {
  IdempotencyBusyError,
  type IdempotentEvents,
  idempotent,
  memoryIdempotencyStore,
} from '../../src/mq/index.js';
import { received, redeliveryStorm } from './idempotent-helpers.js';

const signal = new AbortController().signal;

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('memoryIdempotencyStore', () => {
  it('runs a key once, skips it after, and re-runs it after a failure', async () => {
    const store = memoryIdempotencyStore();
    let runs = 0;
    expect(await store.once('a', async () => void runs++)).toBe(true);
    expect(await store.once('a', async () => void runs++)).toBe(false);
    await expect(
      store.once('b', async () => {
        runs++;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.once('b', async () => void runs++)).toBe(true);
    expect(runs).toBe(3);
  });

  it('answers IDEMPOTENCY_BUSY while the key is being processed, until the claim expires', async () => {
    const clock = manualClock();
    const store = memoryIdempotencyStore({ clock, processingTtlMs: 1_000 });
    const gate = deferred();
    const first = store.once('k', () => gate.promise);
    const busy = await store.once('k', async () => {}).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(IdempotencyBusyError);
    expect((busy as IdempotencyBusyError).code).toBe('IDEMPOTENCY_BUSY');
    // The first worker hangs past its claim: the key is free again (the documented window).
    clock.advance(1_000);
    expect(await store.once('k', async () => {})).toBe(true);
    gate.resolve();
    expect(await first).toBe(true);
    expect(await store.once('k', async () => {})).toBe(false);
  });

  it('forgets a done key after ttlMs, and the oldest beyond maxKeys', async () => {
    const clock = manualClock();
    const store = memoryIdempotencyStore({ clock, ttlMs: 500, maxKeys: 2 });
    await store.once('a', async () => {});
    clock.advance(499);
    expect(await store.once('a', async () => {})).toBe(false);
    clock.advance(1);
    expect(await store.once('a', async () => {})).toBe(true);
    await store.once('b', async () => {});
    await store.once('c', async () => {});
    expect(await store.once('a', async () => {})).toBe(true);
    expect(await store.once('c', async () => {})).toBe(false);
  });

  it('rejects bad keys, work and signals with INVALID_ARGUMENT before running anything', async () => {
    const store = memoryIdempotencyStore();
    let runs = 0;
    const work = async () => void runs++;
    for (const key of ['', 42, undefined, 'x'.repeat(513)]) {
      await expect(store.once(key as string, work)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    await expect(store.once('k', 'nope' as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(store.once('k', work, {} as AbortSignal)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(store.once('k', work, AbortSignal.abort())).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(runs).toBe(0);
    expect(await store.once('k', work)).toBe(true);
  });

  it('rejects misspelt and out-of-range options', () => {
    expect(() => memoryIdempotencyStore({ ttl: 5 } as never)).toThrow(/ttl/);
    expect(() => memoryIdempotencyStore({ ttlMs: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => memoryIdempotencyStore({ processingTtlMs: 1.5 })).toThrow(/processingTtlMs/);
  });
});

describe('idempotent', () => {
  const collect = (events: EventSource<IdempotentEvents>) => {
    const seen: string[] = [];
    for (const e of ['processed', 'duplicate', 'busy', 'failed'] as const) {
      events.on(e, (p) => seen.push(`${e}:${p.key}`));
    }
    return seen;
  };

  it('processes a batch in order, skipping keys already done, with events', async () => {
    const booked: string[] = [];
    const handler = idempotent(async (msg) => void booked.push(msg.text()), {
      store: memoryIdempotencyStore(),
      key: (msg) => msg.key ?? '',
      name: 'ledger',
    });
    const seen = collect(handler.events);
    let duration = -1;
    handler.events.on('processed', (e) => {
      duration = e.durationMs;
      expect(e.name).toBe('ledger');
      expect(e.topic).toBe('t');
    });
    await handler([received('t', 'a'), received('t', 'b'), received('t', 'a')], signal);
    await handler([received('t', 'b'), received('t', 'c')], signal);
    expect(booked).toEqual(['a', 'b', 'c']);
    expect(seen).toEqual([
      'processed:a',
      'processed:b',
      'duplicate:a',
      'duplicate:b',
      'processed:c',
    ]);
    expect(duration).toBeGreaterThanOrEqual(0);
    expect(handler.name).toBe('ledger');
  });

  it('a batch failing half-way is retried without re-running the messages before the failure', async () => {
    const runs: string[] = [];
    let failC = true;
    const handler = idempotent(
      async (msg) => {
        runs.push(msg.key!);
        if (msg.key === 'c' && failC) throw new Error('c failed');
      },
      { store: memoryIdempotencyStore(), key: (msg) => msg.key! },
    );
    const seen = collect(handler.events);
    const batch = [received('t', 'a'), received('t', 'b'), received('t', 'c'), received('t', 'd')];
    await expect(handler(batch, signal)).rejects.toThrow('c failed');
    failC = false;
    await handler(batch, signal);
    expect(runs).toEqual(['a', 'b', 'c', 'c', 'd']);
    expect(seen).toEqual([
      'processed:a',
      'processed:b',
      'failed:c',
      'duplicate:a',
      'duplicate:b',
      'processed:c',
      'processed:d',
    ]);
  });

  it('passes the caller signal to the handler and reports busy keys', async () => {
    const gate = deferred();
    const store = memoryIdempotencyStore();
    const controller = new AbortController();
    let got: AbortSignal | undefined;
    const handler = idempotent(
      async (_msg, _ctx, s) => {
        got = s;
        await gate.promise;
      },
      { store, key: (msg) => msg.key! },
    );
    const seen = collect(handler.events);
    const first = handler([received('t', 'k')], controller.signal);
    await expect(handler([received('t', 'k')], signal)).rejects.toMatchObject({
      code: 'IDEMPOTENCY_BUSY',
    });
    gate.resolve();
    await first;
    expect(got).toBe(controller.signal);
    expect(seen).toEqual(['busy:k', 'processed:k']);
  });

  it('a key() that returns no usable key fails the message with INVALID_ARGUMENT', async () => {
    let runs = 0;
    const handler = idempotent(async () => void runs++, {
      store: memoryIdempotencyStore(),
      key: () => undefined as unknown as string,
    });
    const failed: unknown[] = [];
    handler.events.on('failed', (e) => failed.push(e.error));
    await expect(handler([received('t', 'k')], signal)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(runs).toBe(0);
    expect(failed).toHaveLength(1);
  });

  it('rejects a bad handler and bad options', () => {
    const store = memoryIdempotencyStore();
    const key = () => 'k';
    expect(() => idempotent('x' as never, { store, key })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => idempotent(async () => {}, { store, key, storee: 1 } as never)).toThrow(/storee/);
    expect(() => idempotent(async () => {}, { store: {} as never, key })).toThrow(/store/);
    expect(() => idempotent(async () => {}, { store, key: 'id' as never })).toThrow(/key/);
  });

  it('books each key once under a concurrent redelivery storm (memory store)', async () => {
    const booked = new Map<string, number>();
    const handler = idempotent(
      async (msg) => {
        await new Promise((r) => setImmediate(r));
        booked.set(msg.key!, (booked.get(msg.key!) ?? 0) + 1);
      },
      { store: memoryIdempotencyStore(), key: (msg) => msg.key! },
    );
    const keys = Array.from({ length: 200 }, (_, i) => `order-${i}`);
    await redeliveryStorm(handler, keys, 10);
    expect(booked.size).toBe(200);
    expect([...booked.values()].every((n) => n === 1)).toBe(true);
  });
});
