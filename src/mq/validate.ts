// Runtime checks of producer and consumer arguments, shared by every backend: bad input
// throws InvalidArgumentError before anything is sent or subscribed.
import { InvalidArgumentError } from '../core/index.js';
import type { OutgoingMessage } from './types.js';

/** Longest topic or group name accepted (Kafka's own limit is 249). */
const MAX_NAME = 249;

/** @internal Check a topic or group name. */
export function checkName(value: unknown, argument: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME) {
    throw new InvalidArgumentError(
      argument,
      `must be a non-empty string of at most ${MAX_NAME} characters`,
    );
  }
  if (/[{}\s]/.test(value)) {
    throw new InvalidArgumentError(argument, 'must not contain whitespace, { or }');
  }
  return value;
}

/** @internal Check a `send` batch: an array of `{ key?, value, headers? }`. */
export function checkMessages(value: unknown): readonly OutgoingMessage[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError('messages', 'must be an array');
  value.forEach((m: unknown, i) => {
    const at = `messages[${i}]`;
    if (m === null || typeof m !== 'object')
      throw new InvalidArgumentError(at, 'must be an object');
    const { key, value: payload, headers, ...rest } = m as OutgoingMessage;
    const extra = Object.keys(rest);
    if (extra.length > 0)
      throw new InvalidArgumentError(
        `${at}.${extra[0]}`,
        'is not a message field (key, value, headers)',
      );
    if (key !== undefined && (typeof key !== 'string' || key.length === 0)) {
      throw new InvalidArgumentError(`${at}.key`, 'must be a non-empty string when given');
    }
    if (typeof payload !== 'string' && !(payload instanceof Uint8Array)) {
      throw new InvalidArgumentError(`${at}.value`, 'must be a string or a Uint8Array');
    }
    if (headers !== undefined) {
      if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
        throw new InvalidArgumentError(`${at}.headers`, 'must be an object of strings');
      }
      for (const [name, v] of Object.entries(headers)) {
        if (typeof v !== 'string')
          throw new InvalidArgumentError(`${at}.headers.${name}`, 'must be a string');
      }
    }
  });
  return value as readonly OutgoingMessage[];
}
