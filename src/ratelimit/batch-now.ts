// Internal: one reading of the system clock shared by every memory decision made in the
// same microtask checkpoint.
//
// Why: on some hosts (VMs without a vDSO clock) Date.now() is a system call costing more
// than the rest of a memory decision; under concurrency (hundreds of requests resolving
// in one checkpoint) it dominated the hot path. Decisions made in one run of the
// microtask queue are, for a rate limiter, simultaneous: the reading is at most as old as
// the synchronous work done since the checkpoint began, and the next checkpoint reads
// the clock afresh. Only `systemClock` is read this way; injected clocks (tests'
// `manualClock`) are read on every decision.

// Scheduling the "forget" microtask costs about as much as a clock read, so it only pays
// when other decisions share the reading. A reading nobody shared (one decision per
// checkpoint: sequential callers) switches caching off for the next SKIP decisions,
// which then read the clock directly; a shared one keeps it on.
const SKIP = 256;
let reading = -1;
let shared = false;
let skip = 0;
const forget = (): void => {
  reading = -1;
  if (!shared) skip = SKIP;
};

/** `Date.now()`, read at most once per microtask checkpoint when decisions cluster. */
export function batchNow(): number {
  if (reading >= 0) {
    shared = true;
    return reading;
  }
  if (skip > 0) {
    skip--;
    return Date.now();
  }
  reading = Date.now();
  shared = false;
  queueMicrotask(forget);
  return reading;
}
