// The part of autocannon's API the shop bench uses (autocannon ships no types).
declare module 'autocannon' {
  interface Options {
    url: string;
    connections?: number;
    amount?: number;
    duration?: number;
    /** Sampling interval, ms: a run with `amount` ends at the first sample after its last answer. */
    sampleInt?: number;
  }
  interface Result {
    non2xx: number;
    errors: number;
    latency: { p50: number; p99: number; average: number };
    requests: { average: number };
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
