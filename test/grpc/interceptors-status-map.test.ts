import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { BrokenCircuitError } from '../../src/breaker/index.js';
import { AbortedError, InvalidArgumentError, TimeoutError } from '../../src/core/index.js';
import { GIRDER_TO_GRPC_STATUS, girderCodeOf, grpcStatusOf } from '../../src/grpc/index.js';
import { AccessDeniedError, TokenExpiredError, TokenMissingError } from '../../src/jwt/index.js';
import { RateLimitedError } from '../../src/ratelimit/index.js';

describe('the girder ↔ gRPC status table', () => {
  it('maps real girder errors to their gRPC statuses', () => {
    const decision = {
      allowed: false,
      limit: 1,
      remaining: 0,
      resetAfterMs: 10,
      retryAfterMs: 10,
      delayMs: 0,
    };
    expect(grpcStatusOf(new RateLimitedError('k', decision))).toBe(status.RESOURCE_EXHAUSTED);
    expect(
      grpcStatusOf(
        new BrokenCircuitError({ breaker: 'b', state: 'open', reason: 'open', retryAfterMs: 5 }),
      ),
    ).toBe(status.UNAVAILABLE);
    expect(grpcStatusOf(new TimeoutError(10))).toBe(status.DEADLINE_EXCEEDED);
    expect(grpcStatusOf(new AbortedError())).toBe(status.CANCELLED);
    expect(grpcStatusOf(new InvalidArgumentError('key', 'must not be empty'))).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(grpcStatusOf(new TokenMissingError())).toBe(status.UNAUTHENTICATED);
    expect(grpcStatusOf(new TokenExpiredError())).toBe(status.UNAUTHENTICATED);
    expect(grpcStatusOf(new AccessDeniedError('u', 'read', 'doc'))).toBe(status.PERMISSION_DENIED);
  });

  it('maps anything else to UNKNOWN', () => {
    expect(grpcStatusOf(new Error('x'))).toBe(status.UNKNOWN);
    expect(grpcStatusOf('nope')).toBe(status.UNKNOWN);
  });

  it('maps statuses back to a girder code that maps forward to the same status', () => {
    expect(girderCodeOf(status.RESOURCE_EXHAUSTED)).toBe('RATE_LIMITED');
    expect(girderCodeOf(status.UNAVAILABLE)).toBe('CIRCUIT_OPEN');
    expect(girderCodeOf(status.DEADLINE_EXCEEDED)).toBe('TIMEOUT');
    expect(girderCodeOf(status.CANCELLED)).toBe('ABORTED');
    expect(girderCodeOf(status.OK)).toBeUndefined();
    for (const code of Object.values(GIRDER_TO_GRPC_STATUS)) {
      const back = girderCodeOf(code);
      expect(back && GIRDER_TO_GRPC_STATUS[back]).toBe(code);
    }
  });
});
