import { describe, expect, it } from 'vitest';
import {
  defaultEmailKeys,
  defaultPhoneKeys,
  defaultRedactKeys,
  redactor,
} from '../../src/logger/index.js';
import { optionsError } from './helpers.js';

const { redact } = redactor();

describe('redactor defaults', () => {
  it('masks every default key', () => {
    const input = Object.fromEntries(defaultRedactKeys.map((key) => [key, 'secret-value']));
    const output = redact(input);
    for (const key of defaultRedactKeys) expect(output[key]).toBe('[REDACTED]');
  });

  it('matches keys ignoring case, "-" and "_"', () => {
    expect(
      redact({
        PASSWORD: 'a',
        Api_Key: 'b',
        'API-KEY': 'c',
        api_key: 'd',
        access_token: 'e',
        'Set-Cookie': 'f',
        Authorization: 'g',
        PRIVATE_KEY: 'h',
      }),
    ).toEqual({
      PASSWORD: '[REDACTED]',
      Api_Key: '[REDACTED]',
      'API-KEY': '[REDACTED]',
      api_key: '[REDACTED]',
      access_token: '[REDACTED]',
      'Set-Cookie': '[REDACTED]',
      Authorization: '[REDACTED]',
      PRIVATE_KEY: '[REDACTED]',
    });
  });

  it('matches whole keys only', () => {
    expect(redact({ tokenCount: 3, passwordPolicy: 'strong' })).toEqual({
      tokenCount: 3,
      passwordPolicy: 'strong',
    });
  });

  it('masks at any depth, including inside arrays', () => {
    expect(
      redact({
        request: { headers: { authorization: 'Bearer x', accept: 'json' } },
        users: [
          { name: 'a', password: 'p1' },
          { name: 'b', password: 'p2' },
        ],
      }),
    ).toEqual({
      request: { headers: { authorization: '[REDACTED]', accept: 'json' } },
      users: [
        { name: 'a', password: '[REDACTED]' },
        { name: 'b', password: '[REDACTED]' },
      ],
    });
  });

  it('masks whole values whatever their type', () => {
    expect(redact({ secret: { nested: true }, token: ['a', 'b'], cookie: 42 })).toEqual({
      secret: '[REDACTED]',
      token: '[REDACTED]',
      cookie: '[REDACTED]',
    });
  });

  it('partially masks phone numbers under phone-like keys', () => {
    expect(
      redact({
        phone: '13812345678',
        mobile: '+8613812345678',
        phoneNumber: 13812345678,
        Mobile_Phone: '+1 (415) 555-2671',
        tel: '12345',
      }),
    ).toEqual({
      phone: '138****5678',
      mobile: '+86138****5678',
      phoneNumber: '138****5678',
      Mobile_Phone: '+1 (415) ***-2671',
      tel: '[REDACTED]',
    });
    expect(defaultPhoneKeys).toContain('phoneNumber');
  });

  it('masks phone values that are not phone numbers entirely', () => {
    expect(
      redact({ phone: 'call 13812345678', mobile: { cc: '+86' }, tel: ['13812345678', {}] }),
    ).toEqual({
      phone: '[REDACTED]',
      mobile: '[REDACTED]',
      tel: ['138****5678', '[REDACTED]'],
    });
  });

  it('leaves empty phone values alone', () => {
    expect(redact({ phone: null, mobile: undefined })).toEqual({
      phone: null,
      mobile: undefined,
    });
  });

  it('leaves emails alone by default', () => {
    expect(redact({ email: 'alice@example.com' })).toEqual({ email: 'alice@example.com' });
  });

  it('masks secrets inside errors and their annotations', () => {
    const err = Object.assign(new Error('request failed'), {
      config: { headers: { Authorization: 'Bearer abc' } },
    });
    const output = redact({ err }) as { err: Record<string, unknown> };
    expect(output.err.config).toEqual({ headers: { Authorization: '[REDACTED]' } });
  });
});

describe('redactor safety', () => {
  it('never mutates the input', () => {
    const input = {
      password: 'p',
      nested: { token: 't', list: [{ secret: 's' }] },
      phone: '13812345678',
    };
    const snapshot = structuredClone(input);
    const output = redact(input);
    expect(input).toEqual(snapshot);
    expect(output).not.toBe(input);
  });

  it('returns the same objects when nothing needs to change', () => {
    const nested = { a: 1, list: [1, 2, { b: 'x' }] };
    const input = { user: 'ann', nested };
    expect(redact(input)).toBe(input);

    const mixed = { password: 'p', nested };
    const output = redact(mixed);
    expect(output.nested).toBe(nested);
  });

  it('replaces cycles with [Circular] but keeps shared (non-cyclic) references', () => {
    const shared = { id: 1 };
    const input: Record<string, unknown> = { a: shared, b: shared, list: [] as unknown[] };
    input.self = input;
    (input.list as unknown[]).push(input.list);
    const output = redact(input);
    expect(output).toEqual({
      a: { id: 1 },
      b: { id: 1 },
      list: ['[Circular]'],
      self: '[Circular]',
    });
    expect(() => JSON.stringify(output)).not.toThrow();
  });

  it('truncates objects deeper than maxDepth (default 10)', () => {
    const root: Record<string, unknown> = {};
    let node = root;
    for (let i = 0; i < 50; i++) {
      const next: Record<string, unknown> = {};
      node.next = next;
      node = next;
    }
    let depth = 0;
    let cursor: unknown = redact(root);
    while (typeof cursor === 'object' && cursor !== null) {
      cursor = (cursor as Record<string, unknown>).next;
      depth++;
    }
    expect(cursor).toBe('[Truncated]');
    expect(depth).toBe(11);

    const shallow = redactor({ maxDepth: 1 }).redact({ a: { b: { c: 1 } }, list: [[1]] });
    expect(shallow).toEqual({ a: { b: '[Truncated]' }, list: ['[Truncated]'] });
  });

  it('survives a very deep object without a stack overflow', () => {
    let deep: Record<string, unknown> = { password: 'p' };
    for (let i = 0; i < 100_000; i++) deep = { child: deep };
    expect(() => JSON.stringify(redact(deep))).not.toThrow();
  });

  it('walks class instances but leaves Dates, Maps and buffers to the sink', () => {
    class Account {
      constructor(
        readonly id: number,
        readonly password: string,
      ) {}
    }
    const date = new Date(0);
    const map = new Map([['password', 'p']]);
    const buffer = Buffer.from('abc');
    const output = redact({ account: new Account(1, 'p'), date, map, buffer });
    expect(output.account).toEqual({ id: 1, password: '[REDACTED]' });
    expect(output.date).toBe(date);
    expect(output.map).toBe(map);
    expect(output.buffer).toBe(buffer);
  });

  it('keeps a "__proto__" key as data without touching prototypes', () => {
    const input = JSON.parse('{"__proto__": {"password": "p"}, "a": 1, "token": "t"}') as Record<
      string,
      unknown
    >;
    const output = redact(input);
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.keys(output)).toEqual(['__proto__', 'a', 'token']);
    expect(JSON.stringify(output)).toBe(
      '{"__proto__":{"password":"[REDACTED]"},"a":1,"token":"[REDACTED]"}',
    );
  });
});

describe('redactor options', () => {
  it('keys replaces the default list', () => {
    const { redact: custom } = redactor({ keys: ['ssn'] });
    expect(custom({ ssn: '123', password: 'p' })).toEqual({ ssn: '[REDACTED]', password: 'p' });
  });

  it('extraKeys adds to the defaults', () => {
    const { redact: custom } = redactor({ extraKeys: ['pin', 'cvv'] });
    expect(custom({ pin: 1234, CVV: '123', password: 'p' })).toEqual({
      pin: '[REDACTED]',
      CVV: '[REDACTED]',
      password: '[REDACTED]',
    });
  });

  it('uses a custom mask, also for short phone numbers', () => {
    const { redact: custom } = redactor({ mask: '***' });
    expect(custom({ token: 't', phone: '123' })).toEqual({ token: '***', phone: '***' });
  });

  it('turns phone masking off or onto other keys', () => {
    expect(redactor({ partial: { phone: false } }).redact({ phone: '13812345678' })).toEqual({
      phone: '13812345678',
    });
    expect(
      redactor({ partial: { phone: ['contact'] } }).redact({
        contact: '13812345678',
        phone: '13812345678',
      }),
    ).toEqual({ contact: '138****5678', phone: '13812345678' });
  });

  it('masks emails when asked', () => {
    expect(redactor({ partial: { email: true } }).redact({ email: 'alice@example.com' })).toEqual({
      email: 'a***@example.com',
    });
    expect(defaultEmailKeys).toContain('email');
    expect(
      redactor({ partial: { email: ['owner'] } }).redact({
        owner: 'bob@example.com',
        email: 'x@y.z',
      }),
    ).toEqual({ owner: 'b***@example.com', email: 'x@y.z' });
  });

  it('applies custom partial rules, which win over phone rules; full masks win over both', () => {
    const { redact: custom } = redactor({
      extraKeys: ['idCard'],
      partial: {
        custom: [
          { keys: ['phone'], mask: () => 'custom' },
          { keys: ['idCard'], mask: () => 'never used' },
        ],
      },
    });
    expect(custom({ phone: '13812345678', idCard: '110101199003074512' })).toEqual({
      phone: 'custom',
      idCard: '[REDACTED]',
    });
  });

  it('redacts nothing with false, but still serialises errors and breaks cycles', () => {
    const input: Record<string, unknown> = { password: 'p', err: new Error('x') };
    input.self = input;
    const output = redactor(false).redact(input);
    expect(output.password).toBe('p');
    expect(output.self).toBe('[Circular]');
    expect(output.err).toMatchObject({ type: 'Error', message: 'x' });
  });

  it('rejects bad options with the path of the bad field', () => {
    expect(optionsError(() => redactor({ keys: 'password' as never })).issues[0]?.path).toBe(
      'keys',
    );
    expect(optionsError(() => redactor({ extraKeys: [''] })).issues[0]?.path).toBe('extraKeys.0');
    expect(optionsError(() => redactor({ maxDepth: 1.5 })).issues[0]?.path).toBe('maxDepth');
    expect(optionsError(() => redactor({ maxDepth: 1_000 })).issues[0]?.path).toBe('maxDepth');
    expect(
      optionsError(() => redactor({ partial: { phone: 'yes' as never } })).issues[0]?.path,
    ).toBe('partial.phone');
    expect(
      optionsError(() => redactor({ partial: { custom: [{ keys: ['x'], mask: 'no' as never }] } }))
        .issues[0]?.path,
    ).toBe('partial.custom.0.mask');
    expect(optionsError(() => redactor({ partial: { sms: true } as never })).code).toBe(
      'INVALID_OPTIONS',
    );
  });
});
