import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_ADMIN_EMAIL,
  DEFAULT_ADMIN_PASSWORD,
  DEFAULT_DATA_DIR,
  loadConfig,
  parseDuration,
} from '../src/config.js';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('runs on embedded defaults with an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      database: { kind: 'pglite', dataDir: DEFAULT_DATA_DIR },
      redisUrl: undefined,
      admin: { email: DEFAULT_ADMIN_EMAIL, password: DEFAULT_ADMIN_PASSWORD, isDefault: true },
      orderTimeoutMs: 15 * 60_000,
      seed: true,
    });
    expect(DEFAULT_DATA_DIR).toMatch(/examples[/\\]shop[/\\]\.data$/);
  });

  it('serves the services over in-process gRPC by default; SHOP_TRANSPORT=direct calls them directly', () => {
    expect(loadConfig({}).rpc).toMatchObject({ transport: 'grpc', timeoutMs: 5_000, weight: 1 });
    expect(loadConfig({ SHOP_TRANSPORT: 'direct' }).rpc.transport).toBe('direct');
    expect(problems({ SHOP_TRANSPORT: 'http' })).toEqual([
      expect.stringContaining('SHOP_TRANSPORT'),
    ]);
  });

  it('switches to PostgreSQL, Redis and in-memory PGlite', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/shop' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://u:p@db:5432/shop',
    });
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379' }).redisUrl).toBe('redis://cache:6379');
    expect(loadConfig({ SHOP_IN_MEMORY: 'yes' }).database).toEqual({
      kind: 'pglite',
      dataDir: undefined,
    });
    expect(loadConfig({}, { inMemory: true }).database).toEqual({
      kind: 'pglite',
      dataDir: undefined,
    });
  });

  it('reads durations, quotas and the admin account', () => {
    const c = loadConfig({
      PORT: '8080',
      SHOP_ORDER_TIMEOUT: '90s',
      SHOP_API_RATE_LIMIT: '100/10s',
      SHOP_ADMIN_EMAIL: 'Boss@Example.com',
      SHOP_ADMIN_PASSWORD: 'sup3r-secret!',
      SHOP_PUBLIC_URL: 'https://shop.example.com/',
      PORT_UNRELATED: 'ignored',
    });
    expect(c).toMatchObject({
      port: 8080,
      orderTimeoutMs: 90_000,
      apiRateLimit: { limit: 100, windowMs: 10_000 },
      admin: { email: 'boss@example.com', password: 'sup3r-secret!', isDefault: false },
      publicUrl: 'https://shop.example.com',
    });
    expect(loadConfig({ PORT: '' }).port).toBe(3000); // empty means unset
  });

  it('lists every bad variable with what it should be', () => {
    const list = problems({
      PORT: 'abc',
      SHOP_ORDER_TIMEOUT: 'soon',
      DATABASE_URL: 'mysql://localhost/shop',
      SHOP_API_RATE_LIMIT: 'lots',
      SHOP_IN_MEMORY: 'maybe',
      LOG_LEVEL: 'loud',
    });
    expect(list).toHaveLength(6);
    expect(list).toContain('PORT: expected a whole number (got "abc")');
    expect(list.find((p) => p.startsWith('SHOP_ORDER_TIMEOUT:'))).toContain(
      'like 500ms, 30s, 15m or 2h',
    );
    expect(list.find((p) => p.startsWith('DATABASE_URL:'))).toContain('postgres://');
    expect(list.find((p) => p.startsWith('SHOP_API_RATE_LIMIT:'))).toContain('e.g. 20/1m');
    expect(problems({ PORT: '70000' })).toEqual([
      'PORT: must be between 0 and 65535 (got "70000")',
    ]);
    expect(problems({ SHOP_ORDER_TIMEOUT: '10ms' })[0]).toContain('between 1000 ms');
    expect(problems({ SHOP_PASSWORD_HASH_COST: '3000' })[0]).toContain('power of two');
  });

  it('never echoes secrets in its messages', () => {
    const [line] = problems({ SHOP_ADMIN_PASSWORD: 'weakpassword' });
    expect(line).toMatch(/^SHOP_ADMIN_PASSWORD: password must be 8 to 72 characters/);
    expect(line).not.toContain('weakpassword');
    expect(problems({ SHOP_JWT_SECRET: 'short' })[0]).toBe(
      'SHOP_JWT_SECRET: must be at least 32 characters',
    );
  });
});

describe('cluster variables', () => {
  it('leaves them unset outside the cluster', () => {
    expect(loadConfig({}).cluster).toEqual({
      etcdEndpoints: undefined,
      role: undefined,
      gatewayUrl: undefined,
    });
  });

  it('reads ETCD_ENDPOINTS, SHOP_ROLE and SHOP_GATEWAY_URL', () => {
    const c = loadConfig({
      ETCD_ENDPOINTS: ' http://10.0.0.2:2379, https://10.0.0.3:2379 ,',
      SHOP_ROLE: 'payments',
      SHOP_GATEWAY_URL: 'http://127.0.0.1:3000/',
    });
    expect(c.cluster).toEqual({
      etcdEndpoints: ['http://10.0.0.2:2379', 'https://10.0.0.3:2379'],
      role: 'payments',
      gatewayUrl: 'http://127.0.0.1:3000',
    });
  });

  it('refuses endpoints that are not URLs, an unknown role and a bad gateway URL', () => {
    const list = problems({
      ETCD_ENDPOINTS: 'http://10.0.0.2:2379,10.0.0.3:2379',
      SHOP_ROLE: 'gateway',
      SHOP_GATEWAY_URL: 'ftp://gw',
    });
    expect(list).toHaveLength(3);
    expect(list.find((p) => p.startsWith('ETCD_ENDPOINTS'))).toContain('http://127.0.0.1:2379');
    expect(list.find((p) => p.startsWith('SHOP_ROLE:'))).toContain(
      'expected one of users, catalog, inventory, orders, payments, notifications',
    );
    expect(list.find((p) => p.startsWith('SHOP_GATEWAY_URL:'))).toContain('http://127.0.0.1:3000');
    expect(problems({ ETCD_ENDPOINTS: ' , ' })[0]).toMatch(/^ETCD_ENDPOINTS/);
  });

  it('lists them in --help', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', main, '--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    for (const name of ['ETCD_ENDPOINTS', 'SHOP_ROLE', 'SHOP_GATEWAY_URL']) {
      expect(result.stdout).toContain(name);
    }
  });
});

describe('tracing and the payment breaker', () => {
  it('keeps tracing off by default and reads SHOP_TRACING', () => {
    expect(loadConfig({}).tracing).toEqual({ kind: 'off' });
    expect(loadConfig({ SHOP_TRACING: 'console' }).tracing).toEqual({ kind: 'console' });
    expect(
      loadConfig({ SHOP_TRACING: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })
        .tracing,
    ).toEqual({ kind: 'otlp', endpoint: 'http://collector:4318' });
  });

  it('refuses an unknown exporter, and otlp without an endpoint', () => {
    expect(problems({ SHOP_TRACING: 'jaeger' })[0]).toMatch(
      /^SHOP_TRACING: expected off, console or otlp/,
    );
    expect(problems({ SHOP_TRACING: 'otlp' })).toEqual([
      'OTEL_EXPORTER_OTLP_ENDPOINT: must be set when SHOP_TRACING=otlp',
    ]);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' })[0]).toMatch(
      /^OTEL_EXPORTER_OTLP_ENDPOINT: expected a URL/,
    );
  });

  it('reads the payment breaker open period', () => {
    expect(loadConfig({}).paymentBreakerOpenMs).toBe(10_000);
    expect(loadConfig({ SHOP_PAYMENT_BREAKER_OPEN: '500ms' }).paymentBreakerOpenMs).toBe(500);
    expect(problems({ SHOP_PAYMENT_BREAKER_OPEN: '10ms' })[0]).toContain('between 100 ms');
  });
});

describe('parseDuration', () => {
  it.each([
    ['1500', 1500],
    ['1500ms', 1500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1.5h', undefined],
    ['-1s', undefined],
    ['', undefined],
  ])('%s -> %s', (text, ms) => expect(parseDuration(text)).toBe(ms));
});

describe('npm run shop', () => {
  it('stops with a clear message and exit code 1 on bad configuration', () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, PORT: 'abc', SHOP_ORDER_TIMEOUT: 'soon' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('The shop cannot start: invalid shop configuration:');
    expect(result.stderr).toContain('PORT: expected a whole number (got "abc")');
    expect(result.stderr).toContain('SHOP_ORDER_TIMEOUT:');
    expect(result.stdout).toBe('');
  });
});
