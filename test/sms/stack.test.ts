// The sms decorators stacked with girder's blocks, in several orders: every layer keeps
// the SmsService shape, so any order type-checks and behaves as its layers say.
import { describe, expect, it } from 'vitest';
import { circuitBreaker, consecutiveFailures, withBreaker } from '../../src/breaker/index.js';
import { manualClock, TimeoutError } from '../../src/core/index.js';
import { failover, healthFailover, timeoutFailover } from '../../src/failover/index.js';
import { fixedWindow, withRateLimit } from '../../src/ratelimit/index.js';
import {
  codeService,
  memoryCodeStore,
  memorySms,
  type SmsMessage,
  SmsProviderError,
  type SmsService,
  type TokenSmsMessage,
  tokenAuthSms,
} from '../../src/sms/index.js';

const message: SmsMessage = { to: ['+8613800000000'], template: 'login', params: { code: '1' } };
const verify = (token: string) => {
  if (token !== 'good') throw new Error('bad token');
  return { sub: 'orders', tpl: ['login'] };
};
const withToken = (token: string): TokenSmsMessage => ({ ...message, token });
const byPhone = (_method: string, args: readonly unknown[]) =>
  (args[0] as SmsMessage).to[0] as string;

describe('decorator stacks', () => {
  it('token auth -> rate limit -> round-robin failover', async () => {
    const a = memorySms({ name: 'a' });
    const b = memorySms({ name: 'b' });
    const limiter = fixedWindow({ limit: 3, windowMs: 60_000 });
    const sms: SmsService = tokenAuthSms(
      withRateLimit(failover([a, b], { strategy: 'round-robin', methods: ['send'] }), limiter, {
        key: byPhone,
      }),
      { verify },
    );
    const providers = [];
    for (let i = 0; i < 3; i++) providers.push((await sms.send(withToken('good'))).provider);
    expect(providers.sort()).toEqual(['a', 'a', 'b']);
    await expect(sms.send(withToken('good'))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // refused callers never reach the limiter: the quota is not theirs to spend
    await expect(sms.send(withToken('bad'))).rejects.toMatchObject({ code: 'SMS_TOKEN_INVALID' });
    expect((await limiter.limit('+8613800000000')).allowed).toBe(false);
  });

  it('rate limit -> token auth: refused callers spend the quota (why auth goes outermost)', async () => {
    const a = memorySms();
    const limiter = fixedWindow({ limit: 2, windowMs: 60_000 });
    const sms = withRateLimit(tokenAuthSms(a, { verify }), limiter, { key: byPhone });
    await expect(sms.send(withToken('bad'))).rejects.toMatchObject({ code: 'SMS_TOKEN_INVALID' });
    await expect(sms.send(withToken('bad'))).rejects.toMatchObject({ code: 'SMS_TOKEN_INVALID' });
    await expect(sms.send(withToken('good'))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(a.sent).toHaveLength(0);
  });

  it('failover over breakers: a failing provider is opened and skipped', async () => {
    const a = memorySms({ name: 'a' });
    const b = memorySms({ name: 'b' });
    a.failAlways();
    const breakerA = circuitBreaker({ name: 'a', policy: consecutiveFailures({ threshold: 2 }) });
    const sms = failover([withBreaker(a, breakerA), b], { methods: ['send'] });
    for (let i = 0; i < 4; i++) expect((await sms.send(message)).provider).toBe('b');
    expect(breakerA.state).toBe('open');
    expect(b.sent).toHaveLength(4);
  });

  it('breaker over failover: all providers failing opens one breaker for the stack', async () => {
    const a = memorySms({ name: 'a' });
    const b = memorySms({ name: 'b' });
    a.failAlways();
    b.failAlways();
    const breaker = circuitBreaker({ policy: consecutiveFailures({ threshold: 2 }) });
    const sms = withBreaker(failover([a, b], { methods: ['send'] }), breaker);
    await expect(sms.send(message)).rejects.toMatchObject({ code: 'ALL_TARGETS_FAILED' });
    await expect(sms.send(message)).rejects.toMatchObject({ code: 'ALL_TARGETS_FAILED' });
    await expect(sms.send(message)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
  });

  it('timeoutFailover switches after consecutive provider timeouts', async () => {
    const clock = manualClock(0);
    const slow = memorySms({ name: 'slow', clock, delayMs: 10_000, timeoutMs: 100 });
    const fast = memorySms({ name: 'fast' });
    const sms = timeoutFailover([slow, fast], { threshold: 2, methods: ['send'] });
    for (let i = 0; i < 2; i++) {
      const pending = sms.send(message).catch((e: unknown) => e);
      await clock.advanceAsync(100);
      expect(await pending).toBeInstanceOf(TimeoutError);
    }
    expect((await sms.send(message)).provider).toBe('fast');
  });

  it('healthFailover keeps sending through the healthy provider', async () => {
    const a = memorySms({ name: 'a' });
    const b = memorySms({ name: 'b' });
    a.failAlways();
    const sms = healthFailover([a, b], {
      methods: ['send'],
      minSamples: 2,
      probeIntervalMs: 60_000,
    });
    for (let i = 0; i < 6; i++) expect((await sms.send(message)).provider).toBe('b');
    expect(b.sent).toHaveLength(6);
    sms.control.close?.();
  });

  it('codeService sends through a stack and a stack failure frees the resend', async () => {
    const a = memorySms({ name: 'a' });
    a.failNext(
      1,
      new SmsProviderError({
        provider: 'a',
        providerCode: 'X',
        message: 'down',
        status: 503,
        retryable: true,
        requestId: 'r',
      }),
    );
    const b = memorySms({ name: 'b' });
    const limiter = fixedWindow({ limit: 5, windowMs: 60_000 });
    const stack = withRateLimit(failover([a, b], { methods: ['send'] }), limiter, { key: byPhone });
    const codes = codeService({ sms: stack, store: memoryCodeStore(), template: 'login' });
    await codes.send('+8613800000000', 'login'); // a fails, b delivers
    expect(b.sent).toHaveLength(1);
    await codes.verify('+8613800000000', 'login', b.last()?.message.params.code as string);
  });
});
