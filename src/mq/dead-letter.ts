// What a dead-lettered message carries: the original payload, key and headers, plus
// x-girder-* headers saying where it came from and why it failed.
import type { Delivery } from './message.js';
import type { OutgoingMessage } from './types.js';

/**
 * Header names the queue adds to a dead-lettered message.
 *
 * @example
 * ```ts
 * import { DEAD_LETTER_HEADERS } from 'girder/mq';
 *
 * await queue.consumer.consume('orders.dlq', async (batch) => {
 *   for (const m of batch) console.log(m.headers[DEAD_LETTER_HEADERS.error]);
 * }, { group: 'ops' });
 * ```
 */
export const DEAD_LETTER_HEADERS = {
  /** The last error's message (at most 1 000 characters). */
  error: 'x-girder-error',
  /** The last error's name (`TypeError`, a GirderError subclass...). */
  errorName: 'x-girder-error-name',
  /** Attempts made, as a decimal string. */
  attempts: 'x-girder-attempts',
  /** The topic the message was read from. */
  originalTopic: 'x-girder-original-topic',
  /** Its backend id there. */
  originalId: 'x-girder-original-id',
  /** The consumer group that gave up on it. */
  group: 'x-girder-group',
  /** When it was dead-lettered, ISO 8601. */
  failedAt: 'x-girder-failed-at',
} as const;

const MAX_ERROR_TEXT = 1_000;

function describe(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: typeof error, message: String(error) };
}

/** @internal The dead-letter copy of `message`. */
export function deadLetterOf(
  message: Delivery,
  group: string,
  error: unknown,
  now: number,
): OutgoingMessage {
  const { name, message: text } = describe(error);
  const headers: Record<string, string> = {
    ...message.headers,
    [DEAD_LETTER_HEADERS.error]: text.slice(0, MAX_ERROR_TEXT),
    [DEAD_LETTER_HEADERS.errorName]: name,
    [DEAD_LETTER_HEADERS.attempts]: String(message.attempt),
    [DEAD_LETTER_HEADERS.originalTopic]: message.topic,
    [DEAD_LETTER_HEADERS.originalId]: message.id,
    [DEAD_LETTER_HEADERS.group]: group,
    [DEAD_LETTER_HEADERS.failedAt]: new Date(now).toISOString(),
  };
  return message.key === undefined
    ? { value: message.value, headers }
    : { key: message.key, value: message.value, headers };
}
