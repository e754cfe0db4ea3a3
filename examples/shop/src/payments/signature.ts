// Callback signatures: HMAC-SHA256 over `<timestamp>.<raw body>` with a shared secret,
// sent as `x-mockpay-timestamp` and `x-mockpay-signature` (hex), like most providers do.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-mockpay-signature';
export const TIMESTAMP_HEADER = 'x-mockpay-timestamp';

export function sign(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * Whether `signature` signs `body` at `timestamp` (seconds) and the timestamp is within
 * `toleranceMs` of `now`, so a captured callback cannot be replayed later.
 */
export function verifySignature(options: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  now: number;
  toleranceMs?: number;
}): boolean {
  const { secret, body, timestamp, signature, now, toleranceMs = 5 * 60_000 } = options;
  if (timestamp === undefined || signature === undefined || !/^\d{1,15}$/.test(timestamp)) {
    return false;
  }
  if (Math.abs(now - Number(timestamp) * 1000) > toleranceMs) return false;
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = Buffer.from(sign(secret, Number(timestamp), body), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
