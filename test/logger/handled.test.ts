import { afterEach, describe, expect, it, vi } from 'vitest';
import { GirderError, InvalidArgumentError, isGirderError } from '../../src/core/index.js';
import { annotate, handled, isLogged, logError, memoryLogger } from '../../src/logger/index.js';
import { optionsError } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

interface Request {
  method: string;
  url: string;
  params: { id: string };
}

const request: Request = { method: 'GET', url: '/orders/7', params: { id: '7' } };

describe('handled', () => {
  it('passes arguments through and returns the result when nothing fails', async () => {
    const logger = memoryLogger();
    const handler = handled(async (req: Request, n: number) => `${req.params.id}:${n}`, {
      logger,
    });
    await expect(handler(request, 3)).resolves.toBe('7:3');
    expect(logger.entries).toEqual([]);
  });

  it('logs a failure once, with call fields, code and annotations, then rethrows it', async () => {
    const logger = memoryLogger();
    const failure = new GirderError('NOT_FOUND', 'order not found');
    const handler = handled(
      async (req: Request) => {
        throw annotate(failure, { orderId: req.params.id });
      },
      {
        logger,
        message: 'get order failed',
        fields: (req) => ({ method: req.method, url: req.url }),
      },
    );

    await expect(handler(request)).rejects.toBe(failure);
    expect(logger.entries).toHaveLength(1);
    expect(logger.entries[0]).toMatchObject({
      level: 'error',
      msg: 'get order failed',
      fields: {
        method: 'GET',
        url: '/orders/7',
        err: { code: 'NOT_FOUND', message: 'order not found', context: { orderId: '7' } },
      },
    });
    expect(isLogged(failure)).toBe(true);
  });

  it("uses the handler's name in the default message", async () => {
    const logger = memoryLogger();
    async function createOrder(): Promise<void> {
      throw new Error('x');
    }
    await expect(handled(createOrder, { logger })()).rejects.toThrow('x');
    await expect(
      handled(
        async () => {
          throw new Error('y');
        },
        { logger },
      )(),
    ).rejects.toThrow('y');
    expect(logger.entries.map((e) => e.msg)).toEqual(['createOrder failed', 'handler failed']);
  });

  it('turns synchronous throws into rejections and logs them', async () => {
    const logger = memoryLogger();
    const handler = handled(
      (): number => {
        throw new Error('sync');
      },
      { logger },
    );
    const result = handler();
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toThrow('sync');
    expect(logger.entries).toHaveLength(1);
  });

  it('logs once across nested wrappers and framework error handlers', async () => {
    const logger = memoryLogger();
    const inner = handled(
      async () => {
        throw new Error('deep');
      },
      { logger, message: 'inner failed' },
    );
    const outer = handled(async () => inner(), { logger, message: 'outer failed' });
    const caught = await outer().catch((err: unknown) => err);
    expect(logError(logger, caught, 'error handler')).toBe(false);
    expect(logger.entries.map((e) => e.msg)).toEqual(['inner failed']);
  });

  it('picks the logger, message and level per call', async () => {
    const base = memoryLogger();
    const handler = handled(
      async (req: Request) => {
        throw new InvalidArgumentError('id', `bad id ${req.params.id}`);
      },
      {
        logger: (req) => base.child({ requestUrl: req.url }),
        message: (err, req) => `${req.method} failed: ${(err as Error).message}`,
        level: (err) => (isGirderError(err, 'INVALID_ARGUMENT') ? 'warn' : 'error'),
      },
    );
    await expect(handler(request)).rejects.toThrow(InvalidArgumentError);
    expect(base.entries[0]).toMatchObject({
      level: 'warn',
      msg: 'GET failed: invalid id: bad id 7',
      fields: { requestUrl: '/orders/7' },
    });
  });

  it('accepts a fixed level', async () => {
    const logger = memoryLogger();
    const handler = handled(
      async () => {
        throw new Error('client went away');
      },
      { logger, level: 'info' },
    );
    await expect(handler()).rejects.toThrow();
    expect(logger.entries[0]?.level).toBe('info');
  });

  it('keeps `this`', async () => {
    const logger = memoryLogger();
    const service = {
      prefix: 'svc',
      run: handled(
        async function (this: { prefix: string }, n: number) {
          return `${this.prefix}-${n}`;
        },
        { logger },
      ),
    };
    await expect(service.run(1)).resolves.toBe('svc-1');
  });

  it('still logs when the fields callback throws', async () => {
    const logger = memoryLogger();
    const handler = handled(
      async () => {
        throw new Error('original');
      },
      {
        logger,
        fields: () => {
          throw new Error('fields bug');
        },
      },
    );
    await expect(handler()).rejects.toThrow('original');
    expect(logger.entries[0]?.fields).toMatchObject({
      fieldsError: 'fields bug',
      err: { message: 'original' },
    });
  });

  it('rethrows the original error and warns when logging itself fails', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const original = new Error('original');
    const handler = handled(
      async () => {
        throw original;
      },
      {
        logger: () => {
          throw new Error('no logger');
        },
      },
    );
    await expect(handler()).rejects.toBe(original);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('no logger');
  });

  it('does not mark the error when a level callback returns an unknown level', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const logger = memoryLogger();
    const original = new Error('original');
    const handler = handled(
      async () => {
        throw original;
      },
      { logger, level: () => 'loud' as never },
    );
    await expect(handler()).rejects.toBe(original);
    expect(isLogged(original)).toBe(false);
    expect(logger.entries).toEqual([]);
  });

  it('rejects a handler that is not a function', () => {
    expect(() => handled('nope' as never, { logger: memoryLogger() })).toThrow(
      InvalidArgumentError,
    );
  });

  it('rejects bad options naming the field', () => {
    const handler = async () => {};
    const missing = optionsError(() => handled(handler, {} as never));
    expect(missing.code).toBe('INVALID_OPTIONS');
    expect(missing.issues[0]?.path).toBe('logger');
    expect(optionsError(() => handled(handler, { logger: {} as never })).issues[0]?.path).toBe(
      'logger',
    );
    const many = optionsError(() =>
      handled(handler, {
        logger: memoryLogger(),
        message: 5 as never,
        fields: {} as never,
        level: 'loud' as never,
      }),
    );
    expect(many.issues.map((i) => i.path)).toEqual(['message', 'fields', 'level']);
  });
});
