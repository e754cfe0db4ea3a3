import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, manualClock } from '../../src/core/index.js';
import { consoleLogger } from '../../src/logger/index.js';
import { captureStream, optionsError } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('consoleLogger json format', () => {
  it('writes one JSON line per entry: time, level, msg, then fields', () => {
    const stream = captureStream();
    const logger = consoleLogger({ stream, clock: manualClock(1_700_000_000_000) });
    logger.info('order placed', { orderId: 42, items: ['a', 'b'] });

    expect(stream.lines).toHaveLength(1);
    expect(stream.lines[0]).toBe(
      '{"time":1700000000000,"level":"info","msg":"order placed","orderId":42,"items":["a","b"]}\n',
    );
  });

  it('writes entries without fields', () => {
    const stream = captureStream();
    consoleLogger({ stream, clock: manualClock(5) }).warn('disk almost full');
    expect(stream.json()).toEqual([{ time: 5, level: 'warn', msg: 'disk almost full' }]);
  });

  it('filters entries below the level (default info)', () => {
    const stream = captureStream();
    const logger = consoleLogger({ stream });
    logger.debug('hidden');
    logger.info('shown');
    logger.warn('shown');
    logger.error('shown');
    expect(stream.json().map((e) => e.level)).toEqual(['info', 'warn', 'error']);
    expect(logger.isLevelEnabled('debug')).toBe(false);
    expect(logger.isLevelEnabled('info')).toBe(true);
  });

  it('writes nothing when silent', () => {
    const stream = captureStream();
    const logger = consoleLogger({ stream, level: 'silent' });
    logger.error('nope');
    expect(stream.lines).toEqual([]);
    expect(logger.isLevelEnabled('error')).toBe(false);
  });

  it('writes debug entries when the level is debug', () => {
    const stream = captureStream();
    const logger = consoleLogger({ stream, level: 'debug' });
    logger.debug('detail', { step: 1 });
    expect(stream.json()[0]).toMatchObject({ level: 'debug', msg: 'detail', step: 1 });
  });

  it('merges child fields, entry fields winning on a clash', () => {
    const stream = captureStream();
    const logger = consoleLogger({ stream }).child({ service: 'orders', region: 'eu' });
    logger.child({ requestId: 'r-1' }).info('hello', { region: 'us', n: 1 });
    expect(stream.json()[0]).toMatchObject({
      service: 'orders',
      requestId: 'r-1',
      region: 'us',
      n: 1,
    });
  });

  it('snapshots child fields so later mutation of the object does not leak in', () => {
    const stream = captureStream();
    const bindings: Record<string, unknown> = { tenant: 'a' };
    const logger = consoleLogger({ stream }).child(bindings);
    bindings.tenant = 'b';
    logger.info('x');
    expect(stream.json()[0]?.tenant).toBe('a');
  });

  it('renames fields that clash with time, level or msg', () => {
    const stream = captureStream();
    consoleLogger({ stream, clock: manualClock(1) }).info('real', {
      msg: 'fake',
      level: 'fake',
      time: 'fake',
    });
    expect(stream.json()[0]).toEqual({
      time: 1,
      level: 'info',
      msg: 'real',
      _msg: 'fake',
      _level: 'fake',
      _time: 'fake',
    });
  });

  it('redacts by default and serialises errors', () => {
    const stream = captureStream();
    consoleLogger({ stream }).error('login failed', {
      user: 'ann',
      password: 'hunter2',
      err: new Error('bad credentials'),
    });
    const entry = stream.json()[0];
    expect(entry?.password).toBe('[REDACTED]');
    expect(entry?.err).toMatchObject({ type: 'Error', message: 'bad credentials' });
  });

  it('keeps secrets when redaction is off', () => {
    const stream = captureStream();
    consoleLogger({ stream, redact: false }).info('x', { password: 'hunter2' });
    expect(stream.json()[0]?.password).toBe('hunter2');
  });

  it('writes BigInt values as strings', () => {
    const stream = captureStream();
    consoleLogger({ stream }).info('big', { n: 12345678901234567890n });
    expect(stream.json()[0]?.n).toBe('12345678901234567890');
  });

  it('treats an Error passed as fields as {err}', () => {
    const stream = captureStream();
    const log = consoleLogger({ stream }).error as (msg: string, fields: unknown) => void;
    log('oops', new TypeError('wrong'));
    expect(stream.json()[0]?.err).toMatchObject({ type: 'TypeError', message: 'wrong' });
  });

  it('rejects non-object child fields', () => {
    const logger = consoleLogger({ stream: captureStream() });
    expect(() => logger.child('nope' as never)).toThrow(InvalidArgumentError);
  });

  it('rejects unknown levels in isLevelEnabled', () => {
    const logger = consoleLogger({ stream: captureStream() });
    expect(() => logger.isLevelEnabled('loud' as never)).toThrow(InvalidArgumentError);
    expect(() => logger.isLevelEnabled('toString' as never)).toThrow(InvalidArgumentError);
  });
});

describe('consoleLogger pretty format', () => {
  it('writes ISO time, padded level, message and key=value pairs on one line', () => {
    const stream = captureStream();
    const logger = consoleLogger({ stream, format: 'pretty', clock: manualClock(0) });
    logger.child({ svc: 'api' }).warn('slow\nrequest', {
      ms: 1200,
      path: '/orders',
      note: 'took a while',
      meta: { a: 1 },
      skipped: undefined,
    });
    expect(stream.lines).toEqual([
      '1970-01-01T00:00:00.000Z WARN  slow\\nrequest svc=api ms=1200 path=/orders note="took a while" meta={"a":1}\n',
    ]);
  });

  it('redacts in pretty format too', () => {
    const stream = captureStream();
    consoleLogger({ stream, format: 'pretty' }).info('x', { token: 'abc' });
    expect(stream.lines[0]).toContain(' token=[REDACTED]');
    expect(stream.lines[0]).not.toContain('abc');
  });
});

describe('consoleLogger under failure', () => {
  it('reports a throwing stream to onError and never throws into the caller', () => {
    const failures: unknown[] = [];
    const broken = new Error('EPIPE');
    const logger = consoleLogger({
      stream: {
        write() {
          throw broken;
        },
      },
      onError: (error) => failures.push(error),
    });
    expect(() => logger.info('a')).not.toThrow();
    logger.info('b');
    expect(failures).toEqual([broken, broken]);
  });

  it('emits one process warning by default for a throwing stream', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const logger = consoleLogger({
      stream: {
        write() {
          throw new Error('EPIPE');
        },
      },
    });
    logger.info('a');
    logger.info('b');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('EPIPE');
  });

  it('swallows an onError handler that throws', () => {
    const logger = consoleLogger({
      stream: {
        write() {
          throw new Error('EPIPE');
        },
      },
      onError: () => {
        throw new Error('handler bug');
      },
    });
    expect(() => logger.error('a')).not.toThrow();
  });

  it('still writes the entry when a field getter throws', () => {
    const stream = captureStream();
    const fields = {
      get broken() {
        throw new Error('getter exploded');
      },
    };
    consoleLogger({ stream }).info('still here', fields);
    const entry = stream.json()[0];
    expect(entry?.msg).toBe('still here');
    expect(entry?.logFailure).toContain('getter exploded');
  });

  it('still writes the entry when toJSON throws during serialisation', () => {
    const stream = captureStream();
    const fields = {
      weird: {
        toJSON() {
          throw new Error('toJSON exploded');
        },
      },
    };
    consoleLogger({ stream }).info('still here', fields);
    const entry = stream.json()[0];
    expect(entry?.msg).toBe('still here');
    expect(entry?.logFailure).toContain('toJSON exploded');
  });
});

describe('consoleLogger options', () => {
  it('rejects an unknown level naming the field', () => {
    const err = optionsError(() => consoleLogger({ level: 'loud' as never }));
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.issues[0]?.path).toBe('level');
  });

  it('rejects an unknown format', () => {
    const err = optionsError(() => consoleLogger({ format: 'xml' as never }));
    expect(err.issues[0]?.path).toBe('format');
  });

  it('rejects a stream without write()', () => {
    const err = optionsError(() => consoleLogger({ stream: {} as never }));
    expect(err.issues[0]?.path).toBe('stream');
  });

  it('rejects a bad clock and a bad onError', () => {
    const err = optionsError(() => consoleLogger({ clock: {} as never, onError: 'x' as never }));
    expect(err.issues.map((i) => i.path)).toEqual(['clock', 'onError']);
  });

  it('rejects unknown options (typos)', () => {
    const err = optionsError(() => consoleLogger({ levle: 'info' } as never));
    expect(err.issues[0]?.message).toContain('levle');
  });

  it('names nested redact fields', () => {
    const err = optionsError(() => consoleLogger({ redact: { mask: 5 as never } }));
    expect(err.issues[0]?.path).toBe('redact.mask');
    const depth = optionsError(() => consoleLogger({ redact: { maxDepth: 0 } }));
    expect(depth.issues[0]?.path).toBe('redact.maxDepth');
  });

  it('rejects a redact option that is neither boolean nor object', () => {
    const err = optionsError(() => consoleLogger({ redact: 'yes' as never }));
    expect(err.issues[0]?.path).toBe('redact');
  });

  it('throws InvalidOptionsError with the matcher form too', () => {
    expect(() => consoleLogger({ level: 'loud' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
