// Configuration from environment variables, validated with zod. A bad value stops
// startup with one line per problem, naming the variable and what it should be.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { DatabaseConfig } from './db/database.js';
import type { MigrationConfig } from './migration/orders-migration.js';
import { SERVICE_NAMES, type ServiceName } from './rpc/protos.js';
import { PASSWORD_RULE, passwordSchema } from './users/rules.js';

/** A quota such as `20/1m`: `limit` requests per `windowMs`. */
export interface Quota {
  limit: number;
  windowMs: number;
}

/** The shop's settings, after validation. */
export interface ShopConfig {
  /** TCP port (`PORT`); 0 picks a free one. */
  port: number;
  /** Interface to listen on (`HOST`). */
  host: string;
  /** Trust `X-Forwarded-For` from a reverse proxy for client IPs (`SHOP_TRUST_PROXY`). */
  trustProxy: boolean;
  /** Base URL browsers and the payment provider use to reach the shop (`SHOP_PUBLIC_URL`); default from host and port. */
  publicUrl: string | undefined;
  /** PGlite (embedded) or PostgreSQL (`DATABASE_URL`). */
  database: DatabaseConfig;
  /** Redis for rate limits, sessions and authorization rules (`REDIS_URL`); memory when unset. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key the shop writes (`SHOP_REDIS_PREFIX`). */
  redisPrefix: string;
  /** The admin account created at startup. */
  admin: { email: string; password: string; isDefault: boolean };
  /** Unpaid orders are cancelled after this long (`SHOP_ORDER_TIMEOUT`). */
  orderTimeoutMs: number;
  /** How often expired orders are looked for (`SHOP_SWEEP_INTERVAL`). */
  sweepIntervalMs: number;
  /** How often failed refunds are tried again (`SHOP_REFUND_RETRY_INTERVAL`). */
  refundRetryIntervalMs: number;
  /** TTL of the background-jobs leadership lock; a dead leader is replaced within about this long (`SHOP_LEADER_TTL`). */
  leaderTtlMs: number;
  /** How long catalog reads (products, categories) stay cached (`SHOP_CACHE_TTL`). */
  cacheTtlMs: number;
  /** How often the popular-products ranking is recomputed (`SHOP_POPULAR_INTERVAL`). */
  popularIntervalMs: number;
  /** How often the outbox relay looks for new events once drained (`SHOP_OUTBOX_POLL`); the queue is Redis Streams with REDIS_URL, in memory otherwise. */
  outboxPollMs: number;
  /** HMAC secret for tokens (`SHOP_JWT_SECRET`); random per process when unset. */
  jwtSecret: string | undefined;
  /** Shared secret signing payment-provider callbacks (`SHOP_PAYMENT_SECRET`). */
  paymentSecret: string | undefined;
  /** Payment provider base URL (`SHOP_PAYMENT_PROVIDER_URL`); default the built-in mock provider. */
  paymentProviderUrl: string | undefined;
  /** Per-IP quota on every `/api` request (`SHOP_API_RATE_LIMIT`). */
  apiRateLimit: Quota;
  /** Login attempts per client IP (`SHOP_LOGIN_LIMIT_PER_IP`). */
  loginLimitPerIp: Quota;
  /** Login attempts per account (`SHOP_LOGIN_LIMIT_PER_ACCOUNT`). */
  loginLimitPerAccount: Quota;
  /** scrypt cost N for password hashes (`SHOP_PASSWORD_HASH_COST`). */
  passwordHashCost: number;
  /** Seed demo categories and products into an empty catalog (`SHOP_SEED`). */
  seed: boolean;
  /** Log level (`LOG_LEVEL`). */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Log format (`LOG_FORMAT`). */
  logFormat: 'json' | 'pretty';
  /** How long the payment breaker stays open before probing the provider again (`SHOP_PAYMENT_BREAKER_OPEN`). */
  paymentBreakerOpenMs: number;
  /** Where spans go (`SHOP_TRACING`): nowhere (default), the console, or OTLP/HTTP. */
  tracing: TracingConfig;
  /** SMS codes and their providers (girder/sms). */
  sms: SmsConfig;
  /** The live-migration demo of the `orders` table (`SHOP_MIGRATION*`); off when undefined. */
  migration?: MigrationConfig | undefined;
  /** How the gateway reaches the services (`SHOP_TRANSPORT`), and the gRPC settings. */
  rpc: RpcConfig;
  /** Where a cluster process finds the others (`ETCD_ENDPOINTS`, `SHOP_ROLE`, `SHOP_GATEWAY_URL`). */
  cluster: ClusterConfig;
}

/**
 * A cluster process's place in it; every field is unset outside `--cluster` (the launcher
 * sets them for its service processes).
 */
export interface ClusterConfig {
  /** The etcd registry (`ETCD_ENDPOINTS`, comma-separated URLs). */
  etcdEndpoints: string[] | undefined;
  /** The service role this process runs (`SHOP_ROLE`). */
  role: ServiceName | undefined;
  /** How a service process reaches the gateway (`SHOP_GATEWAY_URL`): the payments role calls the mock provider there. */
  gatewayUrl: string | undefined;
}

/** Service transport, from the `SHOP_TRANSPORT` and `SHOP_RPC_*` variables. */
export interface RpcConfig {
  /** `grpc` (default): over in-process gRPC on loopback, each service on its own server; `direct`: the gateway calls the service objects. */
  transport: 'direct' | 'grpc';
  /** Deadline of a service call that has none (`SHOP_RPC_TIMEOUT`). */
  timeoutMs: number;
  /** Calls per caller (a user, else the end client the gateway calls for, else the internal work together) per service method, on each server (`SHOP_RPC_RATE_LIMIT`). */
  rateLimit: Quota;
  /** The weight each service instance registers with (`SHOP_RPC_WEIGHT`); `girder_swrr` balances on it. */
  weight: number;
}

/** SMS settings, from the `SHOP_SMS*` variables. */
export interface SmsConfig {
  /** What the two mock providers do with a message (`SHOP_SMS`): print it to the log (`console`, default) or only keep it in memory (`mock`). */
  mode: 'console' | 'mock';
  /** Code sends per phone number (`SHOP_SMS_LIMIT_PER_PHONE`). */
  limitPerPhone: Quota;
  /** Code sends per client IP (`SHOP_SMS_LIMIT_PER_IP`). */
  limitPerIp: Quota;
  /** What the providers accept from the shop (`SHOP_SMS_PROVIDER_RATE`); beyond it messages are queued. */
  providerRate: Quota;
  /** How long a code is valid (`SHOP_SMS_CODE_TTL`). */
  codeTtlMs: number;
  /** How long before another code may be sent to a phone (`SHOP_SMS_RESEND_AFTER`). */
  resendAfterMs: number;
}

/** Tracing export, from `SHOP_TRACING` and `OTEL_EXPORTER_OTLP_ENDPOINT`. */
export type TracingConfig =
  | { kind: 'off' }
  | { kind: 'console' }
  | { kind: 'otlp' /** OTLP/HTTP base URL; spans go to `<url>/v1/traces`. */; endpoint: string };

/** The local defaults of the admin account, documented in docs/shop.md. */
export const DEFAULT_ADMIN_EMAIL = 'admin@shop.local';
export const DEFAULT_ADMIN_PASSWORD = 'admin-pass-1!';

/** Default PGlite data directory: `examples/shop/.data`, whatever the working directory. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../.data', import.meta.url));

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `1500`, `1500ms`, `30s`, `15m`, `2h` -> milliseconds; undefined when unreadable. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNITS[m[2] ?? 'ms']!;
}

const duration = (min: number, max: number) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a duration like 500ms, 30s, 15m or 2h' });
      return z.NEVER;
    }
    if (ms < min || ms > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} ms and ${max} ms` });
      return z.NEVER;
    }
    return ms;
  });

const quota = z.string().transform((text, ctx): Quota => {
  const m = /^(\d+)\s*\/\s*(\S+)$/.exec(text.trim());
  const limit = m ? Number(m[1]) : Number.NaN;
  const windowMs = m ? parseDuration(m[2]!) : undefined;
  if (!m || !(limit >= 1) || limit > 1_000_000_000 || windowMs === undefined || windowMs < 1) {
    ctx.addIssue({ code: 'custom', message: 'expected <count>/<duration>, e.g. 20/1m' });
    return z.NEVER;
  }
  return { limit, windowMs };
});

const bool = z.string().transform((text, ctx) => {
  const v = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true or false (1/0, yes/no)' });
  return z.NEVER;
});

const url = (protocols: string[], example: string) =>
  z.string().refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { message: `expected a URL like ${example}` },
  );

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);

const env = z.object({
  PORT: integer(0, 65_535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  SHOP_TRUST_PROXY: bool.default(false),
  SHOP_PUBLIC_URL: url(['http:', 'https:'], 'http://localhost:3000').optional(),
  DATABASE_URL: url(
    ['postgres:', 'postgresql:'],
    'postgres://user:pass@localhost:5432/shop',
  ).optional(),
  SHOP_DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  SHOP_IN_MEMORY: bool.default(false),
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://localhost:6379').optional(),
  SHOP_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'must be 1-64 letters, digits, :, _ or -')
    .default('shop:'),
  SHOP_ADMIN_EMAIL: z.email('expected an email address').optional(),
  SHOP_ADMIN_PASSWORD: passwordSchema.optional(),
  SHOP_ORDER_TIMEOUT: duration(1_000, 7 * 24 * 3_600_000).default(15 * 60_000),
  SHOP_SWEEP_INTERVAL: duration(100, 3_600_000).default(5_000),
  SHOP_REFUND_RETRY_INTERVAL: duration(100, 3_600_000).default(5_000),
  SHOP_LEADER_TTL: duration(500, 600_000).default(10_000),
  SHOP_CACHE_TTL: duration(100, 24 * 3_600_000).default(30_000),
  SHOP_POPULAR_INTERVAL: duration(100, 24 * 3_600_000).default(60_000),
  SHOP_OUTBOX_POLL: duration(10, 60_000).default(500),
  SHOP_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SHOP_PAYMENT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  SHOP_PAYMENT_PROVIDER_URL: url(['http:', 'https:'], 'http://localhost:3000/mock-pay').optional(),
  SHOP_API_RATE_LIMIT: quota.default({ limit: 600, windowMs: 60_000 }),
  SHOP_LOGIN_LIMIT_PER_IP: quota.default({ limit: 30, windowMs: 60_000 }),
  SHOP_LOGIN_LIMIT_PER_ACCOUNT: quota.default({ limit: 10, windowMs: 15 * 60_000 }),
  SHOP_PASSWORD_HASH_COST: integer(1_024, 1_048_576)
    .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
    .default(16_384),
  SHOP_SEED: bool.default(true),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).default('pretty'),
  SHOP_PAYMENT_BREAKER_OPEN: duration(100, 3_600_000).default(10_000),
  SHOP_TRACING: z
    .enum(['off', 'console', 'otlp'], { message: 'expected off, console or otlp' })
    .default('off'),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:'], 'http://localhost:4318').optional(),
  SHOP_SMS: z.enum(['console', 'mock'], { message: 'expected console or mock' }).default('console'),
  SHOP_SMS_LIMIT_PER_PHONE: quota.default({ limit: 5, windowMs: 3_600_000 }),
  SHOP_SMS_LIMIT_PER_IP: quota.default({ limit: 20, windowMs: 3_600_000 }),
  SHOP_SMS_PROVIDER_RATE: quota.default({ limit: 50, windowMs: 1_000 }),
  SHOP_SMS_CODE_TTL: duration(10_000, 3_600_000).default(600_000),
  SHOP_SMS_RESEND_AFTER: duration(1_000, 3_600_000).default(60_000),
  SHOP_MIGRATION: bool.default(false),
  SHOP_MIGRATION_TARGET_URL: url(
    ['postgres:', 'postgresql:'],
    'postgres://user:pass@localhost:5432/shop_orders',
  ).optional(),
  SHOP_MIGRATION_PHASE_POLL: duration(10, 60_000).default(1_000),
  SHOP_TRANSPORT: z
    .enum(['direct', 'grpc'], { message: 'expected direct or grpc' })
    .default('grpc'),
  SHOP_RPC_TIMEOUT: duration(10, 600_000).default(5_000),
  SHOP_RPC_RATE_LIMIT: quota.default({ limit: 1_000, windowMs: 1_000 }),
  SHOP_RPC_WEIGHT: integer(1, 1_000).default(1),
  // The cluster (`--cluster`): set by the launcher for its processes, or by hand for
  // servers you run (docs/shop.md, "A cluster on servers you run").
  ETCD_ENDPOINTS: z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(url(['http:', 'https:'], 'http://127.0.0.1:2379'))
        .min(1, 'expected comma-separated URLs like http://127.0.0.1:2379'),
    )
    .optional(),
  SHOP_ROLE: z
    .enum(SERVICE_NAMES, { message: `expected one of ${SERVICE_NAMES.join(', ')}` })
    .optional(),
  SHOP_GATEWAY_URL: url(['http:', 'https:'], 'http://127.0.0.1:3000').optional(),
});

/** The variables the shop reads (docs and `--help`). */
export const CONFIG_VARIABLES = Object.keys(env.shape);

/** The configuration is unusable; `problems` has one line per bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid shop configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const SECRET = /SECRET|PASSWORD/;

/**
 * Read the configuration from environment variables (unset and empty mean "default").
 * Throws {@link ConfigError} listing every bad variable.
 */
export function loadConfig(
  source: Record<string, string | undefined> = process.env,
  flags: { inMemory?: boolean } = {},
): ShopConfig {
  const input: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = source[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = env
    .superRefine((e, ctx) => {
      if (e.SHOP_TRACING === 'otlp' && e.OTEL_EXPORTER_OTLP_ENDPOINT === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['OTEL_EXPORTER_OTLP_ENDPOINT'],
          message: 'must be set when SHOP_TRACING=otlp',
        });
      }
    })
    .safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '');
        const raw = input[name];
        const shown = raw === undefined || SECRET.test(name) ? '' : ` (got ${JSON.stringify(raw)})`;
        return `${name}: ${issue.message}${shown}`;
      }),
    );
  }
  const e = result.data;
  const inMemory = flags.inMemory === true || e.SHOP_IN_MEMORY;
  return {
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.SHOP_TRUST_PROXY,
    publicUrl: e.SHOP_PUBLIC_URL?.replace(/\/+$/, ''),
    database:
      e.DATABASE_URL !== undefined
        ? { kind: 'postgres', url: e.DATABASE_URL }
        : { kind: 'pglite', dataDir: inMemory ? undefined : e.SHOP_DATA_DIR },
    redisUrl: e.REDIS_URL,
    redisPrefix: e.SHOP_REDIS_PREFIX,
    admin: {
      email: (e.SHOP_ADMIN_EMAIL ?? DEFAULT_ADMIN_EMAIL).toLowerCase(),
      password: e.SHOP_ADMIN_PASSWORD ?? DEFAULT_ADMIN_PASSWORD,
      isDefault: e.SHOP_ADMIN_PASSWORD === undefined,
    },
    orderTimeoutMs: e.SHOP_ORDER_TIMEOUT,
    sweepIntervalMs: e.SHOP_SWEEP_INTERVAL,
    refundRetryIntervalMs: e.SHOP_REFUND_RETRY_INTERVAL,
    leaderTtlMs: e.SHOP_LEADER_TTL,
    cacheTtlMs: e.SHOP_CACHE_TTL,
    popularIntervalMs: e.SHOP_POPULAR_INTERVAL,
    outboxPollMs: e.SHOP_OUTBOX_POLL,
    jwtSecret: e.SHOP_JWT_SECRET,
    paymentSecret: e.SHOP_PAYMENT_SECRET,
    paymentProviderUrl: e.SHOP_PAYMENT_PROVIDER_URL?.replace(/\/+$/, ''),
    apiRateLimit: e.SHOP_API_RATE_LIMIT,
    loginLimitPerIp: e.SHOP_LOGIN_LIMIT_PER_IP,
    loginLimitPerAccount: e.SHOP_LOGIN_LIMIT_PER_ACCOUNT,
    passwordHashCost: e.SHOP_PASSWORD_HASH_COST,
    seed: e.SHOP_SEED,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    paymentBreakerOpenMs: e.SHOP_PAYMENT_BREAKER_OPEN,
    tracing:
      e.SHOP_TRACING === 'otlp' && e.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined
        ? { kind: 'otlp', endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '') }
        : e.SHOP_TRACING === 'console'
          ? { kind: 'console' }
          : { kind: 'off' },
    sms: {
      mode: e.SHOP_SMS,
      limitPerPhone: e.SHOP_SMS_LIMIT_PER_PHONE,
      limitPerIp: e.SHOP_SMS_LIMIT_PER_IP,
      providerRate: e.SHOP_SMS_PROVIDER_RATE,
      codeTtlMs: e.SHOP_SMS_CODE_TTL,
      resendAfterMs: e.SHOP_SMS_RESEND_AFTER,
    },
    // The live-migration demo: on with SHOP_MIGRATION or a target URL. Without a URL the
    // target is a second PGlite, in memory or next to the main data directory.
    migration:
      e.SHOP_MIGRATION || e.SHOP_MIGRATION_TARGET_URL !== undefined
        ? {
            target:
              e.SHOP_MIGRATION_TARGET_URL !== undefined
                ? { kind: 'postgres', url: e.SHOP_MIGRATION_TARGET_URL }
                : {
                    kind: 'pglite',
                    dataDir:
                      e.DATABASE_URL === undefined && !inMemory
                        ? `${e.SHOP_DATA_DIR.replace(/\/+$/, '')}-orders`
                        : undefined,
                  },
            phasePollMs: e.SHOP_MIGRATION_PHASE_POLL,
          }
        : undefined,
    rpc: {
      transport: e.SHOP_TRANSPORT,
      timeoutMs: e.SHOP_RPC_TIMEOUT,
      rateLimit: e.SHOP_RPC_RATE_LIMIT,
      weight: e.SHOP_RPC_WEIGHT,
    },
    cluster: {
      etcdEndpoints: e.ETCD_ENDPOINTS,
      role: e.SHOP_ROLE,
      gatewayUrl: e.SHOP_GATEWAY_URL?.replace(/\/+$/, ''),
    },
  };
}

export { PASSWORD_RULE };
