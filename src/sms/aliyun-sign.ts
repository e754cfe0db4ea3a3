// Alibaba Cloud's RPC request signature (SignatureVersion 1.0, HMAC-SHA1), written from
// the "Signature mechanism" page of its API docs:
//   1. percent-encode every parameter name and value (RFC 3986 unreserved characters
//      stay; space is %20, never +; `*` is %2A; `~` stays);
//   2. sort by encoded name and join as name=value with &: the canonicalized query;
//   3. StringToSign = METHOD & percentEncode("/") & percentEncode(canonicalized query);
//   4. Signature = Base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign)).
import { createHmac } from 'node:crypto';

/**
 * Alibaba Cloud's percent-encoding: `encodeURIComponent`, then the characters it leaves
 * but RFC 3986 reserves (`!'()*`) encoded too.
 *
 * @internal
 */
export function aliyunPercentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The canonicalized query of `params` (without `Signature`). @internal */
export function aliyunCanonicalQuery(params: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(params)
    .filter((key) => key !== 'Signature')
    .map((key) => [aliyunPercentEncode(key), aliyunPercentEncode(params[key] as string)] as const);
  // Byte order of the encoded names (ASCII), as the docs' "dictionary order" means.
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

/** The string to sign for `method` (`GET` or `POST`). @internal */
export function aliyunStringToSign(
  method: string,
  params: Readonly<Record<string, string>>,
): string {
  return `${method}&${aliyunPercentEncode('/')}&${aliyunPercentEncode(aliyunCanonicalQuery(params))}`;
}

/** Base64 HMAC-SHA1 of the string to sign, keyed with `secret + '&'`. @internal */
export function aliyunSignature(
  method: string,
  params: Readonly<Record<string, string>>,
  accessKeySecret: string,
): string {
  return createHmac('sha1', `${accessKeySecret}&`)
    .update(aliyunStringToSign(method, params), 'utf8')
    .digest('base64');
}
