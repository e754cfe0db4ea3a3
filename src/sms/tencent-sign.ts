// Tencent Cloud API 3.0 signature v3 (TC3-HMAC-SHA256), written from its "Signature v3"
// page:
//   CanonicalRequest = METHOD \n URI \n QUERY \n CanonicalHeaders \n SignedHeaders \n
//                      hex(SHA256(payload)); header names and values lower-cased and
//                      trimmed, sorted by name, each
//                      "name:value\n"; SignedHeaders their names joined by ";".
//   StringToSign = "TC3-HMAC-SHA256" \n timestamp \n date/service/tc3_request \n
//                  hex(SHA256(CanonicalRequest)); date is the UTC date of the timestamp.
//   SecretDate = HMAC("TC3" + SecretKey, date); SecretService = HMAC(SecretDate, service);
//   SecretSigning = HMAC(SecretService, "tc3_request");
//   Signature = hex(HMAC(SecretSigning, StringToSign)).
import { createHash, createHmac } from 'node:crypto';

/** @internal The parts of one signed request. */
export interface Tc3Request {
  readonly method: string;
  readonly uri: string;
  readonly query: string;
  /** Headers to sign, any case (names and values are lower-cased and trimmed). */
  readonly headers: Readonly<Record<string, string>>;
  readonly payload: string;
}

const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data, 'utf8').digest();

/** UTC date `YYYY-MM-DD` of a Unix timestamp in seconds. @internal */
export function tc3Date(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

/** @internal The canonical request and its signed header list. */
export function tc3CanonicalRequest(request: Tc3Request): {
  canonical: string;
  signedHeaders: string;
} {
  const entries = Object.entries(request.headers)
    .map(([name, value]) => [name.toLowerCase(), value.trim().toLowerCase()] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalHeaders = entries.map(([name, value]) => `${name}:${value}\n`).join('');
  const signedHeaders = entries.map(([name]) => name).join(';');
  const canonical = [
    request.method,
    request.uri,
    request.query,
    canonicalHeaders,
    signedHeaders,
    sha256Hex(request.payload),
  ].join('\n');
  return { canonical, signedHeaders };
}

/** @internal The string to sign of a canonical request. */
export function tc3StringToSign(canonical: string, timestamp: number, service: string): string {
  return [
    'TC3-HMAC-SHA256',
    String(timestamp),
    `${tc3Date(timestamp)}/${service}/tc3_request`,
    sha256Hex(canonical),
  ].join('\n');
}

/** @internal Hex signature of a string to sign. */
export function tc3Signature(
  secretKey: string,
  stringToSign: string,
  timestamp: number,
  service: string,
): string {
  const secretDate = hmac(`TC3${secretKey}`, tc3Date(timestamp));
  const secretService = hmac(secretDate, service);
  const secretSigning = hmac(secretService, 'tc3_request');
  return createHmac('sha256', secretSigning).update(stringToSign, 'utf8').digest('hex');
}

/** @internal The `Authorization` header value of a request. */
export function tc3Authorization(
  request: Tc3Request,
  credentials: { readonly secretId: string; readonly secretKey: string },
  timestamp: number,
  service: string,
): string {
  const { canonical, signedHeaders } = tc3CanonicalRequest(request);
  const signature = tc3Signature(
    credentials.secretKey,
    tc3StringToSign(canonical, timestamp, service),
    timestamp,
    service,
  );
  const scope = `${tc3Date(timestamp)}/${service}/tc3_request`;
  return `TC3-HMAC-SHA256 Credential=${credentials.secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}
