import { checkSignal, InvalidArgumentError } from '../core/index.js';

/** Claims girder sets itself; `issue(..., {claims})` may not use these names. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'ssid',
  'uah',
  'sxp',
]);

/**
 * The claims given to `issue` or `refresh` would make a token longer than
 * `maxTokenLength`, which `verifyAccess` and `refresh` would then refuse. Nothing was
 * created or rotated. Code `INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { ClaimsTooLargeError } from 'girder/jwt';
 *
 * await tokens.issue('u-1', { claims: { blob: 'x'.repeat(10_000) } }).catch(
 *   (err) => err instanceof ClaimsTooLargeError, // true
 * );
 * ```
 */
export class ClaimsTooLargeError extends InvalidArgumentError {
  /** Length of the token the claims would have made, characters. */
  readonly length: number;
  /** The service's `maxTokenLength`. */
  readonly limit: number;

  constructor(length: number, limit: number) {
    super('claims', `would make a ${length}-character token; tokens are limited to ${limit}`);
    this.length = length;
    this.limit = limit;
  }
}

/**
 * A plain object that survives JSON, copied through it (a BigInt or a cycle is refused
 * with `INVALID_ARGUMENT` naming `argument`), so later mutation of the caller's object
 * changes nothing.
 *
 * @internal
 */
export function checkJsonObject(argument: string, value: unknown): Record<string, unknown> {
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null)
  ) {
    throw new InvalidArgumentError(argument, 'must be a plain object');
  }
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new InvalidArgumentError(argument, 'must be JSON-serialisable (no BigInt, no cycles)', {
      cause: err,
    });
  }
  return JSON.parse(json) as Record<string, unknown>;
}

/**
 * Your claims, checked and copied through JSON before anything is written: a plain
 * object, no registered names, serialisable (a BigInt or a cycle is refused with
 * `INVALID_ARGUMENT`).
 *
 * @internal
 */
export function checkClaims(claims: unknown): Record<string, unknown> {
  if (claims === undefined) return {};
  const copy = checkJsonObject('claims', claims);
  for (const name of Object.keys(copy)) {
    if (RESERVED_CLAIMS.has(name)) {
      throw new InvalidArgumentError('claims', `"${name}" is set by girder and cannot be given`);
    }
  }
  return copy;
}

/** The options object of a call: `undefined` or a plain object, with `userAgent` and `signal` checked. */
export interface CallOptions {
  readonly userAgent?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly claims?: unknown;
  readonly ttlMs?: unknown;
}

/**
 * `undefined` → `{}`; anything but an object → `INVALID_ARGUMENT`; a non-string
 * `userAgent` or a non-`AbortSignal` `signal` → `INVALID_ARGUMENT`.
 *
 * @internal
 */
export function checkCallOptions<T extends CallOptions>(value: unknown): T {
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError('options', 'must be an object or undefined');
  }
  const o = value as CallOptions;
  if (o.userAgent !== undefined && typeof o.userAgent !== 'string') {
    throw new InvalidArgumentError('options.userAgent', 'must be a string or undefined');
  }
  checkSignal(o.signal, 'options.signal');
  return value as T;
}
