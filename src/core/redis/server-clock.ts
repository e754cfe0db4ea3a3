// Internal: a lower bound of (Redis server clock - local monotonic clock), learnt from
// TIME probes. A probe sent at local t0 and answered at t1 read server time s somewhere in
// between, so the true offset is at least s - t1. Script deadlines use that lower bound
// minus a skew allowance, so they err early (the script refuses a little before the
// client gives up), never late. On Cluster every master is probed and the smallest bound
// kept, since each node has its own clock.
import type { RedisClient } from './client.js';
import { RedisUnavailableError } from './errors.js';

type Call = RedisClient['call'];

/** Server time in ms from a TIME reply `[seconds, microseconds]`. */
export function serverMs(reply: unknown): number {
  const [seconds, micros] = reply as [string, string];
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

/** The offset estimate of one runner. */
export class ServerClock {
  /** Lower bound of server ms - `performance.now()`; undefined until the first probe answered. */
  offset: number | undefined;
  #probedAt = Number.NEGATIVE_INFINITY;
  #probing: Promise<void> | undefined;

  constructor(
    readonly client: RedisClient,
    readonly timeoutMs: number,
    readonly intervalMs: number,
  ) {}

  /** Whether the estimate is older than the probe interval. */
  stale(now: number): boolean {
    return now - this.#probedAt > this.intervalMs;
  }

  /** Probe now (one probe at a time); rejects with the probe's error. */
  probe(): Promise<void> {
    if (this.#probing === undefined) {
      this.#probing = this.#probeAll().finally(() => {
        this.#probing = undefined;
      });
    }
    return this.#probing;
  }

  async #probeAll(): Promise<void> {
    const client = this.client;
    let nodes: Array<{ call: Call }> = [];
    if (typeof client.nodes === 'function') nodes = client.nodes('master');
    if (nodes.length === 0) nodes = [client];
    const bounds = await Promise.all(nodes.map((node) => this.#probeOne(node.call.bind(node))));
    this.offset = Math.min(...bounds);
    this.#probedAt = performance.now();
  }

  async #probeOne(call: Call): Promise<number> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (this.timeoutMs > 0) {
        timer = setTimeout(
          () =>
            reject(
              new RedisUnavailableError(
                'timeout',
                `redis did not answer the TIME probe within ${this.timeoutMs} ms`,
              ),
            ),
          this.timeoutMs,
        );
      }
    });
    try {
      const reply = await Promise.race([call('TIME'), timeout]);
      return serverMs(reply) - performance.now();
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }
}
