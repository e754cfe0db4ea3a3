import { describe, expect, it } from 'vitest';
import {
  GirderError,
  InvalidArgumentError,
  InvalidOptionsError,
  TimeoutError,
} from '../../src/core/index.js';
import { annotate, serializeError } from '../../src/logger/index.js';
import { optionsError } from './helpers.js';

describe('serializeError', () => {
  it('writes type, message and stack of a plain error', () => {
    const err = new TypeError('not a number');
    const out = serializeError(err);
    expect(out.type).toBe('TypeError');
    expect(out.message).toBe('not a number');
    expect(out.stack).toBe(err.stack);
    expect(out.code).toBeUndefined();
  });

  it('uses the subclass name when name was not set', () => {
    class PaymentDeclined extends Error {}
    expect(serializeError(new PaymentDeclined('no')).type).toBe('PaymentDeclined');
  });

  it('uses a custom name on a plain Error', () => {
    const err = new Error('bad');
    err.name = 'ValidationError';
    expect(serializeError(err).type).toBe('ValidationError');
  });

  it("includes a GirderError's code and own fields, but not a duplicate name", () => {
    const out = serializeError(new InvalidArgumentError('key', 'must not be empty'));
    expect(out).toMatchObject({
      type: 'InvalidArgumentError',
      code: 'INVALID_ARGUMENT',
      argument: 'key',
      message: 'invalid key: must not be empty',
    });
    expect(out).not.toHaveProperty('name');

    const timeout = serializeError(new TimeoutError(500));
    expect(timeout).toMatchObject({ code: 'TIMEOUT', timeoutMs: 500 });

    const invalid = serializeError(new InvalidOptionsError('x', [{ path: 'a', message: 'bad' }]));
    expect(invalid.issues).toEqual([{ path: 'a', message: 'bad' }]);
  });

  it("keeps Node's system error fields", () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
    });
    expect(serializeError(err)).toMatchObject({
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
    });
  });

  it('serialises the whole cause chain', () => {
    const root = new Error('socket hang up');
    const middle = new GirderError('UPSTREAM', 'inventory call failed', { cause: root });
    const top = new Error('order failed', { cause: middle });
    const out = serializeError(top);
    expect(out).toMatchObject({
      type: 'Error',
      message: 'order failed',
      cause: {
        type: 'GirderError',
        code: 'UPSTREAM',
        message: 'inventory call failed',
        cause: { type: 'Error', message: 'socket hang up' },
      },
    });
  });

  it('keeps a non-error cause as a value', () => {
    expect(serializeError(new Error('x', { cause: { status: 503 } })).cause).toEqual({
      status: 503,
    });
  });

  it('breaks cyclic cause chains', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    const out = serializeError(a);
    expect(out.cause).toMatchObject({ message: 'b', cause: '[Circular]' });
    expect(() => JSON.stringify(out)).not.toThrow();
  });

  it('bounds a very long cause chain by maxDepth', () => {
    let err = new Error('root');
    for (let i = 0; i < 1_000; i++) err = new Error(`level ${i}`, { cause: err });
    let out: unknown = serializeError(err, { maxDepth: 3 });
    let levels = 0;
    while (typeof out === 'object' && out !== null) {
      out = (out as { cause?: unknown }).cause;
      levels++;
    }
    expect(out).toBe('[Truncated]');
    expect(levels).toBe(3);
  });

  it('includes the inner errors of an AggregateError', () => {
    const out = serializeError(
      new AggregateError([new Error('a'), new RangeError('b')], 'all failed'),
    );
    expect(out.type).toBe('AggregateError');
    expect(out.errors).toMatchObject([
      { type: 'Error', message: 'a' },
      { type: 'RangeError', message: 'b' },
    ]);
  });

  it('includes annotations as context', () => {
    const err = annotate(new Error('x'), { orderId: 1 });
    expect(serializeError(err).context).toEqual({ orderId: 1 });
  });

  it('does not redact', () => {
    const err = Object.assign(new Error('x'), { password: 'p' });
    expect(serializeError(err).password).toBe('p');
  });

  it('describes thrown non-errors', () => {
    expect(serializeError('boom')).toEqual({ type: 'NonError', message: 'boom', value: 'boom' });
    expect(serializeError({ status: 500 })).toEqual({
      type: 'NonError',
      message: '[object Object]',
      value: { status: 500 },
    });
    const bare = Object.create(null) as object;
    expect(serializeError(bare).message).toBe('[object Object]');
  });

  it('rejects a bad maxDepth', () => {
    const err = optionsError(() => serializeError(new Error('x'), { maxDepth: 0 }));
    expect(err.issues[0]?.path).toBe('maxDepth');
  });
});
