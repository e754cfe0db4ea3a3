// The codeService contract, one spec table run against every CodeStore backend.
import { expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/index.js';
import {
  CodeAttemptsExceededError,
  CodeExpiredError,
  CodeInvalidError,
  CodeSendTooFrequentError,
  type CodeServiceOptions,
  type CodeStore,
  codeService,
  type MemorySms,
  memorySms,
} from '../../src/sms/index.js';

/** What each backend gives the specs. */
export interface CodeEnv {
  /** A fresh store (own key space). */
  store(): CodeStore;
  /** Let `ms` pass for the store: the manual clock, or real time on Redis (short TTLs). */
  pass(ms: number): Promise<void>;
  /** The clock for memory, undefined on Redis (server time). */
  clock?: ManualClock;
}

const PHONE = '+8613800000000';
const SECRET = 'a-test-secret-of-32-bytes-length';

export function codeContract(env: () => CodeEnv): void {
  const setup = (extra: Partial<CodeServiceOptions> = {}) => {
    const sms: MemorySms = memorySms();
    const codes = codeService({
      sms,
      store: env().store(),
      template: 'login',
      secret: SECRET,
      ...(env().clock === undefined ? {} : { clock: env().clock }),
      ...extra,
    });
    const lastCode = () => sms.last()?.message.params.code as string;
    return { sms, codes, lastCode };
  };
  const wrong = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

  it('sends a 6-digit code that verifies once (single use)', async () => {
    const { sms, codes, lastCode } = setup();
    const sent = await codes.send(PHONE, 'login');
    expect(sent.resendAfterMs).toBe(60_000);
    expect(sms.sent).toHaveLength(1);
    expect(sms.last()?.message).toMatchObject({ to: [PHONE], template: 'login' });
    expect(lastCode()).toMatch(/^\d{6}$/);
    await expect(codes.verify(PHONE, 'login', lastCode())).resolves.toBeUndefined();
    await expect(codes.verify(PHONE, 'login', lastCode())).rejects.toBeInstanceOf(CodeInvalidError);
  });

  it('stops brute force after maxAttempts wrong guesses, even for the right code', async () => {
    const { codes, lastCode } = setup();
    await codes.send(PHONE, 'login');
    const code = lastCode();
    await expect(codes.verify(PHONE, 'login', wrong(code))).rejects.toMatchObject({
      code: 'CODE_INVALID',
      attemptsLeft: 2,
    });
    await expect(codes.verify(PHONE, 'login', 'abc')).rejects.toMatchObject({
      code: 'CODE_INVALID',
      attemptsLeft: 1,
    });
    await expect(codes.verify(PHONE, 'login', wrong(code))).rejects.toBeInstanceOf(
      CodeAttemptsExceededError,
    );
    await expect(codes.verify(PHONE, 'login', code)).rejects.toMatchObject({
      code: 'CODE_ATTEMPTS_EXCEEDED',
    });
  });

  it('bounds concurrent guessing to maxAttempts as well', async () => {
    const { codes, lastCode } = setup({ maxAttempts: 3 });
    await codes.send(PHONE, 'login');
    const code = lastCode();
    const guesses = Array.from({ length: 20 }, (_, i) =>
      codes.verify(PHONE, 'login', String(i).padStart(6, '9')).then(
        () => 'ok',
        (e: { code: string }) => e.code,
      ),
    );
    const results = await Promise.all(guesses);
    expect(results.filter((r) => r === 'CODE_INVALID')).toHaveLength(2);
    expect(results.filter((r) => r === 'CODE_ATTEMPTS_EXCEEDED')).toHaveLength(18);
    await expect(codes.verify(PHONE, 'login', code)).rejects.toMatchObject({
      code: 'CODE_ATTEMPTS_EXCEEDED',
    });
  });

  it('bounds a resend storm: one SMS per resendAfterMs', async () => {
    const { sms, codes } = setup({ resendAfterMs: 60_000 });
    const results = await Promise.all(
      Array.from({ length: 25 }, () =>
        codes.send(PHONE, 'login').then(
          () => 'sent',
          (e: unknown) => e,
        ),
      ),
    );
    expect(results.filter((r) => r === 'sent')).toHaveLength(1);
    const refused = results.filter((r) => r !== 'sent') as CodeSendTooFrequentError[];
    expect(refused).toHaveLength(24);
    for (const error of refused) {
      expect(error).toBeInstanceOf(CodeSendTooFrequentError);
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    expect(sms.sent).toHaveLength(1);
  });

  it('a new code replaces the old one after the cooldown', async () => {
    const { codes, lastCode } = setup({ resendAfterMs: 200, ttlMs: 60_000 });
    await codes.send(PHONE, 'login');
    const first = lastCode();
    await env().pass(250);
    await codes.send(PHONE, 'login');
    const second = lastCode();
    if (first !== second) {
      await expect(codes.verify(PHONE, 'login', first)).rejects.toBeInstanceOf(CodeInvalidError);
    }
    await expect(codes.verify(PHONE, 'login', second)).resolves.toBeUndefined();
  });

  it('expires after ttlMs', async () => {
    const { codes, lastCode } = setup({ ttlMs: 300, resendAfterMs: 0 });
    await codes.send(PHONE, 'login');
    await env().pass(400);
    await expect(codes.verify(PHONE, 'login', lastCode())).rejects.toBeInstanceOf(CodeExpiredError);
    // an expired code costs no attempt and a new one can be sent
    await codes.send(PHONE, 'login');
    await expect(codes.verify(PHONE, 'login', lastCode())).resolves.toBeUndefined();
  });

  it('a failed SMS revokes the code, so a resend is allowed at once', async () => {
    const { sms, codes, lastCode } = setup();
    sms.failNext(1);
    await expect(codes.send(PHONE, 'login')).rejects.toMatchObject({ code: 'SMS_PROVIDER_ERROR' });
    await expect(codes.send(PHONE, 'login')).resolves.toBeDefined();
    await expect(codes.verify(PHONE, 'login', lastCode())).resolves.toBeUndefined();
  });

  it('keeps phones and purposes apart', async () => {
    const { codes, lastCode } = setup();
    await codes.send(PHONE, 'login');
    const code = lastCode();
    await expect(codes.send(PHONE, 'bind-phone')).resolves.toBeDefined(); // no shared cooldown
    await expect(codes.verify('+8613900000000', 'login', code)).rejects.toMatchObject({
      code: 'CODE_INVALID',
      attemptsLeft: 0,
    });
    await expect(codes.verify(PHONE, 'login', code)).resolves.toBeUndefined();
  });

  it('refuses bad input before touching the store', async () => {
    const { sms, codes } = setup();
    await expect(codes.send('13800000000', 'login')).rejects.toMatchObject({
      code: 'INVALID_PHONE',
    });
    await expect(codes.send(PHONE, '')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(codes.send(PHONE, 'a{b}')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(codes.verify(PHONE, 'login', 123 as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(codes.send(PHONE, 'login', { signal: 'x' as never })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(codes.send(PHONE, 'login', { signal: AbortSignal.abort() })).rejects.toMatchObject(
      {
        code: 'ABORTED',
      },
    );
    expect(sms.sent).toHaveLength(0);
    // nothing was stored: a send goes through now
    await expect(codes.send(PHONE, 'login')).resolves.toBeDefined();
  });
}
