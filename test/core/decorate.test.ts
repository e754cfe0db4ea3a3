import { describe, expect, it } from 'vitest';
import { decorate, InvalidArgumentError, type MethodCall } from '../../src/core/index.js';
import { defaultSignalInto } from '../../src/core/signal-of.js';

interface Sms {
  readonly provider: string;
  sent: number;
  send(phone: string, text: string): Promise<string>;
  fail(): Promise<never>;
  describe(): string;
}

class FakeSms implements Sms {
  readonly provider = 'fake';
  sent = 0;
  async send(phone: string, text: string) {
    this.sent++;
    return `${phone}:${text}`;
  }
  async fail(): Promise<never> {
    throw new Error('provider down');
  }
  describe() {
    return `sms via ${this.provider}`;
  }
}

describe('decorate', () => {
  it('routes every method through around, keeping this and results', async () => {
    const target = new FakeSms();
    const calls: Array<Pick<MethodCall, 'method' | 'args'>> = [];
    const d = decorate(
      target,
      async (call, next) => {
        calls.push({ method: call.method, args: call.args });
        return next();
      },
      { methods: ['send', 'fail'] },
    );
    await expect(d.send('138', 'hi')).resolves.toBe('138:hi');
    await expect(d.fail()).rejects.toThrow('provider down');
    expect(calls).toEqual([
      { method: 'send', args: ['138', 'hi'] },
      { method: 'fail', args: [] },
    ]);
    expect(target.sent).toBe(1);
  });

  it('passes non-function properties through live, both ways', async () => {
    const target = new FakeSms();
    const d = decorate(target, (_call, next) => next(), { methods: ['send'] });
    expect(d.provider).toBe('fake');
    await d.send('1', 'x');
    expect(d.sent).toBe(1);
    d.sent = 10;
    expect(target.sent).toBe(10);
  });

  it('leaves unlisted methods synchronous and bound', () => {
    const d = decorate(new FakeSms(), (_c, next) => next(), { methods: ['send'] });
    expect(d.describe()).toBe('sms via fake');
  });

  it('lets around short-circuit, replace arguments or call elsewhere', async () => {
    const target = new FakeSms();
    const blocked = decorate(target, async () => 'blocked', { methods: ['send'] });
    await expect(blocked.send('1', 'x')).resolves.toBe('blocked');
    expect(target.sent).toBe(0);
    const rewritten = decorate(target, (call, next) => next([call.args[0], 'rewritten']), {
      methods: ['send'],
    });
    await expect(rewritten.send('1', 'x')).resolves.toBe('1:rewritten');
  });

  it('turns synchronous throws of around or the method into rejections', async () => {
    const syncThrower = {
      run(): Promise<void> {
        throw new Error('sync');
      },
    };
    const d = decorate(syncThrower, (_c, next) => next());
    await expect(d.run()).rejects.toThrow('sync');
    const badAround = decorate(
      new FakeSms(),
      () => {
        throw new Error('around bug');
      },
      { methods: ['send'] },
    );
    await expect(badAround.send('1', 'x')).rejects.toThrow('around bug');
  });

  it('by default intercepts own and inherited methods of plain objects and classes', async () => {
    const seen: string[] = [];
    const plain = { a: async () => 1, b: async () => 2, value: 3 };
    const d = decorate(plain, (call, next) => {
      seen.push(call.method);
      return next();
    });
    await d.a();
    await d.b();
    expect(d.value).toBe(3);
    const cls = decorate(new FakeSms(), (call, next) => {
      seen.push(call.method);
      return next();
    });
    await cls.send('1', '2');
    expect(seen).toEqual(['a', 'b', 'send']);
  });

  it('stacks: decorators compose outside-in', async () => {
    const order: string[] = [];
    const inner = decorate(
      new FakeSms(),
      (_c, next) => {
        order.push('inner');
        return next();
      },
      { methods: ['send'] },
    );
    const outer = decorate(
      inner,
      (_c, next) => {
        order.push('outer');
        return next();
      },
      { methods: ['send'] },
    );
    await outer.send('1', 'x');
    expect(order).toEqual(['outer', 'inner']);
  });

  it('rejects bad input with INVALID_ARGUMENT', () => {
    // @ts-expect-error not an object
    expect(() => decorate(null, (_c, n) => n())).toThrow(InvalidArgumentError);
    // @ts-expect-error around must be a function
    expect(() => decorate({}, 'nope')).toThrow(expect.objectContaining({ argument: 'around' }));
    expect(() =>
      // @ts-expect-error `provider` is not a method
      decorate(new FakeSms(), (_c, n) => n(), { methods: ['provider'] }),
    ).toThrow(/"provider" is not a method/);
  });
});

describe('decorate: forwarded properties', () => {
  it('are configurable, so a decorator may put its own member of that name on top', () => {
    const target = { events: 'inner', async run() {} };
    const decorated = decorate(target, (_call, next) => next());
    expect(decorated.events).toBe('inner');
    Object.defineProperty(decorated, 'events', { value: 'outer', enumerable: false });
    expect(decorated.events).toBe('outer');
    expect(target.events).toBe('inner');
  });
});

describe('defaultSignalInto', () => {
  const caller = new AbortController().signal;
  const attempt = new AbortController().signal;

  it('replaces a signal argument', () => {
    const args = ['a', caller, 1];
    expect(defaultSignalInto(args, attempt, 'm')).toEqual(['a', attempt, 1]);
    expect(args[1]).toBe(caller); // never mutated
  });

  it('replaces the signal of an options object, as a shallow copy', () => {
    const options = { signal: caller, retries: 2 };
    const out = defaultSignalInto(['a', options], attempt, 'm');
    expect(out).toEqual(['a', { signal: attempt, retries: 2 }]);
    expect(options.signal).toBe(caller);
  });

  it('returns the arguments unchanged when the caller passed no signal', () => {
    const args = ['a', { retries: 2 }];
    expect(defaultSignalInto(args, attempt, 'm')).toBe(args);
  });
});
