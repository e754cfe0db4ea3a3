// Test helpers: a shop on port 0 over an in-memory PGlite started from a cached,
// already-migrated template (PGlite's initdb takes seconds; loading a dump does not),
// and a small fetch client.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Clock } from 'girder/core';
import { type Logger, noopLogger } from 'girder/logger';
import { afterAll, beforeAll } from 'vitest';
import {
  type ClusterShop,
  type ClusterShopOptions,
  startClusterShop,
} from '../src/cluster/launch.js';
import { loadConfig, type ShopConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { createShop, type Shop } from '../src/shop.js';

const MIGRATIONS = new URL('../src/db/migrations.ts', import.meta.url);
/** Each role's migrations (the template is rebuilt when any of them changes). */
const ROLE_MIGRATIONS = new URL('../src/db/migrations/', import.meta.url);
const PGLITE_PACKAGE = new URL(
  '../../../node_modules/@electric-sql/pglite/package.json',
  import.meta.url,
);

/** A migrated, empty database dump, built once per migrations version and shared by test files. */
export async function template(): Promise<Blob> {
  const hash = createHash('sha256')
    .update(readFileSync(MIGRATIONS))
    .update(
      readdirSync(ROLE_MIGRATIONS)
        .sort()
        .map((f) => readFileSync(new URL(f, ROLE_MIGRATIONS), 'utf8'))
        .join('\n'),
    )
    .update(existsSync(PGLITE_PACKAGE) ? readFileSync(PGLITE_PACKAGE) : '')
    .digest('hex')
    .slice(0, 16);
  const file = join(tmpdir(), `girder-shop-pglite-${hash}.tar`);
  const lock = `${file}.lock`;
  const deadline = Date.now() + 60_000;
  while (!existsSync(file)) {
    let fd: number | undefined;
    try {
      fd = openSync(lock, 'wx');
    } catch {
      // Someone else is building it (or died doing so: a lock older than a minute is stale).
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) unlinkSync(lock);
      } catch {}
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      const fresh = await openDatabase({ kind: 'pglite' });
      const blob = await fresh.dump!();
      await fresh.close();
      const partial = `${file}.${process.pid}.tmp`;
      writeFileSync(partial, Buffer.from(await blob.arrayBuffer()));
      renameSync(partial, file);
    } finally {
      closeSync(fd);
      try {
        unlinkSync(lock);
      } catch {}
    }
  }
  if (!existsSync(file)) {
    const fresh = await openDatabase({ kind: 'pglite' });
    const blob = await fresh.dump!();
    await fresh.close();
    return blob;
  }
  return new Blob([readFileSync(file)]);
}

/** Config as the environment would give it, tuned for tests (cheap hashes, generous limits). */
export function testConfig(env: Record<string, string> = {}): ShopConfig {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SHOP_IN_MEMORY: 'true',
    SHOP_ADMIN_EMAIL: 'admin@test.local',
    SHOP_ADMIN_PASSWORD: 'admin-pass-1!',
    SHOP_JWT_SECRET: 'test-secret-test-secret-test-secret-1234',
    SHOP_PAYMENT_SECRET: 'test-payment-secret-1234',
    SHOP_PASSWORD_HASH_COST: '1024',
    SHOP_API_RATE_LIMIT: '100000/1m',
    SHOP_LOGIN_LIMIT_PER_IP: '100000/1m',
    SHOP_LOGIN_LIMIT_PER_ACCOUNT: '1000/1m',
    SHOP_SWEEP_INTERVAL: '1h',
    LOG_LEVEL: 'silent',
    // Over gRPC: a deadline for a loaded CI machine (200 concurrent checkouts on PGlite),
    // not for production; tests assert outcomes, never speed.
    SHOP_RPC_TIMEOUT: '60s',
    // The services' transport: the config's default (grpc) unless SHOP_TEST_TRANSPORT
    // says otherwise (`direct` runs a test file on plain object calls).
    ...(process.env.SHOP_TEST_TRANSPORT && { SHOP_TRANSPORT: process.env.SHOP_TEST_TRANSPORT }),
    ...env,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies loosely and assert on them.
type Json = any;

export interface Response<T = Json> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (no JSON encoding). */
  raw?: string;
  token?: string;
  headers?: Record<string, string>;
}

/** A fetch client for one base URL. */
export class Client {
  constructor(readonly base: string) {}

  async request<T = Json>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<Response<T>> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const res = await fetch(`${this.base}${path}`, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  get = <T = Json>(path: string, options?: RequestOptions) => this.request<T>('GET', path, options);
  post = <T = Json>(path: string, body?: unknown, options: RequestOptions = {}) =>
    this.request<T>('POST', path, { ...options, ...(body !== undefined && { body }) });
  put = <T = Json>(path: string, body?: unknown, options: RequestOptions = {}) =>
    this.request<T>('PUT', path, { ...options, ...(body !== undefined && { body }) });
}

export interface TestShop {
  shop: Shop;
  client: Client;
  /** `http://127.0.0.1:<port>` */
  base: string;
  close(): Promise<void>;
}

/**
 * Start a shop on port 0 with a fresh in-memory database (or on `DATABASE_URL` when the
 * env names one).
 */
export async function startShop(
  env: Record<string, string> = {},
  options: {
    clock?: Clock;
    logger?: Logger;
    spanExporter?: SpanExporter;
    /** How the gateway reaches the services (default SHOP_TEST_TRANSPORT, else the config's: grpc). */
    transport?: 'direct' | 'grpc';
  } = {},
): Promise<TestShop> {
  const config = testConfig({
    ...env,
    ...(options.transport && { SHOP_TRANSPORT: options.transport }),
  });
  const database =
    config.database.kind === 'pglite'
      ? await openDatabase({ kind: 'pglite', template: await template() })
      : undefined;
  const shop = await createShop(config, {
    ...(database && { database }),
    logger: options.logger ?? noopLogger(),
    ...(options.clock && { clock: options.clock }),
    ...(options.spanExporter && { spanExporter: options.spanExporter }),
  });
  await shop.listen();
  const { port } = shop.app.server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  return { shop, client: new Client(base), base, close: () => shop.close() };
}

let counter = 0;
/** A unique email for this test file run. */
export const uniqueEmail = (prefix = 'user') =>
  `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}@example.com`;

export const PASSWORD = 'correct-horse-1!';

export interface SignedIn {
  email: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

/** Sign up a new user and sign in. */
export async function newUser(client: Client, email = uniqueEmail()): Promise<SignedIn> {
  const signup = await client.post('/api/users/signup', {
    email,
    password: PASSWORD,
    confirmPassword: PASSWORD,
  });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${signup.text}`);
  return login(client, email, PASSWORD, signup.body.id);
}

/** A new user made through the users service and a token service session (no HTTP, no login). */
export async function quickUser(t: TestShop): Promise<SignedIn> {
  const email = uniqueEmail('quick');
  const user = await t.shop.services.users.signup(email, PASSWORD);
  const pair = await t.shop.tokens.issue(user.id, { claims: { role: user.role } });
  return { email, userId: user.id, accessToken: pair.accessToken, refreshToken: pair.refreshToken };
}

export async function login(
  client: Client,
  email: string,
  password: string,
  userId = '',
): Promise<SignedIn> {
  const res = await client.post('/api/users/login', { email, password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
  return { email, userId, accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
}

/** Sign in as the test admin. */
export const adminLogin = (client: Client) => login(client, 'admin@test.local', 'admin-pass-1!');

/** Create a product with `stock` units (as admin); resolves its id. */
export async function newProduct(
  client: Client,
  admin: SignedIn,
  stock: number,
  fields: { name?: string; priceCents?: number; category?: string } = {},
): Promise<number> {
  const res = await client.post(
    '/api/admin/products',
    {
      name: fields.name ?? `Test product ${++counter}`,
      description: 'made by a test',
      priceCents: fields.priceCents ?? 1_000,
      category: fields.category ?? 'books',
      stock,
    },
    { token: admin.accessToken },
  );
  if (res.status !== 201) throw new Error(`product create failed: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function stockOf(client: Client, productId: number): Promise<number> {
  const res = await client.get(`/api/products/${productId}`);
  return res.body.stock;
}

/** Place an order; resolves the response. */
export const placeOrder = (
  client: Client,
  user: SignedIn,
  items: Array<{ productId: number; quantity: number }>,
  requestId = `req-${++counter}-${Date.now()}`,
) => client.post('/api/orders', { items, requestId }, { token: user.accessToken });

/**
 * The value of the sample of `name` whose labels include `labels` (in any order), from
 * Prometheus text exposition; undefined when there is none. Several matches: summed.
 */
export function sampleOf(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  let found: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      have.set(k!, v!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v))
      found = (found ?? 0) + Number(m[3]);
  }
  return found;
}

/** `sampleOf` on the shop's registry right now. */
export async function metricOf(
  shop: Shop,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  return sampleOf(await shop.registry.metrics(), name, labels);
}

/** Pay fresh orders, a second apart on `clock`, until the payment breaker has closed. */
export async function recover(
  shop: TestShop,
  user: SignedIn,
  productId: number,
  manual: { advance(ms: number): void },
) {
  for (let i = 0; i < 40 && shop.shop.paymentBreaker.state !== 'closed'; i++) {
    const order = await placeOrder(shop.client, user, [{ productId, quantity: 1 }]);
    await shop.client.post(`/api/orders/${order.body.orderNo}/pay`, undefined, {
      token: user.accessToken,
    });
    manual.advance(1_000);
  }
  if (shop.shop.paymentBreaker.state !== 'closed')
    throw new Error('the payment breaker did not close');
}

/**
 * The environment of every process of a test cluster: the test admin, cheap hashes,
 * generous limits, SMS kept in memory, a fast outbox, quiet logs.
 */
export const CLUSTER_TEST_ENV: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  SHOP_ADMIN_EMAIL: 'admin@test.local',
  SHOP_ADMIN_PASSWORD: 'admin-pass-1!',
  SHOP_PASSWORD_HASH_COST: '1024',
  SHOP_API_RATE_LIMIT: '100000/1m',
  SHOP_LOGIN_LIMIT_PER_IP: '100000/1m',
  SHOP_LOGIN_LIMIT_PER_ACCOUNT: '1000/1m',
  SHOP_SMS: 'mock',
  SHOP_OUTBOX_POLL: '50ms',
  SHOP_RPC_TIMEOUT: '30s',
  LOG_LEVEL: 'warn',
};

/**
 * `npm run shop -- --cluster` from a test: real etcd, Redis and PostgreSQL, one process
 * per service instance (run through tsx), the gateway in this process on a free port
 * (`cluster.gatewayUrl`). `env` adds to {@link CLUSTER_TEST_ENV}; `roles` defaults to the
 * full layout (inventory and orders x2). Close it with `close()`.
 */
export function startTestCluster(
  options: Omit<ClusterShopOptions, 'env'> & { env?: Record<string, string> } = {},
): Promise<ClusterShop> {
  const { env, ...rest } = options;
  return startClusterShop({
    execArgv: ['--import', 'tsx'],
    gatewayPort: 0,
    shop: { logger: noopLogger() },
    ...rest,
    env: { ...CLUSTER_TEST_ENV, ...env },
  });
}

// --- A shop with the test admin signed in, started once for a file's (or a describe's) tests.

/** A running test shop and its signed-in test admin. */
export interface AdminShop extends TestShop {
  admin: SignedIn;
}

/**
 * Registers a `beforeAll` that runs `start` (default: {@link startShop} with no settings) and
 * signs in the test admin, and an `afterAll` that closes the shop, in the calling file or
 * describe. The returned object reads through to that shop once `beforeAll` has run (so use
 * it inside tests and later hooks only; before, it throws).
 */
export function useAdminShop(start: () => Promise<TestShop> = () => startShop()): AdminShop {
  return useStarted(async () => {
    const t = await start();
    try {
      return { ...t, admin: await adminLogin(t.client) };
    } catch (error) {
      await t.close();
      throw error;
    }
  });
}

/** Place an order of `quantity` units of `productId` for `user` and pay it on the mock provider; resolves its number. */
export async function buy(
  t: TestShop,
  user: SignedIn,
  productId: number,
  quantity: number,
): Promise<string> {
  const placed = await placeOrder(t.client, user, [{ productId, quantity }]);
  if (placed.status !== 201) throw new Error(`order failed: ${placed.status} ${placed.text}`);
  const orderNo = placed.body.orderNo as string;
  const pay = await t.client.post(`/api/orders/${orderNo}/pay`, undefined, {
    token: user.accessToken,
  });
  if (pay.status !== 200) throw new Error(`pay failed: ${pay.status} ${pay.text}`);
  const delivered = await t.shop.mockProvider.pay(pay.body.paymentUrl.split('/').pop());
  if (delivered !== 200) throw new Error(`the payment callback got ${delivered}`);
  return orderNo;
}

/**
 * Registers a `beforeAll` that runs `start` and an `afterAll` that closes what it gave, in
 * the calling file or describe; returns a stand-in that reads through to it (a Proxy, so
 * tests keep `t.client`, `t.shop`... as with a plain value) and throws if read before.
 */
export function useStarted<T extends { close(): Promise<void> }>(
  start: () => Promise<T>,
  startTimeoutMs?: number,
): T {
  let current: T | undefined;
  beforeAll(async () => {
    current = await start();
  }, startTimeoutMs);
  afterAll(() => current?.close());
  return new Proxy({} as T, {
    get(_, key) {
      if (!current) throw new Error('started in beforeAll: use it in tests and hooks only');
      return Reflect.get(current, key);
    },
  });
}
