// What `asyncFallback` asks before a live send: is the provider up? The detector is
// pluggable; `healthDetector` is girder's own.
import type { EventSource } from '../core/index.js';

/**
 * A detector's answer for one send:
 * - `send`: the provider looks up, send now;
 * - `probe`: it looks down, but let this one send through to test it;
 * - `queue`: it looks down, store the message for the workers.
 *
 * @example
 * ```ts
 * const verdict: DetectorVerdict = detector.admit();
 * ```
 */
export type DetectorVerdict = 'send' | 'probe' | 'queue';

/**
 * The outcome of one send a detector admitted.
 *
 * @example
 * ```ts
 * detector.record({ ok: false, latencyMs: 3_000, probe: false });
 * ```
 */
export interface DetectorSample {
  /** The provider accepted the message. */
  readonly ok: boolean;
  /** How long the send took, ms. */
  readonly latencyMs: number;
  /** The send was admitted as a `probe`. */
  readonly probe: boolean;
}

/**
 * Events of {@link healthDetector} (custom detectors may emit the same).
 *
 * @example
 * ```ts
 * detector.events.on('down', ({ reason, errorRatio }) => log.warn('sms provider down', { reason, errorRatio }));
 * ```
 */
export type DetectorEvents = {
  /** The provider was judged down. */
  down: {
    /** What tripped: the error ratio, or latency inflation. */
    readonly reason: 'errors' | 'latency';
    /** Calls in the window when it tripped. */
    readonly calls: number;
    /** Failed share of those calls, 0 to 1. */
    readonly errorRatio: number;
    /** Mean latency of the window's successful calls, ms (`undefined` without any). */
    readonly latencyMs: number | undefined;
    /** The slow latency baseline, ms (`undefined` before it warmed up). */
    readonly baselineMs: number | undefined;
  };
  /** A probe was let through. */
  probe: {
    /** Its outcome. */
    readonly ok: boolean;
    /** Its latency, ms. */
    readonly latencyMs: number;
  };
  /** Enough probes in a row succeeded: the provider is up again. */
  up: {
    /** How long it was down, ms. */
    readonly downForMs: number;
  };
};

/**
 * Judges whether the SMS provider is down. `asyncFallback` calls `admit` before each
 * live send and `record` after every admitted one (never for a send its caller
 * cancelled, or one refused by a rate limiter). Implement it to plug in your own rule;
 * `healthDetector` is girder's.
 *
 * @example
 * ```ts
 * import type { SmsDetector } from 'girder/sms';
 *
 * // Down while a feature flag says so.
 * const flagged: SmsDetector = {
 *   get state() { return flags.smsDown ? 'down' : 'up'; },
 *   admit: () => (flags.smsDown ? 'queue' : 'send'),
 *   record: () => {},
 * };
 * ```
 */
export interface SmsDetector {
  /** The current judgement. */
  readonly state: 'up' | 'down';
  /** Decide for one send. */
  admit(): DetectorVerdict;
  /** Report the outcome of a send `admit` let through. */
  record(sample: DetectorSample): void;
  /** Typed events, if the detector has them. */
  readonly events?: EventSource<DetectorEvents>;
}
