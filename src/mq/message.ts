// The one ReceivedMessage implementation every backend hands to handlers.
import type { OutgoingMessage, ReceivedMessage } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** @internal UTF-8 bytes of a payload (strings encoded, bytes kept as they are). */
export function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/**
 * @internal A delivered message. `attempt` grows when the consumer loop retries it in
 * process; `ref` is the backend's own handle (stream id, Kafka offset...).
 */
export class Delivery implements ReceivedMessage {
  constructor(
    readonly topic: string,
    readonly id: string,
    readonly key: string | undefined,
    readonly value: Uint8Array,
    readonly headers: Readonly<Record<string, string>>,
    public attempt: number,
    /** Backend bookkeeping (e.g. the Kafka partition), never shown to handlers. */
    readonly ref?: unknown,
  ) {}

  text(): string {
    return decoder.decode(this.value);
  }
}

/** @internal A deep-enough copy of an outgoing message, so later caller edits change nothing. */
export function snapshotMessage(message: OutgoingMessage): {
  key: string | undefined;
  value: Uint8Array;
  headers: Record<string, string>;
} {
  const { value } = message;
  return {
    key: message.key,
    // A string's encoding is already a fresh array nobody else holds: only caller-owned
    // bytes need the copy.
    value: typeof value === 'string' ? encoder.encode(value) : value.slice(),
    headers: message.headers === undefined ? {} : { ...message.headers },
  };
}
