import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  login,
  metricOf,
  newUser,
  PASSWORD,
  startShop,
  type TestShop,
  uniqueEmail,
} from './helpers.js';

let t: TestShop;

beforeAll(async () => {
  t = await startShop();
});
afterAll(() => t?.close());

const signup = (email: string, password = PASSWORD, confirmPassword = password) =>
  t.client.post('/api/users/signup', { email, password, confirmPassword });

describe('POST /api/users/signup', () => {
  it('creates an account: 201, email lower-cased, password stored as a scrypt hash', async () => {
    const email = uniqueEmail('Mixed.Case');
    const res = await signup(`  ${email.toUpperCase()} `);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      email: email.toLowerCase(),
      role: 'user',
      createdAt: expect.any(String),
    });
    expect(res.text).not.toContain(PASSWORD);
    const row = await t.shop.services.users.get(res.body.id);
    expect(row?.email).toBe(email.toLowerCase());
  });

  it('409s a taken email, whatever its case, also when sign-ups race', async () => {
    const email = uniqueEmail();
    expect((await signup(email)).status).toBe(201);
    const again = await signup(email.toUpperCase());
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'EMAIL_TAKEN', statusCode: 409 });

    const racing = uniqueEmail('race');
    const results = await Promise.all(Array.from({ length: 8 }, () => signup(racing)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
  });

  it.each([
    ['too short', 'ab1!xyz'],
    ['too long', `a1!${'x'.repeat(70)}`],
    ['no digit', 'abcdefgh!'],
    ['no letter', '12345678!'],
    ['no symbol', 'abcd12345'],
  ])('400s a password that is %s', async (_why, password) => {
    const res = await signup(uniqueEmail(), password);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.message).toContain('8 to 72 characters');
  });

  it('accepts passwords at the length limits', async () => {
    expect((await signup(uniqueEmail(), 'abcdef1!')).status).toBe(201);
    expect((await signup(uniqueEmail(), `a1!${'x'.repeat(69)}`)).status).toBe(201);
  });

  it.each([
    [
      'mismatched confirmation',
      { email: 'a@example.com', password: PASSWORD, confirmPassword: `${PASSWORD}x` },
    ],
    ['bad email', { email: 'not-an-email', password: PASSWORD, confirmPassword: PASSWORD }],
    [
      'email too long',
      { email: `${'a'.repeat(250)}@example.com`, password: PASSWORD, confirmPassword: PASSWORD },
    ],
    ['missing password', { email: 'a@example.com' }],
    ['wrong types', { email: 42, password: true, confirmPassword: null }],
    ['empty object', {}],
  ])('400s %s', async (_why, body) => {
    const res = await t.client.post('/api/users/signup', body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('POST /api/users/login', () => {
  it('returns access and refresh tokens', async () => {
    const email = uniqueEmail();
    await signup(email);
    const res = await t.client.post('/api/users/login', {
      email: email.toUpperCase(),
      password: PASSWORD,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresAt: expect.any(Number),
      refreshExpiresAt: expect.any(Number),
    });
    expect(res.headers.get('x-jwt-token')).toBe(res.body.accessToken);
  });

  it('answers an unknown email and a wrong password identically: 401', async () => {
    const email = uniqueEmail();
    await signup(email);
    const wrong = await t.client.post('/api/users/login', { email, password: 'wrong-pass-1!' });
    const unknown = await t.client.post('/api/users/login', {
      email: uniqueEmail('nobody'),
      password: PASSWORD,
    });
    const notAnEmail = await t.client.post('/api/users/login', {
      email: 'nobody',
      password: PASSWORD,
    });
    for (const res of [wrong, unknown, notAnEmail]) {
      expect(res.status).toBe(401);
      expect(res.text).toBe(wrong.text);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('400s a malformed body', async () => {
    const res = await t.client.post('/api/users/login', { email: ['x'], password: 1 });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('login rate limits', () => {
  let limited: TestShop;
  beforeAll(async () => {
    limited = await startShop({
      SHOP_LOGIN_LIMIT_PER_IP: '5/1m',
      SHOP_LOGIN_LIMIT_PER_ACCOUNT: '3/1m',
    });
  });
  afterAll(() => limited?.close());

  it('limits attempts per account, then per IP: 429 with Retry-After', async () => {
    const victim = uniqueEmail('victim');
    const other = uniqueEmail('other');
    for (const email of [victim, other]) {
      await limited.client.post('/api/users/signup', {
        email,
        password: PASSWORD,
        confirmPassword: PASSWORD,
      });
    }
    const attempt = (email: string, password: string) =>
      limited.client.post('/api/users/login', { email, password });

    for (let i = 0; i < 3; i++) expect((await attempt(victim, 'guess-123!')).status).toBe(401);
    // The account is locked for now, even with the right password...
    const locked = await attempt(victim, PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('RATE_LIMITED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // ...but another account is not (5th attempt from this IP)...
    expect((await attempt(other, PASSWORD)).status).toBe(200);
    // ...until the IP has used its 5 attempts.
    const ipLimited = await attempt(other, PASSWORD);
    expect(ipLimited.status).toBe(429);
    expect(
      await metricOf(limited.shop, 'girder_ratelimit_decisions_total', {
        name: 'shop-login-ip',
        outcome: 'denied',
      }),
    ).toBe(1);
  });
});

describe('refresh, logout, profile', () => {
  it('GET /api/users/profile shows the signed-in user', async () => {
    const user = await newUser(t.client);
    const res = await t.client.get('/api/users/profile', { token: user.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ email: user.email, role: 'user' });
  });

  it('401s a missing, garbled or forged token', async () => {
    expect((await t.client.get('/api/users/profile')).status).toBe(401);
    expect((await t.client.get('/api/users/profile', { token: 'garbage' })).status).toBe(401);
    const user = await newUser(t.client);
    const [h, p] = user.accessToken.split('.');
    const forged = `${h}.${p}.${'A'.repeat(43)}`;
    expect((await t.client.get('/api/users/profile', { token: forged })).status).toBe(401);
    const basic = await t.client.get('/api/users/profile', {
      headers: { authorization: 'Basic abc' },
    });
    expect(basic.status).toBe(401);
  });

  it('POST /api/users/refresh rotates the pair; a retry gets the same pair, reuse two rotations back ends the session', async () => {
    const user = await newUser(t.client);
    const res = await t.client.post('/api/users/refresh', { refreshToken: user.refreshToken });
    expect(res.status).toBe(200);
    expect(res.body.refreshToken).not.toBe(user.refreshToken);
    expect((await t.client.get('/api/users/profile', { token: res.body.accessToken })).status).toBe(
      200,
    );

    // A client that never saw the answer retries with the same token: within the reuse
    // grace it gets the same successor pair, and the session lives.
    const retried = await t.client.post('/api/users/refresh', { refreshToken: user.refreshToken });
    expect(retried.status).toBe(200);
    expect(retried.body.refreshToken).toBe(res.body.refreshToken);

    // Rotating again, then presenting the first token (two rotations back) is reuse.
    const next = await t.client.post('/api/users/refresh', { refreshToken: res.body.refreshToken });
    expect(next.status).toBe(200);
    const replay = await t.client.post('/api/users/refresh', { refreshToken: user.refreshToken });
    expect(replay.status).toBe(401);
    expect(
      (await t.client.get('/api/users/profile', { token: next.body.accessToken })).status,
    ).toBe(401);
    expect((await t.client.post('/api/users/refresh', { refreshToken: 'junk' })).status).toBe(401);
    expect((await t.client.post('/api/users/refresh', {})).status).toBe(401);
  });

  it('POST /api/users/logout revokes the session: 204, then its tokens are refused', async () => {
    const user = await newUser(t.client);
    const other = await login(t.client, user.email, PASSWORD);
    const res = await t.client.post('/api/users/logout', undefined, { token: user.accessToken });
    expect(res.status).toBe(204);
    expect((await t.client.get('/api/users/profile', { token: user.accessToken })).status).toBe(
      401,
    );
    expect(
      (await t.client.post('/api/users/refresh', { refreshToken: user.refreshToken })).status,
    ).toBe(401);
    // Another session of the same user is untouched.
    expect((await t.client.get('/api/users/profile', { token: other.accessToken })).status).toBe(
      200,
    );
    expect((await t.client.post('/api/users/logout')).status).toBe(401);
  });
});
