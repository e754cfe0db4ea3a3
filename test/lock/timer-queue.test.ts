// The locker's one timer: entries fire no earlier than their time, in time order, once;
// cancelled ones never fire; the clock timer stops when nothing is left. Checked against
// a plain list model on a manual clock, with random schedules, cancels and time steps.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { TimerQueue } from '../../src/lock/timer-queue.js';

type Op =
  | { kind: 'schedule'; inMs: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('schedule' as const), inMs: fc.integer({ min: 0, max: 200 }) }),
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 120 }) }),
);

describe('TimerQueue', () => {
  it('fires every live entry once, no earlier than its time and in time order (model check)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const clock = manualClock();
        const queue = new TimerQueue(clock, () => clock.now());
        const fired: { id: number; at: number; firedAt: number }[] = [];
        const model = new Map<number, number>(); // id -> due time, live entries
        const entries: { id: number; entry: ReturnType<TimerQueue['schedule']> }[] = [];
        let nextId = 0;
        for (const o of ops) {
          if (o.kind === 'schedule') {
            const id = nextId++;
            const at = clock.now() + o.inMs;
            const entry = queue.schedule(at, {
              onDue: () => fired.push({ id, at, firedAt: clock.now() }),
            });
            entries.push({ id, entry });
            model.set(id, at);
          } else if (o.kind === 'cancel' && entries.length > 0) {
            const { id, entry } = entries[o.pick % entries.length]!;
            queue.cancel(entry);
            model.delete(id);
          } else if (o.kind === 'advance') {
            const before = fired.length;
            clock.advance(o.ms);
            for (const f of fired.slice(before)) model.delete(f.id);
            // Everything due by now has fired: nothing live is overdue.
            for (const at of model.values()) expect(at).toBeGreaterThan(clock.now());
          }
          expect(queue.size).toBe(model.size);
        }
        clock.advance(1_000);
        expect(queue.size).toBe(0);
        const ids = fired.map((f) => f.id);
        expect(new Set(ids).size).toBe(ids.length); // once each
        for (const f of fired) expect(f.firedAt).toBeGreaterThanOrEqual(f.at);
        for (let i = 1; i < fired.length; i++) {
          expect(fired[i]!.at).toBeGreaterThanOrEqual(fired[i - 1]!.at);
        }
        expect(clock.pendingTimers).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('an entry scheduled from onDue at a later time fires on a later turn; close drops everything', () => {
    const clock = manualClock();
    const queue = new TimerQueue(clock, () => clock.now());
    const seen: string[] = [];
    queue.schedule(10, {
      onDue: () => {
        seen.push('a');
        queue.schedule(clock.now() + 5, { onDue: () => seen.push('b') });
      },
    });
    queue.schedule(100, { onDue: () => seen.push('late') });
    clock.advance(10);
    expect(seen).toEqual(['a']);
    clock.advance(5);
    expect(seen).toEqual(['a', 'b']);
    queue.close();
    clock.advance(1_000);
    expect(seen).toEqual(['a', 'b']);
    expect(queue.schedule(clock.now(), { onDue: () => seen.push('closed') }).cancelled).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('cancelling most entries keeps the heap small (rebuilt once cancelled outnumber live)', () => {
    const clock = manualClock();
    const queue = new TimerQueue(clock, () => clock.now());
    const keep = queue.schedule(1_000_000, { onDue: () => {} });
    for (let i = 0; i < 10_000; i++) queue.cancel(queue.schedule(500_000 + i, { onDue: () => {} }));
    expect(queue.size).toBe(1);
    expect((queue as unknown as { heapLength: number }).heapLength).toBeLessThan(100);
    queue.cancel(keep);
    // An idle queue keeps its timer for the next entry; firing it re-arms nothing.
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1_000_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an idle queue reuses its timer: one-at-a-time entries arm the clock once', () => {
    const clock = manualClock();
    const queue = new TimerQueue(clock, () => clock.now());
    const fired: number[] = [];
    for (let i = 0; i < 100; i++) {
      queue.cancel(queue.schedule(1_000 + i, { onDue: () => fired.push(i) }));
      clock.advance(1);
    }
    expect(clock.pendingTimers).toBe(1);
    queue.schedule(clock.now() + 2_000, { onDue: () => fired.push(-1) });
    clock.advance(1_000); // the stale timer fires, finds the live entry not due, re-arms
    expect(fired).toEqual([]);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1_000);
    expect(fired).toEqual([-1]);
    expect(clock.pendingTimers).toBe(0);
  });
});
