import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, manualClock } from '../../src/core/index.js';
import { memoryLogger } from '../../src/logger/index.js';
import { optionsError } from './helpers.js';

describe('memoryLogger', () => {
  it('records every entry with time, level, msg and fields', () => {
    const clock = manualClock(100);
    const logger = memoryLogger({ clock });
    logger.debug('a', { n: 1 });
    clock.advance(5);
    logger.error('b');
    expect(logger.entries).toEqual([
      { time: 100, level: 'debug', msg: 'a', fields: { n: 1 } },
      { time: 105, level: 'error', msg: 'b', fields: {} },
    ]);
  });

  it('shares entries between a logger and its children, merging child fields', () => {
    const logger = memoryLogger();
    const child = logger.child({ job: 'sync' });
    child.child({ attempt: 1 }).warn('retrying', { attempt: 2 });
    logger.info('done');
    expect(child.entries).toBe(logger.entries);
    expect(logger.entries.map((e) => [e.msg, e.fields])).toEqual([
      ['retrying', { job: 'sync', attempt: 2 }],
      ['done', {}],
    ]);
  });

  it('clear() empties the shared list', () => {
    const logger = memoryLogger();
    const child = logger.child({ a: 1 });
    child.info('x');
    child.clear();
    expect(logger.entries).toEqual([]);
    logger.info('y');
    expect(child.entries).toHaveLength(1);
  });

  it('filters by level', () => {
    const logger = memoryLogger({ level: 'warn' });
    logger.info('no');
    logger.warn('yes');
    expect(logger.entries.map((e) => e.msg)).toEqual(['yes']);
    expect(logger.isLevelEnabled('info')).toBe(false);
    expect(logger.isLevelEnabled('error')).toBe(true);
  });

  it('redacts by default, like production adapters', () => {
    const logger = memoryLogger();
    logger.child({ authorization: 'Bearer x' }).info('login', { phone: '13812345678' });
    expect(logger.entries[0]?.fields).toEqual({
      authorization: '[REDACTED]',
      phone: '138****5678',
    });
  });

  it('can record raw fields with redact: false', () => {
    const logger = memoryLogger({ redact: false });
    logger.info('login', { password: 'p' });
    expect(logger.entries[0]?.fields).toEqual({ password: 'p' });
  });

  it('stores a fresh fields object, not the caller-owned one', () => {
    const logger = memoryLogger();
    const fields = { n: 1 };
    logger.info('x', fields);
    fields.n = 2;
    expect(logger.entries[0]?.fields).toEqual({ n: 1 });
  });

  it('serialises errors in fields', () => {
    const logger = memoryLogger();
    logger.error('failed', { err: new RangeError('too big') });
    expect(logger.entries[0]?.fields.err).toMatchObject({ type: 'RangeError', message: 'too big' });
  });

  it('rejects unknown levels and bad child fields', () => {
    const logger = memoryLogger();
    expect(() => logger.isLevelEnabled('verbose' as never)).toThrow(InvalidArgumentError);
    expect(() => logger.child(null as never)).toThrow(InvalidArgumentError);
  });

  it('rejects bad options naming the field', () => {
    expect(optionsError(() => memoryLogger({ level: 'all' as never })).issues[0]?.path).toBe(
      'level',
    );
    expect(optionsError(() => memoryLogger({ clock: 1 as never })).issues[0]?.path).toBe('clock');
  });
});
