import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { circuitBreaker, consecutiveFailures } from '../../src/breaker/index.js';
import { constant, manualClock, TimeoutError } from '../../src/core/index.js';
import {
  failover,
  healthFailover,
  retryBudget,
  timeoutFailover,
  trafficSplit,
  withDeadline,
  withRetry,
} from '../../src/failover/index.js';
import { authorizer, memorySessionStore, tokenService } from '../../src/jwt/index.js';
import { metrics } from '../../src/observability/index.js';
import { fixedWindow } from '../../src/ratelimit/index.js';
import { nonZero, series } from './helpers.js';

const limiter = (name = 'api') =>
  fixedWindow({ limit: 2, windowMs: 1_000, name, clock: manualClock() });

const breakerFor = () => {
  const clock = manualClock();
  const breaker = circuitBreaker({
    name: 'pay',
    policy: consecutiveFailures({ threshold: 2 }),
    openMs: 100,
    halfOpen: { probes: 1, ramp: [], stepMs: 10, stepSuccesses: 1 },
    callSampleEvery: 1, // time every call: the histogram below counts them all
    clock,
  });
  return { clock, breaker };
};

const boom = async () => {
  throw new Error('boom');
};

describe('metrics: rate limiters', () => {
  it('counts allowed and denied decisions under the limiter name', async () => {
    const registry = new Registry();
    const m = metrics({ registry });
    const l = limiter();
    m.watch(l);
    for (let i = 0; i < 5; i++) await l.limit('k');
    expect(await nonZero(registry, 'girder_ratelimit_decisions_total')).toEqual({
      'name=api,outcome=allowed': 2,
      'name=api,outcome=denied': 3,
    });
  });

  it('scraping twice never double-counts', async () => {
    const registry = new Registry();
    const l = limiter();
    metrics({ registry }).watch(l);
    await l.limit('k');
    await registry.metrics();
    await registry.metrics();
    expect(await nonZero(registry, 'girder_ratelimit_decisions_total')).toEqual({
      'name=api,outcome=allowed': 1,
    });
    await l.limit('k');
    await registry.getMetricsAsJSON();
    expect(await nonZero(registry, 'girder_ratelimit_decisions_total')).toEqual({
      'name=api,outcome=allowed': 2,
    });
  });

  it('watching the same block twice under one name counts once; a second name counts apart', async () => {
    const registry = new Registry();
    const m = metrics({ registry });
    const l = limiter();
    const a = m.watch(l);
    const b = m.watch(l);
    m.watch(l, { name: 'other' });
    await l.limit('k');
    expect(await nonZero(registry, 'girder_ratelimit_decisions_total')).toEqual({
      'name=api,outcome=allowed': 1,
      'name=other,outcome=allowed': 1,
    });
    a();
    await l.limit('k');
    b();
    await l.limit('k');
    expect(await nonZero(registry, 'girder_ratelimit_decisions_total')).toEqual({
      'name=api,outcome=allowed': 2,
      'name=other,outcome=allowed': 2,
      'name=other,outcome=denied': 1,
    });
  });

  it('after unwatch nothing changes', async () => {
    const registry = new Registry();
    const l = limiter();
    const unwatch = metrics({ registry }).watch(l);
    await l.limit('k');
    unwatch();
    unwatch(); // idempotent
    await l.limit('k');
    await l.limit('k');
    expect(await nonZero(registry, 'girder_ratelimit_decisions_total')).toEqual({
      'name=api,outcome=allowed': 1,
    });
  });

  it('two registries in one process do not collide, and two metrics() on one registry share its series', async () => {
    const r1 = new Registry();
    const r2 = new Registry();
    const l1 = limiter('one');
    const l2 = limiter('two');
    metrics({ registry: r1 }).watch(l1);
    metrics({ registry: r2 }).watch(l2);
    metrics({ registry: r1 }).watch(l2); // no "already registered"
    await l1.limit('k');
    await l2.limit('k');
    expect(await nonZero(r1, 'girder_ratelimit_decisions_total')).toEqual({
      'name=one,outcome=allowed': 1,
      'name=two,outcome=allowed': 1,
    });
    expect(await nonZero(r2, 'girder_ratelimit_decisions_total')).toEqual({
      'name=two,outcome=allowed': 1,
    });
  });

  it('after registry.clear() a new watch registers the series again (no stale, unscraped metric)', async () => {
    const registry = new Registry();
    const l = limiter();
    const m = metrics({ registry });
    m.watch(l)();
    registry.clear();
    m.watch(l);
    await l.limit('k');
    expect(await nonZero(registry, 'girder_ratelimit_decisions_total')).toEqual({
      'name=api,outcome=allowed': 1,
    });
  });

  it('prefix and constLabels apply to every series', async () => {
    const registry = new Registry();
    const l = limiter();
    metrics({ registry, prefix: 'x_', constLabels: { service: 'shop' } }).watch(l);
    await l.limit('k');
    expect(await nonZero(registry, 'x_ratelimit_decisions_total')).toEqual({
      'name=api,outcome=allowed,service=shop': 1,
    });
  });
});

describe('metrics: circuit breakers', () => {
  it('open and close: state gauge, transitions, calls by outcome and durations', async () => {
    const registry = new Registry();
    const { clock, breaker } = breakerFor();
    metrics({ registry }).watch(breaker);
    expect(await nonZero(registry, 'girder_breaker_state')).toEqual({ 'name=pay,state=closed': 1 });

    await breaker.execute(async () => 1);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(async () => 1)).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    expect(await nonZero(registry, 'girder_breaker_state')).toEqual({ 'name=pay,state=open': 1 });

    clock.advance(100);
    await breaker.execute(async () => 1); // the probe closes it (empty ramp)
    expect(breaker.state).toBe('closed');
    expect(await nonZero(registry, 'girder_breaker_state')).toEqual({ 'name=pay,state=closed': 1 });
    expect(await nonZero(registry, 'girder_breaker_events_total')).toEqual({
      'kind=success,name=pay': 2,
      'kind=failure,name=pay': 2,
      'kind=rejected,name=pay': 1,
      'kind=state_change,name=pay': 3,
    });
    expect(await nonZero(registry, 'girder_breaker_transitions_total')).toEqual({
      'from=closed,name=pay,to=open': 1,
      'from=open,name=pay,to=half-open': 1,
      'from=half-open,name=pay,to=closed': 1,
    });
    expect(await nonZero(registry, 'girder_breaker_call_duration_seconds')).toEqual({
      'name=pay,outcome=success': 2,
      'name=pay,outcome=failure': 2,
    });
  });

  it('counts every call exactly on the hot path, and times one in callSampleEvery', async () => {
    const registry = new Registry();
    const breaker = circuitBreaker({ name: 'hot', callSampleEvery: 10, clock: manualClock() });
    const unwatch = metrics({ registry }).watch(breaker);
    for (let i = 0; i < 25; i++) await breaker.execute(async () => 1);
    const cancel = new AbortController();
    const pending = breaker.execute(
      (signal) =>
        new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
      cancel.signal,
    );
    cancel.abort(new Error('caller gave up'));
    await expect(pending).rejects.toThrow('caller gave up');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.callCounts).toEqual({ success: 25, failure: 1, rejected: 0, ignored: 1 });
    expect(await nonZero(registry, 'girder_breaker_events_total')).toEqual({
      'kind=success,name=hot': 25,
      'kind=failure,name=hot': 1,
      'kind=ignored,name=hot': 1,
    });
    // Calls 10 and 20 were timed; 27 calls in all.
    expect(await nonZero(registry, 'girder_breaker_call_duration_seconds')).toEqual({
      'name=hot,outcome=success': 2,
    });
    // Scraping again adds nothing; after unwatch nothing changes.
    expect(await nonZero(registry, 'girder_breaker_events_total')).toMatchObject({
      'kind=success,name=hot': 25,
    });
    await breaker.execute(async () => 1);
    unwatch();
    for (let i = 0; i < 20; i++) await breaker.execute(async () => 1);
    expect(await nonZero(registry, 'girder_breaker_events_total')).toMatchObject({
      'kind=success,name=hot': 26,
    });
    expect(breaker.callCounts.success).toBe(46);
  });
});

describe('metrics: failover family', () => {
  const ok = { send: async (_m: string) => 'ok' };
  const bad = { send: async (_m: string): Promise<string> => Promise.reject(new Error('down')) };

  it('failover: attempts by target and outcome, switches by from/to, give-ups', async () => {
    const registry = new Registry();
    const f = failover([bad, ok], { name: 'sms' });
    metrics({ registry }).watch(f);
    await f.send('x');
    expect(await nonZero(registry, 'girder_failover_attempts_total')).toEqual({
      'name=sms,outcome=failure,target=0': 1,
      'name=sms,outcome=success,target=1': 1,
    });
    expect(await nonZero(registry, 'girder_failover_switches_total')).toEqual({
      'from=0,name=sms,reason=error,to=1': 1,
    });
    expect(await nonZero(registry, 'girder_failover_attempt_duration_seconds')).toEqual({
      'name=sms,outcome=failure,target=0': 1,
      'name=sms,outcome=success,target=1': 1,
    });
    const all = failover([bad, bad], { name: 'dead' });
    metrics({ registry }).watch(all);
    await expect(all.send('x')).rejects.toMatchObject({ code: 'ALL_TARGETS_FAILED' });
    expect(await nonZero(registry, 'girder_failover_events_total')).toEqual({
      'kind=attempt,name=sms': 2,
      'kind=switch,name=sms': 1,
      'kind=attempt,name=dead': 2,
      'kind=switch,name=dead': 1,
      'kind=give_up,name=dead': 1,
    });
  });

  it('timeoutFailover: one attempt per call on the current target; a timeout streak switches', async () => {
    const registry = new Registry();
    const slow = {
      send: async (_m: string): Promise<string> => {
        throw new TimeoutError(10);
      },
    };
    const t = timeoutFailover([slow, ok], { name: 'tf', threshold: 2 });
    metrics({ registry }).watch(t);
    await expect(t.send('a')).rejects.toThrow();
    await expect(t.send('b')).rejects.toThrow();
    await t.send('c');
    expect(await nonZero(registry, 'girder_failover_attempts_total')).toEqual({
      'name=tf,outcome=failure,target=0': 2,
      'name=tf,outcome=success,target=1': 1,
    });
    expect(await nonZero(registry, 'girder_failover_switches_total')).toEqual({
      'from=0,name=tf,reason=timeouts,to=1': 1,
    });
  });

  it('healthFailover: target up gauge read on scrape', async () => {
    const registry = new Registry();
    const h = healthFailover([ok, ok], {
      name: 'hf',
      clock: manualClock(),
      probeIntervalMs: 1_000,
    });
    metrics({ registry }).watch(h);
    expect(await series(registry, 'girder_failover_target_up')).toEqual({
      'name=hf,target=0': 1,
      'name=hf,target=1': 1,
    });
    h.control.markDown(1);
    expect(await series(registry, 'girder_failover_target_up')).toEqual({
      'name=hf,target=0': 1,
      'name=hf,target=1': 0,
    });
    await h.control.close();
  });

  it('trafficSplit: routes by side and the percent gauge', async () => {
    const registry = new Registry();
    const s = trafficSplit({ primary: ok, secondary: ok, percent: 0, name: 'gray' });
    metrics({ registry }).watch(s);
    await s.send('a');
    s.control.setPercent(100);
    await s.send('b');
    expect(await nonZero(registry, 'girder_traffic_split_routes_total')).toEqual({
      'name=gray,to=primary': 1,
      'name=gray,to=secondary': 1,
    });
    expect(await series(registry, 'girder_traffic_split_percent')).toEqual({ 'name=gray': 100 });
  });

  it('withRetry: retries, give-ups by reason, budget exhaustion; the budget gauges', async () => {
    const registry = new Registry();
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0, minPerSec: 0, clock, name: 'b' });
    const flaky = withRetry(bad, { attempts: 3, backoff: constant({ delayMs: 0 }) }, { name: 'r' });
    const budgeted = withRetry(
      bad,
      { attempts: 3, budget, backoff: constant({ delayMs: 0 }) },
      { name: 'rb' },
    );
    const m = metrics({ registry });
    m.watch(flaky);
    m.watch(budgeted);
    m.watch(budget);
    await expect(flaky.send('x')).rejects.toThrow('down');
    await expect(budgeted.send('x')).rejects.toThrow('down');
    expect(await nonZero(registry, 'girder_retry_events_total')).toEqual({
      'kind=retry,name=r': 2,
      'kind=give_up,name=r': 1,
      'kind=give_up,name=rb': 1,
    });
    expect(await nonZero(registry, 'girder_retry_give_ups_total')).toEqual({
      'name=r,reason=attempts': 1,
      'name=rb,reason=budget': 1,
    });
    expect(await nonZero(registry, 'girder_retry_budget_exhausted_total')).toEqual({
      'name=rb': 1,
    });
    expect(await series(registry, 'girder_retry_budget_calls')).toEqual({ 'name=b': 1 });
    expect(await series(registry, 'girder_retry_budget_available')).toEqual({ 'name=b': 0 });
  });

  it('withDeadline: timeouts', async () => {
    const registry = new Registry();
    const clock = manualClock();
    const slow = { send: (_m: string) => new Promise<string>(() => {}) };
    const d = withDeadline(slow, { timeoutMs: 50, clock }, { name: 'dl' });
    metrics({ registry }).watch(d);
    const pending = d.send('x');
    const settled = expect(pending).rejects.toMatchObject({ code: 'TIMEOUT' });
    await clock.advanceAsync(50);
    await settled;
    expect(await nonZero(registry, 'girder_deadline_events_total')).toEqual({
      'kind=timeout,name=dl': 1,
    });
  });
});

describe('metrics: jwt', () => {
  const key = { kid: 'k1', alg: 'HS256', key: new Uint8Array(32).fill(7) } as const;

  it('issued, verified, refreshed, reuse detected and revocations', async () => {
    const registry = new Registry();
    const tokens = tokenService({
      keys: [key],
      sessionStore: memorySessionStore(),
      name: 'auth',
      reuseGraceMs: 0,
    });
    metrics({ registry }).watch(tokens);
    const pair = await tokens.issue('alice');
    await tokens.verifyAccess(pair.accessToken);
    const next = await tokens.refresh(pair.refreshToken);
    await expect(tokens.refresh(pair.refreshToken)).rejects.toBeDefined(); // reuse
    await expect(tokens.verifyAccess('nope')).rejects.toBeDefined();
    const other = await tokens.issue('bob');
    await tokens.logout(other.sessionId);
    expect(next.sessionId).toBe(pair.sessionId);
    const events = await nonZero(registry, 'girder_jwt_events_total');
    expect(events).toMatchObject({
      'kind=issued,name=auth': 2,
      'kind=verified,name=auth': 1,
      'kind=refreshed,name=auth': 1,
      'kind=reuse_detected,name=auth': 1,
      'kind=logged_out,name=auth': 1,
    });
    expect(await nonZero(registry, 'girder_jwt_sessions_revoked_total')).toEqual({
      'name=auth,reason=reuse': 1,
      'name=auth,reason=logout': 1,
    });
    expect(
      Object.keys(await nonZero(registry, 'girder_jwt_rejections_total')).length,
    ).toBeGreaterThan(0);
  });

  it('authorizer decisions by outcome', async () => {
    const registry = new Registry();
    const authz = authorizer({
      rules: {
        roles: { reader: [{ actions: ['read'], resource: '/docs/*', match: 'glob' }] },
        grants: { alice: ['reader'] },
      },
    });
    metrics({ registry }).watch(authz, { name: 'rbac' });
    authz.can('alice', 'read', '/docs/a');
    authz.can('alice', 'write', '/docs/a');
    expect(await nonZero(registry, 'girder_authz_decisions_total')).toEqual({
      'name=rbac,outcome=allowed': 1,
      'name=rbac,outcome=denied': 1,
    });
    await authz.close();
  });
});

describe('metrics: bad input', () => {
  it('refuses a misspelt option, a non-registry and an unknown block', () => {
    expect(() => metrics({ registry: new Registry(), prefx: 'a' } as never)).toThrow(/prefx/);
    expect(() => metrics({ registry: {} as never })).toThrow(/registry/);
    expect(() => metrics({ registry: new Registry(), constLabels: { name: 'x' } })).toThrow(
      /constLabels/,
    );
    const m = metrics({ registry: new Registry() });
    expect(() => m.watch({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => m.watch(limiter(), { nmae: 'x' } as never)).toThrow(/nmae/);
  });

  it("a metric name someone else registered is refused with INVALID_ARGUMENT, not prom-client's error", async () => {
    const registry = new Registry();
    const { Counter } = await import('prom-client');
    new Counter({ name: 'girder_ratelimit_decisions_total', help: 'x', registers: [registry] });
    expect(() => metrics({ registry }).watch(limiter())).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('metrics: histograms', () => {
  it('render as Prometheus histograms: cumulative buckets, +Inf, _sum and _count', async () => {
    const registry = new Registry();
    const clock = manualClock();
    const breaker = circuitBreaker({ name: 'h', clock, callSampleEvery: 1 });
    metrics({ registry, buckets: [0.01, 0.1] }).watch(breaker);
    await breaker.execute(async () => {
      clock.advance(5); // 5 ms
      return 1;
    });
    await breaker.execute(async () => {
      clock.advance(50); // 50 ms
      return 1;
    });
    const text = await registry.getSingleMetricAsString('girder_breaker_call_duration_seconds');
    expect(text).toContain('# TYPE girder_breaker_call_duration_seconds histogram');
    expect(text).toContain(
      'girder_breaker_call_duration_seconds_bucket{name="h",outcome="success",le="0.01"} 1',
    );
    expect(text).toContain(
      'girder_breaker_call_duration_seconds_bucket{name="h",outcome="success",le="0.1"} 2',
    );
    expect(text).toContain(
      'girder_breaker_call_duration_seconds_bucket{name="h",outcome="success",le="+Inf"} 2',
    );
    expect(text).toContain(
      'girder_breaker_call_duration_seconds_sum{name="h",outcome="success"} 0.055',
    );
    expect(text).toContain(
      'girder_breaker_call_duration_seconds_count{name="h",outcome="success"} 2',
    );
    registry.resetMetrics();
    expect(await nonZero(registry, 'girder_breaker_call_duration_seconds')).toEqual({});
  });
});
