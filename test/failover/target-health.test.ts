import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock, TypedEmitter } from '../../src/core/index.js';
import type { FailoverEvents } from '../../src/failover/index.js';
import { type HealthRules, TargetHealthState } from '../../src/failover/target-health.js';

function rules(overrides: Partial<HealthRules> = {}): HealthRules {
  return {
    decay: { halfLifeCalls: 5 },
    baselineDecay: { halfLifeCalls: 200 },
    minSamples: 5,
    maxErrorRate: 0.5,
    maxLatencyRatio: 3,
    minLatencyIncreaseMs: 50,
    maxLatencyMs: undefined,
    outlierFactor: 2,
    probeIntervalMs: 1_000,
    restoreAfter: 2,
    clock: manualClock(),
    events: new TypedEmitter<FailoverEvents>(),
    ...overrides,
  };
}

const fail = { error: new Error('x') };

describe('TargetHealthState (the detector on its own)', () => {
  it('goes down on the error rate only after minSamples, and tells its owner', () => {
    const downs: number[] = [];
    const s = new TargetHealthState(3, rules(), (state) => downs.push(state.index));
    for (let i = 0; i < 4; i++) s.record(s.epoch, 1, fail, 'call');
    expect(s.up).toBe(true);
    s.record(s.epoch, 1, fail, 'call');
    expect(s.up).toBe(false);
    expect(s.downReason).toBe('error-rate');
    expect(downs).toEqual([3]);
  });

  it('drops results from before a down or restore (stale epoch)', () => {
    const s = new TargetHealthState(0, rules());
    const before = s.epoch;
    s.markDown('manual');
    s.record(before, 1, undefined, 'call');
    s.record(before, 1, undefined, 'call');
    expect(s.up).toBe(false);
    expect(s.probeSuccesses).toBe(0);
  });

  it('restores after restoreAfter good probes, seeding latency from them', () => {
    const r = rules();
    const restores: boolean[] = [];
    r.events.on('restore', ({ manual }) => restores.push(manual));
    const s = new TargetHealthState(0, r);
    s.markDown('manual');
    s.record(s.epoch, 10, undefined, 'probe');
    s.record(s.epoch, 30, undefined, 'probe');
    expect(s.up).toBe(true);
    expect(s.snapshot()).toMatchObject({ up: true, latencyMs: 20, samples: 0 });
    expect(restores).toEqual([false]);
  });

  it('a failed probe resets the run of good ones', () => {
    const s = new TargetHealthState(0, rules({ restoreAfter: 2 }));
    s.markDown('manual');
    s.record(s.epoch, 1, undefined, 'probe');
    s.record(s.epoch, 1, fail, 'probe');
    s.record(s.epoch, 1, undefined, 'probe');
    expect(s.up).toBe(false);
    s.record(s.epoch, 1, undefined, 'probe');
    expect(s.up).toBe(true);
  });

  it('property: the error-rate stays in [0, 1] and a target is down exactly when the rules say so', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 60 }), (outcomes) => {
        const s = new TargetHealthState(0, rules());
        for (const failed of outcomes) {
          if (!s.up) break;
          s.record(s.epoch, 5, failed ? fail : undefined, 'call');
          const snap = s.snapshot();
          expect(snap.errorRate).toBeGreaterThanOrEqual(0);
          expect(snap.errorRate).toBeLessThanOrEqual(1);
          if (snap.up && snap.samples >= 5) expect(snap.errorRate).toBeLessThanOrEqual(0.5);
        }
      }),
    );
  });
});
