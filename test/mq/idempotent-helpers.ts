// Helpers for the idempotency tests: real ReceivedMessage objects (as a queue hands them
// out) and a redelivery storm driver that behaves like an at-least-once queue: every
// delivery is retried until the handler resolves.
import type { BatchHandler, ReceivedMessage } from '../../src/mq/index.js';

let seq = 0;

export function received(topic: string, key: string, text = key, attempt = 1): ReceivedMessage {
  const value = new TextEncoder().encode(text);
  seq += 1;
  return {
    topic,
    id: String(seq),
    key,
    value,
    text: () => new TextDecoder().decode(value),
    headers: {},
    attempt,
  };
}

/**
 * Deliver each of `keys` `deliveries` times through `consumers` concurrent consumers, as
 * a queue redelivering after timeouts and crashes would: the copies of one key are
 * queued next to each other, so they are in flight at the same time, and a delivery
 * whose handler rejects is queued again at the end (redelivered later). Resolves with the
 * number of rejected deliveries.
 */
export async function redeliveryStorm(
  handler: BatchHandler,
  keys: readonly string[],
  deliveries: number,
  consumers = 40,
  maxFailures = 100_000,
): Promise<number> {
  const queue: { key: string; attempt: number }[] = [];
  for (const key of keys) for (let d = 0; d < deliveries; d++) queue.push({ key, attempt: 1 });
  let failures = 0;
  const consumer = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      try {
        await handler(
          [received('payments', next.key, next.key, next.attempt)],
          new AbortController().signal,
        );
      } catch (error) {
        failures += 1;
        if (failures > maxFailures) throw error;
        queue.push({ key: next.key, attempt: next.attempt + 1 });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  };
  await Promise.all(Array.from({ length: consumers }, consumer));
  return failures;
}
