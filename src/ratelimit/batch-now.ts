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

let reading = -1;
const forget = (): void => {
  reading = -1;
};

/** `Date.now()`, read at most once per microtask checkpoint. */
export function batchNow(): number {
  if (reading < 0) {
    reading = Date.now();
    queueMicrotask(forget);
  }
  return reading;
}
