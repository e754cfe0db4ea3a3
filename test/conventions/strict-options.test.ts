// Walks every function each public module exports. A factory (anything configured by an
// options object) must refuse a misspelt option with INVALID_OPTIONS naming it; every
// other export is listed below with the reason it takes no options object. A new export
// that is in neither list fails the walk, so the convention cannot be forgotten.
import { trace } from '@opentelemetry/api';
import { Etcd3 } from 'etcd3';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as balancer from '../../src/balancer/index.js';
import * as breaker from '../../src/breaker/index.js';
import * as cache from '../../src/cache/index.js';
import * as core from '../../src/core/index.js';
import * as failover from '../../src/failover/index.js';
import * as grpc from '../../src/grpc/index.js';
import * as http from '../../src/http/index.js';
import * as jobs from '../../src/jobs/index.js';
import * as jwt from '../../src/jwt/index.js';
import * as lock from '../../src/lock/index.js';
import * as logger from '../../src/logger/index.js';
import * as migrator from '../../src/migrator/index.js';
import * as mq from '../../src/mq/index.js';
import * as observability from '../../src/observability/index.js';
import * as ratelimit from '../../src/ratelimit/index.js';
import * as registry from '../../src/registry/index.js';
import { memoryRegistry as grpcTestRegistry } from '../../src/registry/index.js';
import * as sms from '../../src/sms/index.js';
import { sharedEtcdEndpoints, sharedRedisUrl } from '../harness/index.js';

const modules = {
  core,
  logger,
  ratelimit,
  breaker,
  failover,
  jwt,
  http,
  observability,
  lock,
  jobs,
  cache,
  sms,
  mq,
  grpc,
  migrator,
  balancer,
  registry,
} as const;

/** The misspelt option every factory gets. */
const TYPO = { zzMisspelt: 1 };

const redis = new Redis(sharedRedisUrl(), { lazyConnect: true });
afterAll(() => redis.disconnect());
const etcd = new Etcd3({ hosts: sharedEtcdEndpoints() });
afterAll(() => etcd.close());

/** A Kysely that answers every query with no rows (jobs' SQL factories need one). */
const dummyDb = new Kysely<unknown>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const target = { async send(_to: string) {} };
// sms sync-to-async: a provider, a queue and a PGlite-backed Kysely.
const smsTarget = {
  async send() {
    return { provider: 'x', messageIds: [], requestId: 'r' };
  },
};
const smsDb = new Kysely<unknown>({ dialect: new KyselyPGlite().dialect });
// PGlite starts on first use (seconds on a busy machine): not inside a test's timeout.
beforeAll(() => sql`SELECT 1`.execute(smsDb), 120_000);
afterAll(() => smsDb.destroy());
const hsKey = { kid: 'k1', alg: 'HS256', key: new Uint8Array(32).fill(7) } as const;
const policy = () => breaker.consecutiveFailures({ threshold: 3 });
const limiter = () => ratelimit.fixedWindow({ limit: 5, windowMs: 1_000 });
const tokens = () => jwt.tokenService({ keys: [hsKey], sessionStore: jwt.memorySessionStore() });

type Call = (typo: Record<string, unknown>) => unknown;

/** Every factory, called with valid options plus {@link TYPO}. */
const factories: Record<string, Record<string, Call>> = {
  core: {
    constant: (t) => core.constant({ delayMs: 1, ...t }),
    exponential: (t) => core.exponential({ initialMs: 1, ...t }),
    redisRunner: (t) => core.redisRunner(redis, t),
    sleep: (t) => core.sleep(1, t),
    withTimeout: (t) => core.withTimeout(async () => 1, { timeoutMs: 10, ...t }),
  },
  logger: {
    consoleLogger: (t) => logger.consoleLogger(t),
    memoryLogger: (t) => logger.memoryLogger(t),
    redactor: (t) => logger.redactor(t),
    serializeError: (t) => logger.serializeError(new Error('x'), t),
    handled: (t) => logger.handled(async () => 1, { logger: logger.noopLogger(), ...t }),
  },
  lock: {
    memoryLock: (t) => lock.memoryLock(t),
    redisLock: (t) => lock.redisLock(redis, t),
    fencedRedis: (t) => lock.fencedRedis(redis, t),
    etcdLock: (t) => lock.etcdLock(etcd, t),
  },
  ratelimit: {
    fixedWindow: (t) => ratelimit.fixedWindow({ limit: 1, windowMs: 1_000, ...t }),
    slidingWindow: (t) => ratelimit.slidingWindow({ limit: 1, windowMs: 1_000, ...t }),
    slidingWindowLog: (t) => ratelimit.slidingWindowLog({ limit: 1, windowMs: 1_000, ...t }),
    tokenBucket: (t) => ratelimit.tokenBucket({ capacity: 1, refillPerSec: 1, ...t }),
    leakyBucket: (t) => ratelimit.leakyBucket({ ratePerSec: 1, maxQueueMs: 1_000, ...t }),
    concurrencyLimit: (t) => ratelimit.concurrencyLimit({ max: 1, ...t }),
    memoryStore: (t) => ratelimit.memoryStore(t),
    redisStore: (t) => ratelimit.redisStore(redis, t),
    withRateLimit: (t) => ratelimit.withRateLimit(target, limiter(), { key: 'k', ...t }),
    rateLimited: (t) => ratelimit.rateLimited(target, { limiter: limiter(), key: 'k', ...t }),
  },
  breaker: {
    circuitBreaker: (t) => breaker.circuitBreaker({ policy: policy(), ...t }),
    consecutiveFailures: (t) => breaker.consecutiveFailures({ threshold: 3, ...t }),
    failureRate: (t) => breaker.failureRate({ threshold: 0.5, ...t }),
    slowCalls: (t) => breaker.slowCalls({ slowMs: 100, ...t }),
    adaptiveThrottle: (t) => breaker.adaptiveThrottle(t),
    withBreaker: (t) =>
      breaker.withBreaker(target, breaker.circuitBreaker({ policy: policy() }), t),
  },
  failover: {
    failover: (t) => failover.failover([target, target], t),
    timeoutFailover: (t) => failover.timeoutFailover([target, target], t),
    healthFailover: (t) => failover.healthFailover([target, target], t),
    trafficSplit: (t) =>
      failover.trafficSplit({ primary: target, secondary: target, percent: 10, ...t }),
    retry: (t) => failover.retry(async () => 1, t),
    retryBudget: (t) => failover.retryBudget(t),
    withRetry: (t) => failover.withRetry(target, t),
    withDeadline: (t) => failover.withDeadline(target, { timeoutMs: 10, ...t }),
    constant: (t) => failover.constant({ delayMs: 1, ...t }),
    exponential: (t) => failover.exponential({ initialMs: 1, ...t }),
  },
  jwt: {
    tokenService: (t) =>
      jwt.tokenService({ keys: [hsKey], sessionStore: jwt.memorySessionStore(), ...t }),
    authorizer: (t) => jwt.authorizer(t),
    oauthState: (t) => jwt.oauthState({ keys: [hsKey], ...t }),
    redisSessionStore: (t) => jwt.redisSessionStore(redis, t),
    redisPolicyStore: (t) => jwt.redisPolicyStore(redis, t),
  },
  http: {
    authGuard: (t) => http.authGuard({ tokens: tokens(), ...t }),
    authMiddleware: (t) => http.authMiddleware({ tokens: tokens(), ...t }),
    rateLimitMiddleware: (t) => http.rateLimitMiddleware({ limiter: limiter(), ...t }),
    fastifyAuth: async (t) => {
      const app = Fastify();
      try {
        await app.register(http.fastifyAuth, { tokens: tokens(), ...t });
        await app.ready();
      } finally {
        await app.close();
      }
    },
    rateLimitPlugin: async (t) => {
      const app = Fastify();
      try {
        await app.register(http.rateLimitPlugin, { limiter: limiter(), ...t });
        await app.ready();
      } finally {
        await app.close();
      }
    },
  },
  sms: {
    memorySms: (t) => sms.memorySms(t),
    consoleSms: (t) => sms.consoleSms(logger.noopLogger(), t),
    aliyunSms: (t) => sms.aliyunSms({ accessKeyId: 'a', accessKeySecret: 's', ...t }),
    tencentSms: (t) => sms.tencentSms({ secretId: 'a', secretKey: 's', sdkAppId: '1', ...t }),
    httpSms: (t) => sms.httpSms({ url: 'http://127.0.0.1:1/', ...t }),
    validateMessage: (t) => sms.validateMessage({ to: ['+8613800000000'], template: 't' }, t),
    tokenAuthSms: (t) => sms.tokenAuthSms(sms.memorySms(), { verify: () => ({}), ...t }),
    memoryCodeStore: (t) => sms.memoryCodeStore(t),
    redisCodeStore: (t) => sms.redisCodeStore(redis, t),
    codeService: (t) =>
      sms.codeService({ sms: sms.memorySms(), store: sms.memoryCodeStore(), template: 't', ...t }),
    // sync-to-async (queue, workers, detector)
    asyncFallback: (t) =>
      sms.asyncFallback(smsTarget, { queue: sms.memorySmsQueue(), workers: 0, ...t }),
    createSmsQueueTable: (t) => sms.createSmsQueueTable(smsDb, t),
    healthDetector: (t) => sms.healthDetector(t),
    memorySmsQueue: (t) => sms.memorySmsQueue(t),
    smsQueueWorker: (t) => sms.smsQueueWorker(smsTarget, { queue: sms.memorySmsQueue(), ...t }),
    sqlSmsQueue: (t) => sms.sqlSmsQueue(smsDb, t),
  },
  grpc: {
    registerEtcdResolver: (t) =>
      grpc.registerEtcdResolver(grpcTestRegistry(), { scheme: 'girderconventions', ...t }),
    registerBalancers: (t) => grpc.registerBalancers(t),
    registerPickerPolicy: (t) =>
      grpc.registerPickerPolicy(
        'girder_conventions',
        () => ({ kind: 'none', pick: () => undefined, report() {}, update() {} }),
        t,
      ),
    girderChannelOptions: (t) => grpc.girderChannelOptions('round_robin', t),
    // interceptors (grpcx)
    breakerInterceptor: (t) => grpc.breakerInterceptor(breaker.circuitBreaker(), t),
    retryInterceptor: (t) => grpc.retryInterceptor(t),
    deadlineInterceptor: (t) => grpc.deadlineInterceptor({ timeoutMs: 10, ...t }),
    eventsInterceptor: (t) => grpc.eventsInterceptor(t),
    rateLimitInterceptor: (t) =>
      grpc.rateLimitInterceptor(ratelimit.fixedWindow({ limit: 1, windowMs: 1_000 }), t),
    authInterceptor: (t) => grpc.authInterceptor({ verifyAccess: async () => ({}) as never }, t),
    degradationInterceptor: (t) => grpc.degradationInterceptor({ shedWhen: () => false, ...t }),
    loggingInterceptor: (t) => grpc.loggingInterceptor(logger.noopLogger(), t),
    serverEventsInterceptor: (t) => grpc.serverEventsInterceptor(t),
    // trace context (trace)
    traceContextInterceptor: (t) => grpc.traceContextInterceptor(t),
    traceContextServerInterceptor: (t) => grpc.traceContextServerInterceptor(t),
  },
  observability: {
    metrics: (t) => observability.metrics({ registry: new Registry(), ...t }),
    tracing: (t) => observability.tracing({ tracer: trace.getTracer('t'), redis: false, ...t }),
    httpMetricsMiddleware: (t) =>
      observability.httpMetricsMiddleware({
        metrics: observability.metrics({ registry: new Registry() }),
        ...t,
      }),
    httpMetrics: async (t) => {
      const app = Fastify();
      try {
        await app.register(observability.httpMetrics, {
          metrics: observability.metrics({ registry: new Registry() }),
          ...t,
        });
        await app.ready();
      } finally {
        await app.close();
      }
    },
  },
  cache: {
    cache: (t) => cache.cache({ ttlMs: 1_000, ...t }),
    memoryCacheStore: (t) => cache.memoryCacheStore(t),
    redisCacheStore: (t) => cache.redisCacheStore(redis, t),
    redisBus: (t) => cache.redisBus(redis, t),
    // cachex: counters, topN, rankingJob
    memoryCounters: (t) => cache.memoryCounters(t),
    redisCounters: (t) => cache.redisCounters(redis, t),
    rankingJob: async (t) => {
      const election = jobs.leaderElection({ locker: lock.memoryLock(), name: 'typo-ranking' });
      try {
        const job = cache.rankingJob({
          name: 'r',
          compute: () => 1,
          cache: { get: async () => undefined, set: async () => {} },
          everyMs: 1_000,
          election,
          runOnElected: false,
          ...t,
        });
        await job.close();
      } finally {
        await election.close();
      }
    },
    topN: (t) => cache.topN(() => ({ items: [] }), { n: 1, score: () => 0, ...t }),
  },
  balancer: {
    smoothWeightedRoundRobin: (t) => balancer.smoothWeightedRoundRobin(t),
    roundRobin: (t) => balancer.roundRobin(t),
    random: (t) => balancer.random(t),
    weightedRandom: (t) => balancer.weightedRandom(t),
    leastActive: (t) => balancer.leastActive(t),
    p2cEwma: (t) => balancer.p2cEwma(t),
    consistentHash: (t) => balancer.consistentHash(t),
    withEjection: (t) => balancer.withEjection(balancer.roundRobin(), t),
    balanced: (t) => {
      const discovery = {
        service: 's',
        instances: () => [],
        events: { on: () => () => {} },
      } as unknown as Parameters<typeof balancer.balanced>[0];
      return balancer.balanced(discovery, balancer.roundRobin(), async () => 1, t).close();
    },
  },
  jobs: {
    sqlScheduler: (t) => jobs.sqlScheduler(dummyDb, t),
    createJobTable: (t) => jobs.createJobTable(dummyDb, t),
    leaderElection: (t) =>
      jobs.leaderElection({ locker: lock.memoryLock(), name: 'typo', ...t }).close(),
    loadAwareElection: (t) =>
      jobs.loadAwareElection(redis, { name: 'typo', load: () => 1, ...t }).close(),
    scheduledJob: async (t) => {
      const election = jobs.leaderElection({ locker: lock.memoryLock(), name: 'typo' });
      try {
        await jobs.scheduledJob({ name: 'x', everyMs: 1_000, run() {}, election, ...t }).close();
      } finally {
        await election.close();
      }
    },
  },
  mq: {
    // outbox and idempotency
    memoryIdempotencyStore: (t) => mq.memoryIdempotencyStore(t),
    redisIdempotencyStore: (t) => mq.redisIdempotencyStore(redis, t),
    sqlIdempotencyStore: (t) => mq.sqlIdempotencyStore(dummyDb, t),
    createIdempotencyTable: (t) => mq.createIdempotencyTable(dummyDb, t),
    idempotent: (t) =>
      mq.idempotent(async () => {}, { store: mq.memoryIdempotencyStore(), key: () => 'k', ...t }),
    createOutboxTable: (t) => mq.createOutboxTable(dummyDb, t),
    outbox: (t) => mq.outbox(dummyDb, { producer: { async send() {} }, ...t }),
    // queue backends (mq engineer)
    memoryQueue: (t) => mq.memoryQueue(t),
    redisStreamsQueue: (t) => mq.redisStreamsQueue(redis, t),
    kafkaQueue: (t) => mq.kafkaQueue({ producer() {}, consumer() {}, admin() {} } as never, t),
  },
  migrator: {
    // validator
    validator: (t) =>
      void migrator.validator({
        source: dummyDb,
        target: dummyDb,
        table: 't',
        key: 'id',
        columns: [],
        ...t,
      }),
    createValidatorStateTable: (t) => migrator.createValidatorStateTable(dummyDb, t),
    // dual write, phase stores, fixer, control
    memoryPhaseStore: (t) => void migrator.memoryPhaseStore(t),
    livePhaseStore: (t) =>
      void migrator.livePhaseStore({ value: 'source-only', events: { on: () => () => {} } }, t),
    createPhaseTable: (t) => migrator.createPhaseTable(smsDb as never, t),
    sqlPhaseStore: async (t) => {
      await migrator.createPhaseTable(smsDb as never);
      await (await migrator.sqlPhaseStore(smsDb as never, t)).close();
    },
    createRepairLogTable: (t) => migrator.createRepairLogTable(dummyDb, t),
    dualWrite: (t) =>
      void migrator.dualWrite({
        source: dummyDb,
        target: dummyDb,
        table: 't',
        key: 'id',
        phase: migrator.memoryPhaseStore(),
        ...t,
      }),
    fixer: (t) =>
      void migrator.fixer({
        source: dummyDb,
        target: dummyDb,
        table: 't',
        key: 'id',
        version: 'version',
        primary: 'source',
        ...t,
      }),
    migrationControl: (t) =>
      migrator
        .migrationControl({
          phaseStore: migrator.memoryPhaseStore(),
          validator: migrator.validator({
            source: dummyDb,
            target: dummyDb,
            table: 't',
            key: 'id',
            columns: [],
          }),
          ...t,
        })
        .close(),
    migrationControlPlugin: (t) =>
      void migrator.migrationControlPlugin({
        control: migrator.migrationControl({
          phaseStore: migrator.memoryPhaseStore(),
          validator: migrator.validator({
            source: dummyDb,
            target: dummyDb,
            table: 't',
            key: 'id',
            columns: [],
          }),
        }),
        authorize: () => true,
        ...t,
      }),
  },
  registry: {
    memoryRegistry: (t) => registry.memoryRegistry(t).close(),
    etcdRegistry: (t) => registry.etcdRegistry(etcd, t).close(),
    watchConfig: (t) =>
      registry.watchConfig(registry.memoryConfigStore(), 'k', z.unknown(), t).close(),
    workerId: async (t) =>
      (await registry.workerId(registry.memoryRegistry(), { bits: 2, ...t })).close(),
    snowflake: (t) => registry.snowflake({ workerId: 1, ...t }),
  },
};

/** Exports that take no options object, and why. */
const notFactories: Record<string, Record<string, string>> = {
  core: {
    checkSignal: 'argument check',
    checkRedisClient: 'argument check',
    classifyRedisError: 'predicate over an error',
    decorate: 'takes `methods` only; every decorator built on it validates its own options',
    defaultSignalInto: 'default callback',
    defaultSignalOf: 'default callback',
    functionSchema: 'schema builder',
    isAbortSignal: 'predicate',
    isCallerCancellation: 'predicate',
    isGirderError: 'predicate',
    isRedisClient: 'predicate',
    isRedisPrefix: 'predicate',
    manualClock: 'takes a start time',
    methodNamesOf: 'introspection helper',
    parseOptions: 'the validator itself',
    redisKey: 'pure key builder',
    redisPrefixSchema: 'schema',
    redisScript: 'takes a Lua source',
    registeredRedisScripts: 'introspection helper',
    throwIfAborted: 'argument check',
  },
  logger: {
    annotate: 'takes log fields, any keys allowed',
    annotationsOf: 'reader',
    isLogged: 'predicate',
    logError: 'takes log fields, any keys allowed',
    maskEmail: 'pure formatter',
    maskPhone: 'pure formatter',
    noopLogger: 'no options',
    pinoLogger: 'covered below with its pino instance',
  },
  ratelimit: {},
  lock: {
    fencedUpdate: 'takes a write description: unknown fields throw INVALID_ARGUMENT',
  },
  breaker: { anyOf: 'takes policies' },
  failover: {
    defaultSignalInto: 'default callback',
    defaultSignalOf: 'default callback',
    isTimeoutError: 'predicate',
    stickyBucket: 'pure hash of a key',
  },
  jwt: {
    checkRegex: 'takes a pattern and limits checked by the authorizer',
    compilePattern: 'takes a pattern',
    memoryPolicyStore: 'no options',
    memorySessionStore: 'no options',
    resourceMatcher: 'takes patterns',
  },
  http: {
    authErrorResponse: 'formats an error',
    bearerToken: 'reads a header',
    decodeRequestPath: 'decodes a path',
    matchedPath: 'reads a request',
    rateLimitHeaders: 'formats a decision',
    readCookie: 'reads a header',
    refreshTokenOf: 'reads a request',
    requestToken: 'reads a request',
    tokenBody: 'formats tokens',
    tokenHeaders: 'formats tokens',
  },
  observability: {},
  cache: { memoryBus: 'no options' },
  grpc: {
    builtInPolicies: 'lists the policy names registerBalancers registers',
    // interceptors (grpcx)
    authClaimsOf: 'reads a call',
    girderCodeOf: 'maps a status code',
    grpcStatusOf: 'maps an error',
    // trace context (trace)
    withTraceContext: 'runs a function; its options are checked in test/grpc/trace-context.test.ts',
  },
  balancer: {
    hash32: 'pure hash function',
  },
  registry: {
    memoryConfigStore: 'no options',
    memoryRegistryStore: 'no options',
  },
  sms: {
    isE164: 'predicate',
    // sync-to-async
    isQueued: 'predicate',
  },
  mq: {},
};

describe('every exported function is classified', () => {
  for (const [name, mod] of Object.entries(modules)) {
    it(`girder/${name}`, () => {
      const exported = Object.entries(mod)
        .filter(([key, value]) => typeof value === 'function' && /^[a-z]/.test(key))
        .map(([key]) => key)
        .sort();
      const known = [
        ...Object.keys(factories[name] ?? {}),
        ...Object.keys(notFactories[name] ?? {}),
      ].sort();
      expect(exported).toEqual(known);
    });
  }
});

describe('a misspelt option throws INVALID_OPTIONS naming it', () => {
  for (const [name, calls] of Object.entries(factories)) {
    for (const [factory, call] of Object.entries(calls)) {
      it(`girder/${name} ${factory}`, async () => {
        // The base options are valid: only the typo can be what is refused.
        await expect(
          Promise.resolve().then(async () => void (await call({}))),
        ).resolves.toBeUndefined();
        let error: unknown;
        try {
          await call(TYPO);
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(core.InvalidOptionsError);
        expect((error as Error).message).toContain('zzMisspelt');
      });
    }
  }

  it('girder/logger pinoLogger', async () => {
    const { pino } = await import('pino');
    expect(() => logger.pinoLogger(pino({ enabled: false }), TYPO as never)).toThrow(
      core.InvalidOptionsError,
    );
  });
});
