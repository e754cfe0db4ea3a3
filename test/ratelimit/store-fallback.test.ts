// core's StoreFallback guard (src/core/store-fallback.ts), which limiter.ts uses and
// later store-backed modules (jwt, cache, lock) will share.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  manualClock,
  StoreFallback,
  type StoreFallbackEvents,
  type StoreRoute,
  TypedEmitter,
} from '../../src/core/index.js';

function guard(retryMs = 1_000) {
  const clock = manualClock(0);
  const events = new TypedEmitter<StoreFallbackEvents>();
  const log: string[] = [];
  events.on('storeError', ({ key }) => log.push(`storeError ${key}`));
  events.on('fallback', ({ mode }) => log.push(`fallback ${mode}`));
  events.on('recovered', ({ downMs }) => log.push(`recovered ${downMs}`));
  let recoveries = 0;
  const g = new StoreFallback({
    mode: 'deny',
    retryMs,
    clock,
    events,
    onRecovered: () => recoveries++,
  });
  return { g, clock, log, recoveries: () => recoveries };
}

describe('StoreFallback', () => {
  it('bypasses the store for retryMs after a failure, then lets exactly one call probe', () => {
    const { g, clock, log, recoveries } = guard();
    expect(g.route()).toBe('store');
    g.failed('a', new Error('down'), 'store');
    expect(g.down).toBe(true);
    expect(g.retryAfterMs()).toBe(1_000);
    expect(g.route()).toBe('fallback');
    clock.advance(1_000);
    expect(g.route()).toBe('probe');
    expect(g.route()).toBe('fallback'); // one probe at a time
    g.failed('b', new Error('still down'), 'probe');
    expect(g.route()).toBe('fallback');
    clock.advance(1_000);
    expect(g.route()).toBe('probe');
    g.succeeded('probe');
    expect(g.down).toBe(false);
    expect(g.route()).toBe('store');
    expect(log).toEqual(['storeError a', 'fallback deny', 'storeError b', 'recovered 2000']);
    expect(recoveries()).toBe(1);
  });

  it('an abandoned probe frees the probe slot without recovering', () => {
    const { g, clock } = guard(10);
    g.failed('a', new Error('down'), 'store');
    clock.advance(10);
    expect(g.route()).toBe('probe');
    g.abandoned('probe');
    expect(g.down).toBe(true);
    expect(g.route()).toBe('probe');
  });

  it('property: never two probes in flight; store only while healthy; recovered only after fallback', () => {
    const op = fc.oneof(
      fc.constant({ kind: 'call' as const }),
      fc.record({ kind: fc.constant('settle' as const), ok: fc.boolean() }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const { g, clock, log } = guard(100);
        const inFlight: StoreRoute[] = [];
        for (const o of ops) {
          if (o.kind === 'advance') clock.advance(o.ms);
          else if (o.kind === 'call') {
            const route = g.route();
            if (route === 'store') expect(g.down).toBe(false);
            if (route !== 'fallback') inFlight.push(route);
          } else {
            const route = inFlight.shift();
            if (route === undefined) continue;
            if (o.ok) g.succeeded(route);
            else g.failed('k', new Error('x'), route);
          }
          expect(inFlight.filter((r) => r === 'probe').length).toBeLessThanOrEqual(1);
        }
        const fallbacks = log.filter((l) => l.startsWith('fallback')).length;
        const recovered = log.filter((l) => l.startsWith('recovered')).length;
        expect(recovered === fallbacks || recovered === fallbacks - 1).toBe(true);
      }),
    );
  });
});
