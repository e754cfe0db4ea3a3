// girder's own down detector: error ratio and latency inflation over a sliding time
// window, against a slow latency baseline, with one probe per interval while down.
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  type Decay,
  DecayingMean,
  decaySchema,
  type EventSource,
  parseOptions,
  systemClock,
  TimeWindow,
  TypedEmitter,
} from '../core/index.js';
import type { DetectorEvents, DetectorSample, DetectorVerdict, SmsDetector } from './detector.js';

/**
 * Options of {@link healthDetector}. Defaults suit a provider answering in tens to
 * hundreds of ms at a few sends per second or more.
 *
 * @example
 * ```ts
 * const options: HealthDetectorOptions = { errorRatio: 0.3, minSamples: 50 };
 * ```
 */
export interface HealthDetectorOptions {
  /** Length of the sliding window, ms. Default 30 000. */
  windowMs?: number;
  /** Buckets of the window (its resolution), 1 to 1 000. Default 10. */
  buckets?: number;
  /** Calls the window must hold before any rule may trip. Default 20. */
  minSamples?: number;
  /** Down when this share of the window's calls failed, (0, 1]. Default 0.5. */
  errorRatio?: number;
  /** Down when the window's mean success latency reaches this many times the baseline (> 1). Default 3. */
  latencyFactor?: number;
  /** ... and is at least this many ms (a 2 ms provider going to 7 ms is not down). Default 250. */
  minLatencyMs?: number;
  /**
   * How fast the latency baseline (mean of successful calls while up, and of successful
   * probes) forgets. Count-based by default, so a burst of slow calls barely moves it.
   * Default `{ halfLifeCalls: 500 }`.
   */
  baseline?: Decay;
  /** While down, let one send through as a probe this often, ms. Default 5 000. */
  probeEveryMs?: number;
  /** Healthy probes in a row that bring the provider back up, 1 to 100. Default 2. */
  recoverAfter?: number;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** A name for logs and metrics. */
  name?: string;
}

const schema = z.strictObject({
  windowMs: z.number().finite().min(10).max(86_400_000).default(30_000),
  buckets: z.number().int().min(1).max(1_000).default(10),
  minSamples: z.number().int().min(1).max(1_000_000).default(20),
  errorRatio: z.number().gt(0).max(1).default(0.5),
  latencyFactor: z.number().finite().gt(1).max(1_000).default(3),
  minLatencyMs: z.number().finite().min(0).default(250),
  baseline: decaySchema.default({ halfLifeCalls: 500 }),
  probeEveryMs: z.number().finite().min(1).max(86_400_000).default(5_000),
  recoverAfter: z.number().int().min(1).max(100).default(2),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).optional(),
});

/**
 * What a {@link HealthDetector} sees now.
 *
 * @example
 * ```ts
 * const { state, errorRatio, latencyMs, baselineMs } = detector.stats();
 * ```
 */
export interface HealthDetectorStats {
  /** Up or down. */
  readonly state: 'up' | 'down';
  /** Calls in the window. */
  readonly calls: number;
  /** Failed share of them, 0 to 1 (0 without calls). */
  readonly errorRatio: number;
  /** Mean latency of the window's successful calls, ms. */
  readonly latencyMs: number | undefined;
  /** The slow latency baseline, ms. */
  readonly baselineMs: number | undefined;
}

/**
 * The detector {@link healthDetector} returns.
 *
 * @example
 * ```ts
 * const detector: HealthDetector = healthDetector();
 * detector.events.on('up', ({ downForMs }) => log.info('sms provider back', { downForMs }));
 * ```
 */
export interface HealthDetector extends SmsDetector {
  /** The `name` option, if given. */
  readonly name: string | undefined;
  /** `down`, `probe` and `up` events. */
  readonly events: EventSource<DetectorEvents>;
  /** The window's figures now. */
  stats(): HealthDetectorStats;
}

/**
 * girder's down detector. While up, every admitted send lands in a sliding time window
 * (calls, failures, latency of successes). Once the window holds `minSamples` calls,
 * the provider is judged down when the failed share reaches `errorRatio`, or when the
 * mean success latency reaches `latencyFactor` times a slow baseline (a decaying mean,
 * by default over about the last 500 successful calls) and at least `minLatencyMs`.
 * While down, `admit` answers `queue`, except once every `probeEveryMs` when it answers
 * `probe`; `recoverAfter` healthy probes in a row (successful, latency not inflated)
 * bring it back up with a fresh window.
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { asyncFallback, healthDetector, memorySmsQueue } from 'girder/sms';
 *
 * const detector = healthDetector({ errorRatio: 0.3, probeEveryMs: 10_000 });
 * const sms = asyncFallback(provider, { queue: memorySmsQueue(), detector });
 * ```
 */
export function healthDetector(options: HealthDetectorOptions = {}): HealthDetector {
  const o = parseOptions('healthDetector', schema, options);
  const clock = o.clock;
  const events = new TypedEmitter<DetectorEvents>();
  // a = calls, b = failures; and a = successes, b = their summed latency.
  const outcomes = new TimeWindow({ windowMs: o.windowMs, buckets: o.buckets });
  const latency = new TimeWindow({ windowMs: o.windowMs, buckets: o.buckets });
  const baseline = new DecayingMean(o.baseline);
  let state: 'up' | 'down' = 'up';
  let downAt = 0;
  let nextProbeAt = 0;
  let goodProbes = 0;

  const windowLatency = (now: number) => {
    latency.advance(now);
    return latency.totalA > 0 ? latency.totalB / latency.totalA : undefined;
  };
  // A sample teaches the baseline at most `latencyFactor` times what it knew, so a slow
  // burst cannot drag the baseline up to itself before the rule sees the inflation.
  const teach = (ms: number, now: number) => {
    const known = baseline.value;
    baseline.add(known === undefined ? ms : Math.min(ms, o.latencyFactor * known), now);
  };
  const warmBaseline = () => (baseline.count >= o.minSamples ? baseline.value : undefined);
  const inflated = (ms: number, base: number | undefined) =>
    base !== undefined && ms >= o.minLatencyMs && ms >= o.latencyFactor * base;

  const trip = (reason: 'errors' | 'latency', now: number) => {
    const calls = outcomes.totalA;
    const payload = {
      reason,
      calls,
      errorRatio: calls > 0 ? outcomes.totalB / calls : 0,
      latencyMs: windowLatency(now),
      baselineMs: warmBaseline(),
    };
    state = 'down';
    downAt = now;
    nextProbeAt = now + o.probeEveryMs;
    goodProbes = 0;
    outcomes.clear();
    latency.clear();
    events.emit('down', payload);
  };

  const recordUp = (sample: DetectorSample, now: number) => {
    outcomes.add(now, 1, sample.ok ? 0 : 1);
    if (sample.ok) {
      latency.add(now, 1, sample.latencyMs);
      teach(sample.latencyMs, now);
    }
    const calls = outcomes.totalA;
    if (calls < o.minSamples) return;
    if (outcomes.totalB / calls >= o.errorRatio) return trip('errors', now);
    const mean = windowLatency(now);
    if (latency.totalA >= o.minSamples && mean !== undefined && inflated(mean, warmBaseline())) {
      trip('latency', now);
    }
  };

  const recordProbe = (sample: DetectorSample, now: number) => {
    events.emit('probe', { ok: sample.ok, latencyMs: sample.latencyMs });
    const healthy = sample.ok && !inflated(sample.latencyMs, warmBaseline());
    // Successful probes teach the baseline too: a provider that became slower for good
    // is recovered from once the baseline has caught up, rather than never.
    if (sample.ok) teach(sample.latencyMs, now);
    goodProbes = healthy ? goodProbes + 1 : 0;
    if (goodProbes < o.recoverAfter) return;
    state = 'up';
    events.emit('up', { downForMs: Math.max(0, now - downAt) });
  };

  return {
    name: o.name,
    events,
    get state() {
      return state;
    },
    admit(): DetectorVerdict {
      if (state === 'up') return 'send';
      const now = clock.now();
      if (now < nextProbeAt) return 'queue';
      nextProbeAt = now + o.probeEveryMs;
      return 'probe';
    },
    record(sample) {
      if (typeof sample !== 'object' || sample === null) return;
      const latencyMs = Number.isFinite(sample.latencyMs) ? Math.max(0, sample.latencyMs) : 0;
      const s = { ok: sample.ok === true, latencyMs, probe: sample.probe === true };
      const now = clock.now();
      // A sample that raced the trip (admitted while up, answered after) is dropped.
      if (state === 'up' && !s.probe) recordUp(s, now);
      else if (state === 'down' && s.probe) recordProbe(s, now);
    },
    stats() {
      const now = clock.now();
      outcomes.advance(now);
      const calls = outcomes.totalA;
      return {
        state,
        calls,
        errorRatio: calls > 0 ? outcomes.totalB / calls : 0,
        latencyMs: windowLatency(now),
        baselineMs: baseline.value,
      };
    },
  };
}
