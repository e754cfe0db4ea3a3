// REDIS_URL switches rate limits, sessions and roles to Redis: two shop instances then
// share them (here: the test harness's shared Redis, under a unique key prefix).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sharedRedisUrl, uniquePrefix } from '../../../test/harness/index.js';
import { newUser, startShop, type TestShop } from './helpers.js';

let a: TestShop;
let b: TestShop;

beforeAll(async () => {
  const env = {
    REDIS_URL: sharedRedisUrl(),
    SHOP_REDIS_PREFIX: uniquePrefix('shop'),
    SHOP_LOGIN_LIMIT_PER_ACCOUNT: '3/1m',
  };
  // Two instances, one Redis (each has its own in-memory database here; with
  // DATABASE_URL they would share that too).
  [a, b] = await Promise.all([startShop(env), startShop(env)]);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

it('reports Redis as the backend', async () => {
  const health = await a.client.get('/healthz');
  expect(health.body.backends).toMatch(/^Redis \(/);
});

it('shares sessions: a logout on one instance ends the session on the other', async () => {
  const user = await newUser(a.client);
  expect((await b.client.get('/api/users/profile', { token: user.accessToken })).status).toBe(404); // valid token, user only in a's database
  expect(
    (await a.client.post('/api/users/logout', undefined, { token: user.accessToken })).status,
  ).toBe(204);
  expect((await b.client.get('/api/users/profile', { token: user.accessToken })).status).toBe(401);
});

it('shares login rate limits across instances', async () => {
  const email = 'shared-limit@example.com';
  const attempt = (t: TestShop) =>
    t.client.post('/api/users/login', { email, password: 'wrong-pass-1!' });
  expect((await attempt(a)).status).toBe(401);
  expect((await attempt(b)).status).toBe(401);
  expect((await attempt(a)).status).toBe(401);
  expect((await attempt(b)).status).toBe(429);
});

it('shares role grants', async () => {
  const user = await newUser(a.client);
  const id = (await a.client.get('/api/users/profile', { token: user.accessToken })).body.id;
  await a.shop.authorizer.grant(id, 'admin');
  await expect.poll(() => b.shop.authorizer.rolesOf(id)).toContain('admin');
});
