import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  AbortedError,
  GirderError,
  InvalidArgumentError,
  InvalidOptionsError,
  isGirderError,
  parseOptions,
  TimeoutError,
} from '../../src/core/index.js';

describe('GirderError', () => {
  it('keeps code, message, cause and a subclass name', () => {
    const cause = new Error('socket hang up');
    const err = new GirderError('DOWNSTREAM', 'call failed', { cause });
    expect(err.code).toBe('DOWNSTREAM');
    expect(err.message).toBe('call failed');
    expect(err.cause).toBe(cause);
    expect(err.name).toBe('GirderError');
    expect(err).toBeInstanceOf(Error);
    expect(new TimeoutError(5).name).toBe('TimeoutError');
  });

  it('has stable codes for the shared subclasses', () => {
    expect(new InvalidArgumentError('key', 'must not be empty').code).toBe('INVALID_ARGUMENT');
    expect(new AbortedError().code).toBe('ABORTED');
    expect(new TimeoutError(100).code).toBe('TIMEOUT');
    expect(new TimeoutError(100).timeoutMs).toBe(100);
    expect(new InvalidArgumentError('cost', 'must be >= 0').argument).toBe('cost');
  });

  it('omits cause when none is given', () => {
    expect('cause' in new GirderError('X', 'x')).toBe(false);
  });

  it('isGirderError matches class and optional code', () => {
    const err = new InvalidArgumentError('key', 'empty');
    expect(isGirderError(err)).toBe(true);
    expect(isGirderError(err, 'INVALID_ARGUMENT')).toBe(true);
    expect(isGirderError(err, 'TIMEOUT')).toBe(false);
    expect(isGirderError(new Error('plain'))).toBe(false);
    expect(isGirderError(undefined)).toBe(false);
  });
});

describe('parseOptions', () => {
  const schema = z.object({
    limit: z.number().int().positive(),
    windowMs: z.number().min(1).default(1000),
    nested: z.object({ ratio: z.number().max(1) }).optional(),
  });

  it('returns parsed options with defaults applied', () => {
    expect(parseOptions('limiter', schema, { limit: 3 })).toEqual({ limit: 3, windowMs: 1000 });
  });

  it('lists every bad field with its path', () => {
    let caught: unknown;
    try {
      parseOptions('limiter', schema, { limit: -1, windowMs: 0, nested: { ratio: 2 } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidOptionsError);
    const err = caught as InvalidOptionsError;
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.issues.map((i) => i.path)).toEqual(['limit', 'windowMs', 'nested.ratio']);
    expect(err.message).toMatch(/^invalid limiter options: limit: /);
  });

  it('reports a non-object input at the root', () => {
    try {
      parseOptions('limiter', schema, 42);
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidOptionsError).issues[0]?.path).toBe('');
      expect((err as Error).message).toContain('(root)');
    }
  });
});
