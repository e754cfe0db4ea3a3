// SMS for the shop (girder/sms): verification codes for SMS login and phone linking, sent
// through the stack the issue describes, read from the outside in:
//
//   codeService            codes hashed in memory or Redis, single use, 3 guesses
//     asyncFallback        stores what cannot be sent now in the shop's database (sms_queue);
//                          one in-process worker sends it later, with retries
//       withRateLimit      the providers' own quota: a burst beyond it is queued, not lost
//         failover         round robin across the two mock providers
//           mock-1, mock-2 memorySms (+ consoleSms printing in `console` mode)
//
// The per-phone and per-IP limits on sending codes sit in front of codeService: their
// refusals are answered to the caller (429), never queued.
//
// `smsStack` builds the part from asyncFallback down; the notifications role of a cluster
// builds the same one over its own queue table (compose/notification-sms.ts).
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from 'girder/core';
import { exponential, failover } from 'girder/failover';
import type { Logger } from 'girder/logger';
import {
  type RateLimiter,
  type RateLimitStore,
  slidingWindow,
  withRateLimit,
} from 'girder/ratelimit';
import {
  type AsyncFallbackSms,
  asyncFallback,
  type CodeService,
  type CodeStore,
  codeService,
  memoryCodeStore,
  redisCodeStore,
  sqlSmsQueue,
} from 'girder/sms';
import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { ShopConfig } from '../config.js';
import { SMS_QUEUE_TABLE } from '../db/migrations.js';
import { type SmsOpsSnapshot, smsOps } from '../observe/ops-sms.js';
import type { BlockMetrics } from '../observe/watch.js';
import { type MockSmsProvider, mockSmsProvider } from '../sms/mock-providers.js';

/** The SMS template carrying a verification code (`{code}`). */
export const CODE_TEMPLATE = 'shop_code';

export interface ShopSms {
  /** Verification codes (purposes `login` and `link:<user id>`). */
  readonly codes: CodeService;
  /** The whole provider stack, behind the fallback queue. */
  readonly stack: AsyncFallbackSms;
  /** The two local mock providers, `mock-1` and `mock-2`. */
  readonly providers: readonly MockSmsProvider[];
  /** Code sends per phone and per client IP. */
  readonly limits: { perPhone: RateLimiter; perIp: RateLimiter };
  /** Where codes live: `memory` or `Redis`. */
  readonly codeStore: string;
  /** The ops page's SMS section. */
  ops(): Promise<SmsOpsSnapshot>;
  /** Watch every SMS block with girder/observability; returns the unwatch function. */
  watch(metrics: BlockMetrics): () => void;
  close(): Promise<void>;
}

/** What {@link smsStack} builds: the provider stack behind its fallback queue. */
export interface SmsStack {
  /** The whole provider stack, behind the fallback queue (its worker runs in it). */
  readonly stack: AsyncFallbackSms;
  /** The two local mock providers, `mock-1` and `mock-2`. */
  readonly providers: readonly MockSmsProvider[];
  /** The providers' own quota (`SHOP_SMS_PROVIDER_RATE`). */
  readonly providerQuota: RateLimiter;
  /** Stops the worker (the queued messages stay in the table). */
  close(): Promise<void>;
}

export interface SmsStackWiring {
  config: ShopConfig;
  // biome-ignore lint/suspicious/noExplicitAny: the queue table is girder/sms's, not in the shop's schema.
  db: Kysely<any>;
  /** The queue table (made by the owning role's migrations with `createSmsQueueTable`). */
  table: string;
  /** The queue's and the fallback's name (logs, metrics, events). */
  name: string;
  logger: Logger;
  clock: Clock;
  /**
   * The rate-limit store (memory or Redis). The provider quota is one limiter
   * (`sms-provider`, key `sms-providers`): every sender sharing the store shares it.
   */
  rateLimitStore: RateLimitStore;
}

/**
 * The SMS stack every sender of the shop uses: `asyncFallback` (queue table `table`, one
 * in-process worker retrying with backoff) over `withRateLimit` (the providers' quota)
 * over `failover` (round robin) across the two mock providers.
 */
export function smsStack({
  config,
  db,
  table,
  name,
  logger,
  clock,
  rateLimitStore,
}: SmsStackWiring): SmsStack {
  const { sms } = config;
  const providers = [
    mockSmsProvider('mock-1', sms.mode, logger),
    mockSmsProvider('mock-2', sms.mode, logger),
  ];
  const providerQuota = slidingWindow({
    ...sms.providerRate,
    name: 'sms-provider',
    store: rateLimitStore,
  });
  const retryBackoff = exponential({ initialMs: 1_000, maxMs: 60_000 });
  const stack = asyncFallback(
    withRateLimit(
      failover(providers, { strategy: 'round-robin', methods: ['send'] }),
      providerQuota,
      {
        key: 'sms-providers',
      },
    ),
    {
      queue: sqlSmsQueue(db, { table, maxAttempts: 5, clock, name }),
      // Every retryable failure is queued (not only once the detector says down): a message
      // that arrives a little late beats an error page or a lost notification.
      onSendError: 'queue',
      workers: 1,
      worker: {
        pollMs: 500,
        leaseMs: 10_000,
        // Whole milliseconds: the queue table stores times as bigint, and a jittered delay
        // is fractional (PostgreSQL refuses "1796030252609.09" for a bigint).
        backoff: { delayMs: (attempt) => Math.ceil(retryBackoff.delayMs(attempt)) },
      },
      clock,
      name,
    },
  );
  return { stack, providers, providerQuota, close: () => stack.close() };
}

export interface SmsWiring {
  config: ShopConfig;
  // biome-ignore lint/suspicious/noExplicitAny: the queue table is girder/sms's, not in the shop's schema.
  db: Kysely<any>;
  logger: Logger;
  clock: Clock;
  /** The shop's rate-limit store (memory or Redis), shared with its other limiters. */
  rateLimitStore: RateLimitStore;
}

export async function buildSms({
  config,
  db,
  logger,
  clock,
  rateLimitStore,
}: SmsWiring): Promise<ShopSms> {
  const cleanup: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => {});
  };
  try {
    const { sms } = config;
    const limiter = (name: string, quota: { limit: number; windowMs: number }) =>
      slidingWindow({ ...quota, name, store: rateLimitStore });
    const built = smsStack({
      config,
      db,
      table: SMS_QUEUE_TABLE,
      name: 'shop-sms',
      logger,
      clock,
      rateLimitStore,
    });
    cleanup.push(() => built.close());
    const { stack, providers, providerQuota } = built;

    // Codes in Redis when the shop has it (every instance sees every code), else in memory.
    let store: CodeStore;
    if (config.redisUrl !== undefined) {
      const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await redis.connect();
      cleanup.push(() =>
        redis.quit().then(
          () => {},
          () => redis.disconnect(),
        ),
      );
      store = redisCodeStore(redis, { prefix: `${config.redisPrefix}code` });
    } else {
      store = memoryCodeStore({ clock });
    }
    // Instances sharing Redis must hash codes with one key: derive it from the JWT secret.
    const secret =
      config.jwtSecret === undefined
        ? randomBytes(32)
        : createHmac('sha256', config.jwtSecret).update('shop-sms-codes').digest();
    const codes = codeService({
      sms: stack,
      store,
      template: CODE_TEMPLATE,
      secret,
      ttlMs: sms.codeTtlMs,
      resendAfterMs: sms.resendAfterMs,
      maxAttempts: 3,
      clock,
      name: 'shop-codes',
    });
    cleanup.push(() => codes.close());
    const view = smsOps(stack, providers);
    cleanup.push(view.stop);
    const limits = {
      perPhone: limiter('sms-code-phone', sms.limitPerPhone),
      perIp: limiter('sms-code-ip', sms.limitPerIp),
    };
    return {
      codes,
      stack,
      providers,
      limits,
      codeStore: store.kind,
      ops: view.snapshot,
      watch(metrics) {
        const blocks = [stack, codes, providerQuota, limits.perPhone, limits.perIp, ...providers];
        const unwatch = blocks.map((b) => metrics.watch(b));
        return () => {
          for (const u of unwatch) u();
        };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
