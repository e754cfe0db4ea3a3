import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Clock, manualClock } from '../../src/core/index.js';
import { snowflake, type WorkerId } from '../../src/registry/index.js';

/** A manual clock whose wall time can also step backwards (timers run on the forward timeline). */
function steppingClock(start: number) {
  const m = manualClock(start);
  let offset = 0;
  const clock: Clock = {
    now: () => m.now() - offset,
    setTimeout: (cb, ms) => m.setTimeout(cb, ms),
    clearTimeout: (h) => m.clearTimeout(h),
  };
  return {
    clock,
    forward: (ms: number) => m.advanceAsync(ms),
    backward: (ms: number) => {
      offset += ms;
    },
    get pending() {
      return m.pendingTimers;
    },
  };
}

/** Await `p` while moving time forward 1 ms at a time until it settles. */
async function drive<T>(p: Promise<T>, c: ReturnType<typeof steppingClock>): Promise<T> {
  let done = false;
  const settled = p.finally(() => {
    done = true;
  });
  for (let i = 0; i < 10_000 && !done; i++) {
    await Promise.resolve();
    await Promise.resolve();
    if (!done && c.pending > 0) await c.forward(1);
  }
  return settled;
}

const EPOCH = Date.UTC(2024, 0, 1);

describe('snowflake', () => {
  it('lays out timestamp, worker and sequence, and parses them back', async () => {
    const c = steppingClock(EPOCH + 1_000);
    const ids = snowflake({ workerId: 5, epochMs: EPOCH, clock: c.clock });
    const a = await ids.next();
    const b = await ids.next();
    expect(ids.parse(a)).toEqual({ timestampMs: EPOCH + 1_000, workerId: 5, sequence: 0 });
    expect(ids.parse(b.toString())).toEqual({
      timestampMs: EPOCH + 1_000,
      workerId: 5,
      sequence: 1,
    });
    expect(a).toBe((1_000n << 22n) | (5n << 12n));
    expect(typeof (await ids.nextString())).toBe('string');
  });

  it('waits for the next millisecond when the sequence is used up', async () => {
    const c = steppingClock(EPOCH);
    const ids = snowflake({ workerId: 1, workerBits: 20, epochMs: EPOCH, clock: c.clock });
    // 2 sequence bits: 4 ids per ms.
    const first = await Promise.all([ids.next(), ids.next(), ids.next(), ids.next()]);
    expect(first.map((i) => ids.parse(i).sequence)).toEqual([0, 1, 2, 3]);
    const fifth = await drive(ids.next(), c);
    expect(ids.parse(fifth)).toMatchObject({ timestampMs: EPOCH + 1, sequence: 0 });
  });

  it('waits out a small backward step and refuses a large one', async () => {
    const c = steppingClock(EPOCH + 100);
    const ids = snowflake({ workerId: 1, epochMs: EPOCH, maxBackwardMs: 10, clock: c.clock });
    const before = await ids.next();
    c.backward(5);
    const after = await drive(ids.next(), c);
    expect(after).toBeGreaterThan(before);
    expect(ids.parse(after).timestampMs).toBeGreaterThanOrEqual(EPOCH + 100);
    c.backward(50);
    await expect(ids.next()).rejects.toMatchObject({
      code: 'CLOCK_MOVED_BACKWARDS',
      backwardMs: 50,
    });
  });

  it('property: ids strictly increase under any mix of forward and small backward steps', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('next' as const), n: fc.integer({ min: 1, max: 6 }) }),
            fc.record({ op: fc.constant('forward' as const), n: fc.integer({ min: 0, max: 5 }) }),
            fc.record({ op: fc.constant('backward' as const), n: fc.integer({ min: 1, max: 8 }) }),
          ),
          { maxLength: 40 },
        ),
        async (steps) => {
          const c = steppingClock(EPOCH + 1_000);
          // 2 sequence bits so exhaustion happens too.
          const ids = snowflake({
            workerId: 3,
            workerBits: 20,
            epochMs: EPOCH,
            maxBackwardMs: 8,
            clock: c.clock,
          });
          const issued: bigint[] = [];
          for (const step of steps) {
            if (step.op === 'forward') await c.forward(step.n);
            else if (step.op === 'backward') c.backward(step.n);
            else {
              const last = issued.at(-1);
              const behind = last === undefined ? 0 : ids.parse(last).timestampMs - c.clock.now();
              const batch = Promise.all(Array.from({ length: step.n }, () => ids.next()));
              if (behind > 8) {
                // Too far back: refused, nothing issued.
                await expect(batch).rejects.toMatchObject({ code: 'CLOCK_MOVED_BACKWARDS' });
              } else {
                issued.push(...(await drive(batch, c)));
              }
            }
          }
          for (let i = 1; i < issued.length; i++)
            expect(issued[i]!).toBeGreaterThan(issued[i - 1]!);
          expect(new Set(issued).size).toBe(issued.length);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a leased worker id that is not held refuses to issue ids', async () => {
    const worker = { id: 4, bits: 10, held: true } as unknown as WorkerId;
    const ids = snowflake({ workerId: worker, epochMs: EPOCH });
    expect(ids.parse(await ids.next()).workerId).toBe(4);
    (worker as { held: boolean }).held = false;
    await expect(ids.next()).rejects.toMatchObject({ code: 'WORKER_ID_LOST' });
  });

  it('bad options are INVALID_OPTIONS; a bad id to parse is INVALID_ARGUMENT', () => {
    for (const bad of [
      {},
      { workerId: -1 },
      { workerId: 1024 },
      { workerId: 1, workerBits: 10, sequenceBits: 10 },
      { workerId: 1, maxBackwardMs: -1 },
      { workerId: 1, zz: 1 },
    ]) {
      expect(() => snowflake(bad as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    }
    const ids = snowflake({ workerId: 1 });
    expect(() => ids.parse('nope')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => ids.parse(-1n)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
