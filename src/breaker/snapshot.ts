// The breaker's snapshot format (`toJSON()` / `restore`) and its validation.
import { z } from 'zod';
import { snapshotMismatch } from './internal.js';
import type { PolicySnapshot, PolicyState } from './policy.js';
import type { BreakerState } from './types.js';

/** The snapshot format this version writes and reads. @internal */
export const SNAPSHOT_VERSION = 2;

/** Serialisable state of a breaker, from `breaker.toJSON()`. */
export interface BreakerSnapshot {
  /**
   * Format version, currently 2. Version 1 snapshots did not record their windows'
   * geometry and are refused.
   */
  readonly version: 2;
  /** The state. An isolated breaker restores isolated (see `Breaker.restoredIsolation`). */
  readonly state: BreakerState;
  /** Clock time at which an open breaker admits a probe (0 otherwise). */
  readonly openUntil: number;
  /** Consecutive trips since the last full recovery (the backoff attempt). */
  readonly trips: number;
  /** Duration of the last open period, ms (the backoff's previous delay). */
  readonly lastOpenMs: number;
  /** Progress of a half-open recovery. */
  readonly halfOpen: {
    /** -1 while probing, else the index of the ramp step. */
    readonly step: number;
    /** Successful probes so far. */
    readonly probeSuccesses: number;
    /** Clock time the current ramp step started. */
    readonly stepStartedAt: number;
    /** Successes on the current ramp step. */
    readonly stepSuccesses: number;
    /** Admission credit of the ramp. */
    readonly credit: number;
  };
  /**
   * State of the policy, with its window's geometry (kind, size or length, bucket
   * width and count) and, for time windows, absolute bucket start times.
   */
  readonly policy: PolicySnapshot;
}

/** @internal */
export const snapshotSchema = z.strictObject({
  version: z.literal(SNAPSHOT_VERSION, {
    error: (issue) =>
      issue.input === 1
        ? 'version 1 snapshots do not record their window geometry and cannot be validated; start fresh'
        : `must be ${SNAPSHOT_VERSION}`,
  }),
  state: z.enum(['closed', 'open', 'half-open', 'isolated']),
  openUntil: z.number().finite(),
  trips: z.number().int().min(0),
  lastOpenMs: z.number().finite().min(0),
  halfOpen: z.strictObject({
    step: z.number().int().min(-1),
    probeSuccesses: z.number().int().min(0),
    stepStartedAt: z.number().finite(),
    stepSuccesses: z.number().int().min(0),
    credit: z.number().finite().min(0),
  }),
  policy: z.looseObject({ kind: z.string() }),
});

/** A validated snapshot. @internal */
export type ParsedSnapshot = z.output<typeof snapshotSchema>;

/** Restore a breaker's policy from `restore.policy`, refusing another policy's snapshot. @internal */
export function restorePolicy(policy: PolicyState, snapshot: ParsedSnapshot['policy']): void {
  const kind = policy.toJSON().kind;
  if (snapshot.kind !== kind) {
    snapshotMismatch(
      'restore.policy.kind',
      `is "${snapshot.kind}" but the breaker is configured with "${kind}"`,
    );
  }
  policy.restore(snapshot as PolicySnapshot, 'restore.policy');
}
