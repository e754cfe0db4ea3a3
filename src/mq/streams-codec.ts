// How a message is stored in a Redis stream entry, and the script that appends a batch.
//
// Fields: `v` the payload when it is valid UTF-8 (the common case, readable in
// redis-cli), else `b` the payload in base64 (ioredis' `call` answers strings, which
// would mangle arbitrary bytes); `k` the key when given; `h` the headers as JSON when any.
import { redisScript } from '../core/index.js';
import type { StoredMessage } from './base-queue.js';
import { Delivery, toBytes } from './message.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * @internal XADD every message of one send in one round trip, so a send is all or
 * nothing. KEYS[1] the stream; ARGV[1] MAXLEN (0: no trim), then per message the field
 * count and that many field/value strings. Replies with the number of entries added.
 */
export const APPEND = redisScript(`local maxLen = tonumber(ARGV[1])
local i, n = 2, 0
while i <= #ARGV do
  local count = tonumber(ARGV[i])
  local fields = {}
  for j = 1, count do fields[j] = ARGV[i + j] end
  if maxLen > 0 then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', maxLen, '*', unpack(fields))
  else
    redis.call('XADD', KEYS[1], '*', unpack(fields))
  end
  i = i + count + 1
  n = n + 1
end
return n`);

/** @internal The APPEND arguments of one message: field count, then fields. */
export function encodeEntry(message: StoredMessage, out: (string | number)[]): void {
  // Pushed straight into `out` (no per-message field array): the count goes first and
  // is filled in once the fields are known.
  const at = out.length;
  out.push(2);
  let text: string | undefined;
  try {
    text = strictUtf8.decode(message.value);
  } catch {
    text = undefined;
  }
  if (text === undefined) out.push('b', Buffer.from(message.value).toString('base64'));
  else out.push('v', text);
  let count = 2;
  if (message.key !== undefined) {
    out.push('k', message.key);
    count += 2;
  }
  for (const _ in message.headers) {
    out.push('h', JSON.stringify(message.headers));
    count += 2;
    break;
  }
  out[at] = count;
}

/** @internal A stream entry `[id, [field, value, ...]]` as a delivery. */
export function decodeEntry(topic: string, entry: unknown, attempt: number): Delivery | undefined {
  if (!Array.isArray(entry) || !Array.isArray(entry[1])) return undefined; // deleted entry
  const id = String(entry[0]);
  const fields = entry[1] as string[];
  let value: Uint8Array = new Uint8Array(0);
  let key: string | undefined;
  let headers: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i];
    const v = fields[i + 1]!;
    if (name === 'v') value = toBytes(v);
    else if (name === 'b') value = new Uint8Array(Buffer.from(v, 'base64'));
    else if (name === 'k') key = v;
    else if (name === 'h') headers = JSON.parse(v) as Record<string, string>;
  }
  return new Delivery(topic, id, key, value, headers, attempt, id);
}
