import { describe, expect, it } from 'vitest';
import { GirderError, InvalidArgumentError } from '../../src/core/index.js';
import {
  annotate,
  annotationsOf,
  isLogged,
  type Logger,
  logError,
  memoryLogger,
} from '../../src/logger/index.js';

describe('annotate', () => {
  it('returns the same error so it can be thrown', () => {
    const err = new Error('x');
    expect(annotate(err, { a: 1 })).toBe(err);
  });

  it('merges repeated annotations, later values winning', () => {
    const err = new Error('x');
    annotate(err, { orderId: 1, step: 'reserve' });
    annotate(err, { step: 'charge', userId: 'u' });
    expect(annotationsOf(err)).toEqual({ orderId: 1, step: 'charge', userId: 'u' });
  });

  it('does not add enumerable properties to the error', () => {
    const err = annotate(new Error('x'), { a: 1 });
    expect(Object.keys(err)).toEqual([]);
    expect(JSON.stringify({ ...err })).toBe('{}');
  });

  it('works on frozen errors', () => {
    const err = Object.freeze(new Error('frozen'));
    annotate(err, { a: 1 });
    annotate(err, { b: 2 });
    expect(annotationsOf(err)).toEqual({ a: 1, b: 2 });
  });

  it('works on an error frozen after its first annotation', () => {
    const err = annotate(new Error('x'), { a: 1 });
    Object.freeze(err);
    annotate(err, { b: 2 });
    expect(annotationsOf(err)).toEqual({ a: 1, b: 2 });
  });

  it('returns thrown primitives unchanged, with no context', () => {
    expect(annotate('boom', { a: 1 })).toBe('boom');
    expect(annotationsOf('boom')).toEqual({});
    expect(annotate(undefined, { a: 1 })).toBeUndefined();
  });

  it('returns a copy from annotationsOf', () => {
    const err = annotate(new Error('x'), { a: 1 });
    annotationsOf(err).a = 2;
    expect(annotationsOf(err)).toEqual({ a: 1 });
    expect(annotationsOf(new Error('plain'))).toEqual({});
  });

  it('rejects non-object fields', () => {
    expect(() => annotate(new Error('x'), 'orderId=1' as never)).toThrow(InvalidArgumentError);
    expect(() => annotate(new Error('x'), null as never)).toThrow(InvalidArgumentError);
  });
});

describe('logError', () => {
  it('logs the error once at error level with code, context and fields', () => {
    const logger = memoryLogger();
    const err = annotate(new GirderError('OUT_OF_STOCK', 'sku 7 is sold out'), { sku: 7 });
    expect(logError(logger, err, 'order failed', { route: '/orders' })).toBe(true);
    expect(logger.entries).toHaveLength(1);
    const entry = logger.entries[0];
    expect(entry?.level).toBe('error');
    expect(entry?.msg).toBe('order failed');
    expect(entry?.fields).toMatchObject({
      route: '/orders',
      err: { type: 'GirderError', code: 'OUT_OF_STOCK', context: { sku: 7 } },
    });
  });

  it('is a no-op the second time for the same error', () => {
    const logger = memoryLogger();
    const err = new Error('x');
    expect(logError(logger, err)).toBe(true);
    expect(logError(logger, err, 'again')).toBe(false);
    expect(logError(memoryLogger(), err)).toBe(false);
    expect(logger.entries).toHaveLength(1);
    expect(isLogged(err)).toBe(true);
  });

  it('logs a wrapping error even when its cause was logged', () => {
    const logger = memoryLogger();
    const inner = new Error('inner');
    logError(logger, inner);
    const outer = new Error('outer', { cause: inner });
    expect(logError(logger, outer)).toBe(true);
    expect(logger.entries).toHaveLength(2);
  });

  it("defaults the message to the error's message", () => {
    const logger = memoryLogger();
    logError(logger, new Error('db timeout'));
    logError(logger, new Error(''));
    logError(logger, 'plain string');
    expect(logger.entries.map((e) => e.msg)).toEqual(['db timeout', 'Error', 'plain string']);
  });

  it('cannot deduplicate thrown primitives, so logs them every time', () => {
    const logger = memoryLogger();
    logError(logger, 'boom');
    logError(logger, 'boom');
    expect(logger.entries).toHaveLength(2);
    expect(isLogged('boom')).toBe(false);
  });

  it('tracks frozen errors too', () => {
    const logger = memoryLogger();
    const err = Object.freeze(new Error('frozen'));
    expect(logError(logger, err)).toBe(true);
    expect(logError(logger, err)).toBe(false);
    expect(isLogged(err)).toBe(true);
  });

  it('marks the error even when the error level is disabled', () => {
    const logger = memoryLogger({ level: 'silent' });
    const err = new Error('x');
    expect(logError(logger, err)).toBe(true);
    expect(logger.entries).toEqual([]);
    expect(isLogged(err)).toBe(true);
  });

  it('works with any Logger implementation', () => {
    const calls: unknown[][] = [];
    const custom: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (...args) => calls.push(args),
      child: () => custom,
      isLevelEnabled: () => true,
    };
    const err = new Error('x');
    logError(custom, err, 'm', { a: 1 });
    expect(calls).toEqual([['m', { a: 1, err }]]);
  });

  it('rejects something that is not a logger, without marking the error', () => {
    const err = new Error('x');
    expect(() => logError({} as never, err)).toThrow(InvalidArgumentError);
    expect(isLogged(err)).toBe(false);
  });
});
