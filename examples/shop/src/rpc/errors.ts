// Errors across the wire. A service's ShopError travels as a gRPC status (chosen from
// its HTTP status) plus an `x-shop-error` trailer holding {status, code, message,
// details}; the client rebuilds the same ShopError, so the HTTP layer answers exactly as
// it does in-process. Failures of the call itself become the errors the HTTP layer
// already maps: a rate limiter's RESOURCE_EXHAUSTED (it carries `retry-after-ms`) ->
// RateLimitedError (429); UNAVAILABLE, DEADLINE_EXCEEDED and a transport's own
// RESOURCE_EXHAUSTED (a message over the size limit, an HTTP/2 ENHANCE_YOUR_CALM reset)
// -> 503 SERVICE_UNAVAILABLE with the gRPC code and details; UNAUTHENTICATED -> 401.
import { Metadata, type ServiceError, type StatusObject, status } from '@grpc/grpc-js';
import { isGirderError } from 'girder/core';
import { grpcStatusOf } from 'girder/grpc';
import { RateLimitedError } from 'girder/ratelimit';
import { ShopError } from '../errors.js';

/** Trailer carrying a ShopError as JSON. */
export const SHOP_ERROR_TRAILER = 'x-shop-error';

/**
 * The gRPC status of a ShopError's HTTP status. A 503 (a dependency of the service is
 * down: the payment provider) is ABORTED, not UNAVAILABLE: the service itself answered,
 * so the caller's retry and breaker must not count it against the service.
 */
export function statusOfShopError(error: ShopError): status {
  switch (error.status) {
    case 400:
      return status.INVALID_ARGUMENT;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.NOT_FOUND;
    case 409:
      return /_(TAKEN|EXISTS)$/.test(error.code)
        ? status.ALREADY_EXISTS
        : status.FAILED_PRECONDITION;
    case 503:
      return status.ABORTED;
    default:
      return status.UNKNOWN;
  }
}

/** What a handler's failure is sent as. Bugs are INTERNAL with no detail leaked. */
export function statusOfError(error: unknown): Partial<StatusObject> {
  const metadata = new Metadata();
  if (error instanceof ShopError) {
    metadata.set(
      SHOP_ERROR_TRAILER,
      JSON.stringify({
        status: error.status,
        code: error.code,
        message: error.message,
        details: error.details,
      }),
    );
    return { code: statusOfShopError(error), details: error.message, metadata };
  }
  if (isGirderError(error)) return { code: grpcStatusOf(error), details: error.message, metadata };
  return { code: status.INTERNAL, details: 'internal error', metadata };
}

const isServiceError = (error: unknown): error is ServiceError =>
  typeof (error as ServiceError)?.code === 'number' &&
  (error as ServiceError).metadata instanceof Metadata;

/** The error a client call rejects with, rebuilt from the status it ended with. */
export function errorOfStatus(error: unknown): unknown {
  if (!isServiceError(error)) return error;
  const carried = error.metadata.get(SHOP_ERROR_TRAILER)[0];
  if (typeof carried === 'string') {
    try {
      const e = JSON.parse(carried) as {
        status: number;
        code: string;
        message: string;
        details?: Record<string, unknown>;
      };
      return new ShopError(e.status, e.code, e.message, e.details);
    } catch {
      // A malformed trailer: fall through to the status.
    }
  }
  switch (error.code) {
    case status.RESOURCE_EXHAUSTED: {
      const carriedRetry = error.metadata.get('retry-after-ms')[0];
      // Without the limiter's trailer this is grpc-js or HTTP/2 refusing the call, not a
      // quota: a 429 would send the client away for nothing and hide what happened.
      if (carriedRetry === undefined) return unavailable(error);
      const retryAfterMs = Number(carriedRetry) || 1_000;
      return new RateLimitedError(error.details || 'rpc', {
        allowed: false,
        limit: 0,
        remaining: 0,
        resetAfterMs: retryAfterMs,
        retryAfterMs,
        delayMs: 0,
      });
    }
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
      return unavailable(error);
    case status.UNAUTHENTICATED:
      return new ShopError(401, 'UNAUTHORIZED', 'the call carried no valid user token');
    case status.PERMISSION_DENIED:
      return new ShopError(403, 'FORBIDDEN', 'the call is not allowed for this user');
    default:
      return error;
  }
}

/** 503: the call itself failed; its gRPC code and details say how. */
function unavailable(error: ServiceError): ShopError {
  return new ShopError(
    503,
    'SERVICE_UNAVAILABLE',
    'a dependency is unavailable; try again shortly',
    {
      grpcCode: status[error.code],
      grpcDetails: error.details,
    },
  );
}
