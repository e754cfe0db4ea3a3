import { status } from '@grpc/grpc-js';
import { GirderError } from '../core/index.js';

/**
 * The one table from girder error codes to gRPC status codes. Codes not listed map to
 * `UNKNOWN`. The reverse direction ({@link girderCodeOf}) uses the first row of each status.
 *
 * @example
 * ```ts
 * import { GIRDER_TO_GRPC_STATUS } from 'girder/grpc';
 *
 * GIRDER_TO_GRPC_STATUS.RATE_LIMITED; // status.RESOURCE_EXHAUSTED (8)
 * ```
 */
export const GIRDER_TO_GRPC_STATUS: Readonly<Record<string, status>> = Object.freeze({
  RATE_LIMITED: status.RESOURCE_EXHAUSTED,
  CIRCUIT_OPEN: status.UNAVAILABLE,
  TIMEOUT: status.DEADLINE_EXCEEDED,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  INVALID_OPTIONS: status.INVALID_ARGUMENT,
  ABORTED: status.CANCELLED,
  TOKEN_MISSING: status.UNAUTHENTICATED,
  TOKEN_INVALID: status.UNAUTHENTICATED,
  TOKEN_EXPIRED: status.UNAUTHENTICATED,
  TOKEN_NOT_YET_VALID: status.UNAUTHENTICATED,
  TOKEN_ALGORITHM: status.UNAUTHENTICATED,
  TOKEN_TYPE: status.UNAUTHENTICATED,
  TOKEN_CLAIM_INVALID: status.UNAUTHENTICATED,
  SESSION_REVOKED: status.UNAUTHENTICATED,
  REFRESH_TOKEN_REUSED: status.UNAUTHENTICATED,
  USER_AGENT_MISMATCH: status.UNAUTHENTICATED,
  LOGIN_FAILED: status.UNAUTHENTICATED,
  SUBJECT_BANNED: status.PERMISSION_DENIED,
  ACCESS_DENIED: status.PERMISSION_DENIED,
  SESSION_STORE_UNAVAILABLE: status.UNAVAILABLE,
  STORE_UNAVAILABLE: status.UNAVAILABLE,
  STORE_CLOSED: status.UNAVAILABLE,
  NO_INSTANCE: status.UNAVAILABLE,
  ALL_TARGETS_FAILED: status.UNAVAILABLE,
  LOCK_TIMEOUT: status.DEADLINE_EXCEEDED,
  CACHE_TIMEOUT: status.DEADLINE_EXCEEDED,
});

const GRPC_TO_GIRDER: ReadonlyMap<status, string> = (() => {
  const reverse = new Map<status, string>();
  for (const [code, grpcStatus] of Object.entries(GIRDER_TO_GRPC_STATUS)) {
    if (!reverse.has(grpcStatus)) reverse.set(grpcStatus, code);
  }
  return reverse;
})();

/**
 * The gRPC status for an error: the table row for a {@link GirderError}'s code,
 * `UNKNOWN` for anything else.
 *
 * @example
 * ```ts
 * import { grpcStatusOf } from 'girder/grpc';
 *
 * grpcStatusOf(new RateLimitedError('user:1', decision)); // status.RESOURCE_EXHAUSTED
 * ```
 */
export function grpcStatusOf(error: unknown): status {
  if (error instanceof GirderError) return GIRDER_TO_GRPC_STATUS[error.code] ?? status.UNKNOWN;
  return status.UNKNOWN;
}

/**
 * The girder code a gRPC status stands for (the first table row with that status:
 * `RESOURCE_EXHAUSTED` → `RATE_LIMITED`, `UNAVAILABLE` → `CIRCUIT_OPEN`,
 * `DEADLINE_EXCEEDED` → `TIMEOUT`, `CANCELLED` → `ABORTED`...), or `undefined` when none.
 *
 * @example
 * ```ts
 * import { status } from '@grpc/grpc-js';
 * import { girderCodeOf } from 'girder/grpc';
 *
 * girderCodeOf(status.DEADLINE_EXCEEDED); // 'TIMEOUT'
 * ```
 */
export function girderCodeOf(code: status): string | undefined {
  return GRPC_TO_GIRDER.get(code);
}
