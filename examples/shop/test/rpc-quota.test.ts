// The service nodes' per-method quota (SHOP_RPC_RATE_LIMIT) over the one-process gRPC
// shop: whose calls share a bucket. The gateway makes every service call for some end
// client; before, the calls that carry no user token (sign-up, sign-in, catalog reads)
// were all charged to one `internal` bucket per method, so a few busy clients (or a
// start-up burst) used up everyone's quota and an unrelated sign-in got a 429. Now the
// gateway passes the end client along and each one has its own bucket.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PASSWORD, startShop, type TestShop, uniqueEmail } from './helpers.js';

let t: TestShop;

beforeAll(async () => {
  t = await startShop(
    {
      // Two calls per method per minute and per caller: small enough to see who shares.
      SHOP_RPC_RATE_LIMIT: '2/1m',
      // Client IPs from X-Forwarded-For, so this test can be several clients.
      SHOP_TRUST_PROXY: 'true',
      SHOP_SEED: 'false',
      SHOP_POPULAR_INTERVAL: '24h',
    },
    { transport: 'grpc' },
  );
});
afterAll(() => t?.close());

const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
const signUp = (ip: string, email: string) =>
  t.client.request('POST', '/api/users/signup', {
    body: { email, password: PASSWORD, confirmPassword: PASSWORD },
    ...from(ip),
  });
const signIn = (ip: string, email: string) =>
  t.client.request('POST', '/api/users/login', {
    body: { email, password: PASSWORD },
    ...from(ip),
  });

it('gives each end client its own quota: three clients sign up and in, one call each', async () => {
  const emails = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => [ip, uniqueEmail()] as const);
  for (const [ip, email] of emails) {
    expect((await signUp(ip, email)).status).toBe(201);
    expect((await signIn(ip, email)).status).toBe(200);
  }
  // One client past its own quota is refused; the others are not.
  const [[ip, email], [otherIp, otherEmail]] = emails as unknown as [
    [string, string],
    [string, string],
  ];
  expect((await signIn(ip, email)).status).toBe(200);
  const refused = await signIn(ip, email);
  expect(refused.status).toBe(429);
  expect(refused.body.code).toBe('RATE_LIMITED');
  expect((await signIn(otherIp, otherEmail)).status).toBe(200);
});
