// The half-open recovery ramp: probes, then growing fractions of traffic, then closed.
// Its data lives only while the breaker is half-open (one ramp object per half-open period).
import { z } from 'zod';
import type { HalfOpenOptions, RampStepEvent } from './types.js';

/** @internal */
export const halfOpenSchema = z
  .strictObject({
    probes: z.number().int().min(1).max(1_000_000).default(3),
    maxConcurrentProbes: z.number().int().min(1).max(1_000_000).default(1),
    probeTimeoutMs: z.number().finite().positive().default(30_000),
    ramp: z
      .array(z.number().gt(0).lt(1))
      .max(1_000)
      .default([0.1, 0.25, 0.5])
      .superRefine((ramp, ctx) => {
        for (let i = 1; i < ramp.length; i++) {
          if (!(ramp[i]! > ramp[i - 1]!)) {
            ctx.addIssue({ code: 'custom', path: [i], message: 'ramp fractions must grow' });
          }
        }
      }),
    stepMs: z.number().finite().min(0).default(1_000),
    stepSuccesses: z.number().int().min(0).max(1_000_000).default(1),
  })
  .superRefine((o, ctx) => {
    if (
      Number.isInteger(o.probes) &&
      Number.isInteger(o.maxConcurrentProbes) &&
      o.maxConcurrentProbes > o.probes
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxConcurrentProbes'],
        message: `must be <= probes (${o.probes})`,
      });
    }
  });

/** Resolved half-open options. @internal */
export type ResolvedHalfOpen = Required<HalfOpenOptions>;

/** Floating-point slack for the ramp's admission credit (0.1 × 10 is 0.9999999999999999). */
const EPSILON = 1e-9;

// What `admit` decided.
/** Admitted as a probe. @internal */
export const ADMIT_PROBE = 1;
/** Admitted on a ramp step. @internal */
export const ADMIT_RAMP = 2;
/** The ramp is complete: close the breaker, then admit the call as a closed one. @internal */
export const RAMP_DONE = 0;
/** Refused: every probe slot is taken. @internal */
export const REFUSE_PROBING = -1;
/** Refused: outside the admitted fraction of this step. @internal */
export const REFUSE_RAMP = -2;
/** Refused, and the probes are deemed hung: reopen. @internal */
export const PROBES_HUNG = -3;

// What a settled call means for the ramp.
/** Nothing to do. @internal */
export const STAY = 0;
/** Moved to a new ramp step: emit `rampStep`. @internal */
export const STEPPED = 1;
/** Recovered: close the breaker. @internal */
export const RECOVERED = 2;

/** Serialised ramp, the `halfOpen` field of a breaker snapshot. @internal */
export interface RampSnapshot {
  step: number;
  probeSuccesses: number;
  stepStartedAt: number;
  stepSuccesses: number;
  credit: number;
}

/**
 * Progress of one half-open period: first up to `maxConcurrentProbes` probes at a time
 * until `probes` succeeded, then ramp steps admitting a growing fraction of calls by
 * credit (each call adds the fraction; a call is admitted when the credit reaches 1).
 *
 * @internal
 */
export class HalfOpenRamp {
  readonly #o: ResolvedHalfOpen;
  /** -1 while probing, else the index of the ramp step. */
  step = -1;
  probeSuccesses = 0;
  #inFlightProbes = 0;
  #probeActivityAt: number;
  stepStartedAt = 0;
  stepSuccesses = 0;
  credit = 0;

  constructor(options: ResolvedHalfOpen, now: number) {
    this.#o = options;
    this.#probeActivityAt = now;
  }

  /** Resume from a snapshot; a ramp shortened by a configuration change resumes on its last step. */
  static restore(options: ResolvedHalfOpen, s: RampSnapshot, now: number): HalfOpenRamp {
    const ramp = new HalfOpenRamp(options, now);
    ramp.step = Math.min(s.step, options.ramp.length - 1);
    ramp.probeSuccesses =
      ramp.step < 0 ? Math.min(s.probeSuccesses, options.probes - 1) : s.probeSuccesses;
    ramp.stepStartedAt = s.stepStartedAt;
    ramp.stepSuccesses = s.stepSuccesses;
    ramp.credit = Math.min(s.credit, 1);
    return ramp;
  }

  /** Payload of the `rampStep` event for the current step. */
  stepEvent(): RampStepEvent {
    return { step: this.step, fraction: this.#o.ramp[this.step]! };
  }

  /** Decide on a call: one of the ADMIT_ / REFUSE_ codes, RAMP_DONE or PROBES_HUNG. */
  admit(now: number): number {
    const h = this.#o;
    if (this.step < 0) {
      const inFlight = this.#inFlightProbes;
      if (inFlight >= h.maxConcurrentProbes || this.probeSuccesses + inFlight >= h.probes) {
        if (inFlight > 0 && now - this.#probeActivityAt >= h.probeTimeoutMs) return PROBES_HUNG;
        return REFUSE_PROBING;
      }
      this.#inFlightProbes++;
      this.#probeActivityAt = now;
      return ADMIT_PROBE;
    }
    if (this.#advance(now) === RECOVERED) return RAMP_DONE;
    const credit = this.credit + h.ramp[this.step]!;
    if (credit >= 1 - EPSILON) {
      this.credit = Math.max(0, credit - 1);
      return ADMIT_RAMP;
    }
    this.credit = credit;
    return REFUSE_RAMP;
  }

  /** A probe succeeded: STAY, STEPPED (the ramp started) or RECOVERED (no ramp configured). */
  probeSucceeded(now: number): number {
    this.#inFlightProbes--;
    this.#probeActivityAt = now;
    if (++this.probeSuccesses < this.#o.probes) return STAY;
    if (this.#o.ramp.length === 0) return RECOVERED;
    this.step = 0;
    this.stepStartedAt = now;
    this.stepSuccesses = 0;
    // Enough credit that the first call of the ramp is admitted, then `fraction` per call.
    this.credit = 1 - this.#o.ramp[0]!;
    return STEPPED;
  }

  /** A probe was cancelled by its caller: its slot is free again. */
  probeCancelled(now: number): void {
    this.#inFlightProbes--;
    this.#probeActivityAt = now;
  }

  /** A call admitted on a ramp step succeeded: STAY, STEPPED or RECOVERED. */
  rampSucceeded(now: number): number {
    this.stepSuccesses++;
    return this.#advance(now);
  }

  #advance(now: number): number {
    const h = this.#o;
    if (now - this.stepStartedAt < h.stepMs || this.stepSuccesses < h.stepSuccesses) return STAY;
    if (this.step + 1 >= h.ramp.length) return RECOVERED;
    this.step++;
    this.stepStartedAt = now;
    this.stepSuccesses = 0;
    return STEPPED;
  }

  /** Plain-data copy for a snapshot. */
  toJSON(): RampSnapshot {
    return {
      step: this.step,
      probeSuccesses: this.probeSuccesses,
      stepStartedAt: this.stepStartedAt,
      stepSuccesses: this.stepSuccesses,
      credit: this.credit,
    };
  }
}
