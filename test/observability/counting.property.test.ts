// Counting is a small state machine (watch counts, cells, scrapes that flush deltas):
// whatever the interleaving of decisions, scrapes, watches and unwatches, a scrape shows
// exactly the decisions made while at least one watch of that name was live.
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { metrics } from '../../src/observability/index.js';
import { fixedWindow } from '../../src/ratelimit/index.js';
import { nonZero } from './helpers.js';

type Op =
  | { op: 'limit' }
  | { op: 'scrape' }
  | { op: 'watch'; via: 0 | 1 }
  | { op: 'unwatch'; which: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ op: 'limit' as const }),
  fc.constant({ op: 'scrape' as const }),
  fc.record({ op: fc.constant('watch' as const), via: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ op: fc.constant('unwatch' as const), which: fc.nat(20) }),
);

describe('counting under any interleaving (property)', () => {
  it('a scrape equals the decisions made while watched, never more (scrapes, re-watches, two metrics() on one registry)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const registry = new Registry();
        const views = [metrics({ registry }), metrics({ registry })];
        const limiter = fixedWindow({ limit: 3, windowMs: 1_000, name: 'p', clock: manualClock() });
        const live: (() => void)[] = [];
        const perView = [0, 0];
        const viaOf: (0 | 1)[] = [];
        let allowed = 0;
        let denied = 0;
        for (const o of ops) {
          if (o.op === 'limit') {
            const d = await limiter.limit('k');
            // Both views write the same series, and share one watch per (block, name).
            if (perView[0]! + perView[1]! > 0) {
              if (d.allowed) allowed++;
              else denied++;
            }
          } else if (o.op === 'scrape') {
            await registry.metrics();
          } else if (o.op === 'watch') {
            live.push(views[o.via]!.watch(limiter));
            viaOf.push(o.via);
            perView[o.via]!++;
          } else if (live.length > 0) {
            const i = o.which % live.length;
            live[i]!();
            perView[viaOf[i]!]!--;
            live.splice(i, 1);
            viaOf.splice(i, 1);
          }
        }
        const expected: Record<string, number> = {};
        if (allowed > 0) expected['name=p,outcome=allowed'] = allowed;
        if (denied > 0) expected['name=p,outcome=denied'] = denied;
        expect(await nonZero(registry, 'girder_ratelimit_decisions_total')).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
