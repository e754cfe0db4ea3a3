import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GirderError, InvalidArgumentError } from '../../src/core/index.js';
import { annotate, type PinoLike, pinoLogger } from '../../src/logger/index.js';
import { captureStream, optionsError } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

function setup(options: pino.LoggerOptions = {}) {
  const stream = captureStream();
  const instance = pino({ level: 'debug', base: undefined, timestamp: false, ...options }, stream);
  return { stream, instance };
}

describe('pinoLogger', () => {
  it('maps (msg, fields) to pino (fields, msg)', () => {
    const { stream, instance } = setup();
    pinoLogger(instance).info('order placed', { orderId: 42 });
    expect(stream.json()).toEqual([{ level: 30, orderId: 42, msg: 'order placed' }]);
  });

  it('logs a message without fields', () => {
    const { stream, instance } = setup();
    pinoLogger(instance).warn('plain');
    expect(stream.json()).toEqual([{ level: 40, msg: 'plain' }]);
  });

  it('maps every level to the pino level', () => {
    const { stream, instance } = setup();
    const logger = pinoLogger(instance);
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(stream.json().map((e) => e.level)).toEqual([20, 30, 40, 50]);
  });

  it("follows the instance's level and skips redaction work for disabled levels", () => {
    const { stream, instance } = setup({ level: 'warn' });
    const logger = pinoLogger(instance);
    const getter = vi.fn(() => 'value');
    const fields = {
      get expensive() {
        return getter();
      },
    };
    logger.info('dropped', fields);
    expect(getter).not.toHaveBeenCalled();
    expect(stream.lines).toEqual([]);
    expect(logger.isLevelEnabled('info')).toBe(false);
    expect(logger.isLevelEnabled('warn')).toBe(true);
    instance.level = 'debug';
    expect(logger.isLevelEnabled('debug')).toBe(true);
  });

  it('maps children to pino children with redacted bindings', () => {
    const { stream, instance } = setup();
    const logger = pinoLogger(instance).child({ service: 'orders', apiKey: 'k-1' });
    logger.child({ requestId: 'r-1' }).info('hello', { n: 1 });
    expect(stream.json()).toEqual([
      { level: 30, service: 'orders', apiKey: '[REDACTED]', requestId: 'r-1', n: 1, msg: 'hello' },
    ]);
  });

  it("applies girder's redaction before pino sees the fields, and does not mutate them", () => {
    const { stream, instance } = setup();
    const fields = { user: { password: 'hunter2', mobile: '13812345678' } };
    pinoLogger(instance).info('signup', fields);
    expect(stream.json()[0]?.user).toEqual({ password: '[REDACTED]', mobile: '138****5678' });
    expect(fields.user.password).toBe('hunter2');
  });

  it("keeps pino's own redact option working after girder's", () => {
    const { stream, instance } = setup({ redact: ['card.number'] });
    pinoLogger(instance).info('pay', { card: { number: '4111111111111111' }, token: 't' });
    expect(stream.json()[0]).toMatchObject({
      card: { number: '[Redacted]' },
      token: '[REDACTED]',
    });
  });

  it('can turn girder redaction off', () => {
    const { stream, instance } = setup();
    pinoLogger(instance, { redact: false }).info('x', { token: 't' });
    expect(stream.json()[0]?.token).toBe('t');
  });

  it('serialises errors with type, code, context and cause, untouched by pino', () => {
    const { stream, instance } = setup();
    const cause = new Error('connect ECONNREFUSED');
    const err = annotate(new GirderError('PAYMENT_FAILED', 'payment failed', { cause }), {
      orderId: 7,
    });
    pinoLogger(instance).error('checkout failed', { err });
    const logged = stream.json()[0]?.err as Record<string, unknown>;
    expect(logged).toMatchObject({
      type: 'GirderError',
      message: 'payment failed',
      code: 'PAYMENT_FAILED',
      context: { orderId: 7 },
      cause: { type: 'Error', message: 'connect ECONNREFUSED' },
    });
    expect(logged.stack).toContain('payment failed');
  });

  it('accepts a Fastify-style logger without isLevelEnabled', () => {
    const { stream, instance } = setup();
    const fastifyLike: PinoLike = {
      debug: instance.debug.bind(instance),
      info: instance.info.bind(instance),
      warn: instance.warn.bind(instance),
      error: instance.error.bind(instance),
      child: (bindings, options) => instance.child(bindings, options),
    };
    const logger = pinoLogger(fastifyLike);
    expect(logger.isLevelEnabled('debug')).toBe(true);
    logger.info('ok', { a: 1 });
    expect(stream.json()).toEqual([{ level: 30, a: 1, msg: 'ok' }]);
  });

  it('reports a throwing destination to onError instead of throwing', () => {
    const failures: unknown[] = [];
    const instance = pino(
      { base: undefined },
      {
        write() {
          throw new Error('disk full');
        },
      },
    );
    const logger = pinoLogger(instance, { onError: (error) => failures.push(error) });
    expect(() => logger.info('x')).not.toThrow();
    expect(failures).toHaveLength(1);
    expect(String(failures[0])).toContain('disk full');
  });

  it('emits a single process warning by default for a throwing destination', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const instance = pino(
      { base: undefined },
      {
        write() {
          throw new Error('disk full');
        },
      },
    );
    const logger = pinoLogger(instance);
    logger.info('x');
    logger.error('y');
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('writes a logFailure note when fields cannot be read', () => {
    const { stream, instance } = setup();
    pinoLogger(instance).info('still here', {
      get broken() {
        throw new Error('getter exploded');
      },
    });
    const entry = stream.json()[0];
    expect(entry?.msg).toBe('still here');
    expect(entry?.logFailure).toContain('getter exploded');
  });

  it('rejects something that is not a pino logger', () => {
    expect(() => pinoLogger({} as never)).toThrow(InvalidArgumentError);
    expect(() => pinoLogger(null as never)).toThrow(InvalidArgumentError);
  });

  it('rejects bad options naming the field', () => {
    const { instance } = setup();
    const err = optionsError(() => pinoLogger(instance, { redact: { keys: [''] } }));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.issues[0]?.path).toBe('redact.keys.0');
    expect(optionsError(() => pinoLogger(instance, { onError: 1 as never })).issues[0]?.path).toBe(
      'onError',
    );
  });

  it('rejects bad child fields and unknown levels', () => {
    const { instance } = setup();
    const logger = pinoLogger(instance);
    expect(() => logger.child([] as never)).toThrow(InvalidArgumentError);
    expect(() => logger.isLevelEnabled('trace' as never)).toThrow(InvalidArgumentError);
  });
});
