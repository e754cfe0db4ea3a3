// SMS codes in the shop: linking a phone, logging in with a code, the code's limits, the
// per-phone send quota, failover between the mock providers and the fallback queue as the
// ops feed shows it. Codes are read from the mock providers' capture (SHOP_SMS=mock).
import { manualClock } from 'girder/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminLogin, quickUser, type SignedIn, startShop, type TestShop } from './helpers.js';

const SMS_ENV = { SHOP_SMS: 'mock', SHOP_SMS_LIMIT_PER_IP: '100000/1h' };

let phoneCounter = 0;
/** A fresh E.164 number per call (+86 139 ...), unique per process. */
const newPhone = () =>
  `+86139${String(process.pid % 10_000).padStart(4, '0')}${String(++phoneCounter).padStart(4, '0')}`;

/** Where every mock provider's capture stands now. */
const mark = (t: TestShop) => t.shop.sms.providers.map((p) => p.sent.length);

/** The code texted to `phone` since `since` (from `mark`), by whichever provider sent it. */
function codeSince(t: TestShop, since: number[], phone: string): string {
  const fresh = t.shop.sms.providers.flatMap((p, i) => p.sent.slice(since[i]));
  const mine = fresh.filter((c) => c.message.to.includes(phone));
  expect(mine).toHaveLength(1);
  return mine[0]!.message.params!.code!;
}

/** Link `phone` to `user` through the API (code sent, read, verified). */
async function linkPhone(t: TestShop, user: SignedIn, phone: string) {
  const before = mark(t);
  const sent = await t.client.post('/api/users/phone/code', { phone }, { token: user.accessToken });
  expect(sent.status).toBe(202);
  const code = codeSince(t, before, phone);
  const linked = await t.client.post(
    '/api/users/phone',
    { phone, code },
    { token: user.accessToken },
  );
  expect(linked.status).toBe(200);
  expect(linked.body).toEqual({ phone });
}

describe('SMS login', () => {
  let t: TestShop;
  beforeAll(async () => {
    t = await startShop(SMS_ENV);
  });
  afterAll(() => t?.close());

  it('links a phone with a code, then logs in with an SMS code (same token pair as a password login)', async () => {
    const user = await quickUser(t);
    const phone = newPhone();
    expect((await t.client.get('/api/users/phone', { token: user.accessToken })).body).toEqual({
      phone: null,
    });
    await linkPhone(t, user, phone);
    expect((await t.client.get('/api/users/phone', { token: user.accessToken })).body).toEqual({
      phone,
    });

    const before = mark(t);
    // Formatting is tolerated: spaces and dashes are dropped.
    const spaced = `${phone.slice(0, 3)} ${phone.slice(3, 6)}-${phone.slice(6)}`;
    const send = await t.client.post('/api/users/login/sms/send', { phone: spaced });
    expect(send.status).toBe(202);
    expect(send.body).toMatchObject({ sent: true, resendAfterMs: 60_000 });
    const code = codeSince(t, before, phone);
    expect(code).toMatch(/^\d{6}$/);

    const login = await t.client.post('/api/users/login/sms/verify', { phone, code });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresAt: expect.any(Number),
      refreshExpiresAt: expect.any(Number),
    });
    expect(login.headers.get('x-jwt-token')).toBe(login.body.accessToken);
    const profile = await t.client.get('/api/users/profile', { token: login.body.accessToken });
    expect(profile.status).toBe(200);
    expect(profile.body.email).toBe(user.email);
    // The refresh token works like a password login's.
    const refreshed = await t.client.post('/api/users/refresh', {
      refreshToken: login.body.refreshToken,
    });
    expect(refreshed.status).toBe(200);

    // A code is single use.
    const again = await t.client.post('/api/users/login/sms/verify', { phone, code });
    expect(again.status).toBe(400);
    expect(again.body.code).toMatch(/^CODE_(EXPIRED|INVALID)$/);
  });

  it('refuses the right code after three wrong ones', async () => {
    const user = await quickUser(t);
    const phone = newPhone();
    await linkPhone(t, user, phone);
    const before = mark(t);
    expect((await t.client.post('/api/users/login/sms/send', { phone })).status).toBe(202);
    const code = codeSince(t, before, phone);
    const wrong = code === '000000' ? '111111' : '000000';

    const first = await t.client.post('/api/users/login/sms/verify', { phone, code: wrong });
    expect(first.status).toBe(400);
    expect(first.body).toMatchObject({ code: 'CODE_INVALID', details: { attemptsLeft: 2 } });
    const second = await t.client.post('/api/users/login/sms/verify', { phone, code: wrong });
    expect(second.body).toMatchObject({ code: 'CODE_INVALID', details: { attemptsLeft: 1 } });
    const third = await t.client.post('/api/users/login/sms/verify', { phone, code: wrong });
    expect(third.status).toBe(400);
    expect(third.body.code).toMatch(/^CODE_(INVALID|ATTEMPTS_EXCEEDED)$/);

    const right = await t.client.post('/api/users/login/sms/verify', { phone, code });
    expect(right.status).toBe(400);
    expect(right.body.code).toBe('CODE_ATTEMPTS_EXCEEDED');
    expect(right.body.accessToken).toBeUndefined();
  });

  it('refuses a resend within the cooldown (429 with the wait)', async () => {
    const user = await quickUser(t);
    const phone = newPhone();
    await linkPhone(t, user, phone);
    expect((await t.client.post('/api/users/login/sms/send', { phone })).status).toBe(202);
    const before = mark(t);
    const resend = await t.client.post('/api/users/login/sms/send', { phone });
    expect(resend.status).toBe(429);
    expect(resend.body.code).toBe('CODE_SEND_TOO_FREQUENT');
    expect(resend.body.details.retryAfterMs).toBeGreaterThan(0);
    expect(mark(t)).toEqual(before); // nothing texted
  });

  it('sends nothing to a phone linked to no account, with the same answer', async () => {
    const phone = newPhone();
    const before = mark(t);
    const res = await t.client.post('/api/users/login/sms/send', { phone });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ sent: true, resendAfterMs: 60_000 });
    expect(mark(t)).toEqual(before);
    const verify = await t.client.post('/api/users/login/sms/verify', { phone, code: '123456' });
    expect(verify.status).toBe(400);
    expect(verify.body.accessToken).toBeUndefined();
  });

  it('400s a number that is not E.164, and a code that is not digits', async () => {
    const bad = await t.client.post('/api/users/login/sms/send', { phone: '13800000000' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const letters = await t.client.post('/api/users/login/sms/verify', {
      phone: newPhone(),
      code: 'abcdef',
    });
    expect(letters.status).toBe(400);
    expect(letters.body.code).toBe('VALIDATION_FAILED');
  });

  it('links a phone to one account only, and only with the code sent for that account', async () => {
    const alice = await quickUser(t);
    const bob = await quickUser(t);
    const phone = newPhone();
    await linkPhone(t, alice, phone);

    // Bob cannot link Alice's number, even with a valid code for himself.
    const before = mark(t);
    await t.client.post('/api/users/phone/code', { phone }, { token: bob.accessToken });
    const code = codeSince(t, before, phone);
    const taken = await t.client.post(
      '/api/users/phone',
      { phone, code },
      { token: bob.accessToken },
    );
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('PHONE_TAKEN');

    // A code sent for Bob does not link a number to Carol.
    const carol = await quickUser(t);
    const other = newPhone();
    const mark2 = mark(t);
    await t.client.post('/api/users/phone/code', { phone: other }, { token: bob.accessToken });
    const bobsCode = codeSince(t, mark2, other);
    const stolen = await t.client.post(
      '/api/users/phone',
      { phone: other, code: bobsCode },
      { token: carol.accessToken },
    );
    expect(stolen.status).toBe(400);
    expect((await t.client.get('/api/users/phone', { token: carol.accessToken })).body.phone).toBe(
      null,
    );

    // Linking needs a signed-in user.
    expect((await t.client.post('/api/users/phone/code', { phone: other })).status).toBe(401);
  });

  it('fails over to the other mock provider while the ops page makes mock-1 fail', async () => {
    const admin = await adminLogin(t.client);
    const toggle = (failing: boolean) =>
      t.client.post('/api/admin/sms/providers/mock-1', { failing }, { token: admin.accessToken });
    expect((await toggle(true)).body).toEqual({ name: 'mock-1', failing: true });
    try {
      const [mock1, mock2] = t.shop.sms.providers;
      const before = mark(t);
      const users = await Promise.all([1, 2, 3, 4].map(() => quickUser(t)));
      for (const user of users) {
        const res = await t.client.post(
          '/api/users/phone/code',
          { phone: newPhone() },
          { token: user.accessToken },
        );
        expect(res.status).toBe(202);
      }
      // Every code went out through mock-2; round robin started half of them on mock-1.
      expect(mock1!.sent.length).toBe(before[0]);
      expect(mock2!.sent.length).toBe(before[1]! + 4);
      const ops = await t.client.get('/api/admin/ops', { token: admin.accessToken });
      const p1 = ops.body.sms.providers.find((p: { name: string }) => p.name === 'mock-1');
      expect(p1).toMatchObject({ failing: true });
      expect(p1.failed).toBeGreaterThanOrEqual(2);
    } finally {
      await toggle(false);
    }
    const unknown = await t.client.post(
      '/api/admin/sms/providers/mock-9',
      { failing: true },
      { token: admin.accessToken },
    );
    expect(unknown.status).toBe(404);
    const user = await quickUser(t);
    const forbidden = await t.client.post(
      '/api/admin/sms/providers/mock-1',
      { failing: true },
      { token: user.accessToken },
    );
    expect(forbidden.status).toBe(403);
  });

  it('queues the code while both providers fail, retries it, and delivers it once one recovers; the ops feed shows the queue', async () => {
    const admin = await adminLogin(t.client);
    const user = await quickUser(t);
    const phone = newPhone();
    const ops = async () =>
      (await t.client.get('/api/admin/ops', { token: admin.accessToken })).body.sms;
    const start = await ops();
    for (const p of t.shop.sms.providers) p.setFailing(true);
    let recovered = false;
    try {
      const before = mark(t);
      const res = await t.client.post(
        '/api/users/phone/code',
        { phone },
        { token: user.accessToken },
      );
      expect(res.status).toBe(202); // stored, not lost: the user is told it is on its way
      const queued = await ops();
      expect(queued.enqueued.error).toBe(start.enqueued.error + 1);
      expect(queued.queue.pending + queued.queue.leased).toBeGreaterThanOrEqual(1);
      // The in-process worker tries, fails and schedules a retry.
      await vi.waitFor(async () => expect((await ops()).retries).toBeGreaterThan(start.retries), {
        timeout: 10_000,
        interval: 100,
      });
      for (const p of t.shop.sms.providers) p.setFailing(false);
      recovered = true;
      await vi.waitFor(
        async () => expect((await ops()).deliveredFromQueue).toBe(start.deliveredFromQueue + 1),
        { timeout: 15_000, interval: 100 },
      );
      const done = await ops();
      expect(done.queue.sent).toBeGreaterThanOrEqual(1);
      expect(done.dead).toBe(start.dead);
      // The queued code is the one the user gets, and it links the phone.
      const code = codeSince(t, before, phone);
      const linked = await t.client.post(
        '/api/users/phone',
        { phone, code },
        { token: user.accessToken },
      );
      expect(linked.status).toBe(200);
    } finally {
      if (!recovered) for (const p of t.shop.sms.providers) p.setFailing(false);
    }
  }, 30_000);
});

describe('SMS send quota per phone', () => {
  const clock = manualClock();
  let t: TestShop;
  beforeAll(async () => {
    t = await startShop({ ...SMS_ENV, SHOP_SMS_LIMIT_PER_PHONE: '2/1h' }, { clock });
  });
  afterAll(() => t?.close());

  it('429s the third code to one phone within the hour, even after the resend cooldown', async () => {
    const user = await quickUser(t);
    const phone = newPhone();
    const ask = () =>
      t.client.post('/api/users/phone/code', { phone }, { token: user.accessToken });
    expect((await ask()).status).toBe(202);
    clock.advance(61_000); // past the code's resend cooldown (the quota counts in real time)
    expect((await ask()).status).toBe(202);
    clock.advance(61_000);
    const third = await ask();
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('RATE_LIMITED');
    expect(third.headers.get('retry-after')).not.toBeNull();
  });
});
