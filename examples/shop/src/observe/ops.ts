// The ops page's data: one JSON snapshot of cumulative counters and histograms, read from
// the shop's prom-client registry (`getMetricsAsJSON`). The page polls it and computes
// rates and latency percentiles from the difference between two polls, so the server
// keeps no per-viewer state. Breaker transitions come from the breakers' own events
// (a counter says how many, not when).
import type { Breaker, BreakerState } from 'girder/breaker';
import type { Clock } from 'girder/core';
import type { Registry } from 'prom-client';
import { OPS_METRICS } from './names.js';

type Labels = Record<string, string | number | undefined>;
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}
interface Family {
  name: string;
  type: string;
  values: Sample[];
}

/** One route's request counts and latency histogram, cumulative since start. */
export interface RouteSnapshot {
  method: string;
  route: string;
  /** Requests answered. */
  count: number;
  /** Requests answered with a 5xx status. */
  errors: number;
  /** Seconds spent, summed. */
  sum: number;
  /** `[upper bound in seconds, cumulative count]`, ascending; the last bound is `Infinity` (sent as null). */
  buckets: Array<[number | null, number]>;
}

/** A breaker transition, timestamped by the shop's clock. */
export interface Transition {
  at: number;
  from: BreakerState;
  to: BreakerState;
  reason: string;
}

/** What `GET /api/admin/ops` answers. */
export interface OpsSnapshot {
  /** Wall-clock milliseconds of this snapshot (rates are per real second). */
  at: number;
  routes: RouteSnapshot[];
  /** Each limiter's decisions so far. */
  limiters: Array<{ name: string; allowed: number; denied: number }>;
  /** Each breaker: its state now, calls by outcome so far, its last transitions. */
  breakers: Array<{
    name: string;
    state: BreakerState;
    calls: Record<string, number>;
    transitions: Transition[];
  }>;
  /** Each failover target: attempts, retries, give-ups, and the state of its breaker. */
  targets: Array<{
    name: string;
    breaker: string;
    state: BreakerState;
    retries: number;
    giveUps: number;
    budgetExhausted: number;
  }>;
}

const label = (labels: Labels, keys: readonly string[]) => {
  for (const k of keys) if (labels[k] !== undefined) return String(labels[k]);
  return undefined;
};

/** Remembers the last `keep` transitions of each breaker it is given. */
export function transitionLog(clock: Clock, keep = 20) {
  const logs = new Map<string, Transition[]>();
  return {
    watch(breaker: Breaker): () => void {
      const log: Transition[] = [];
      logs.set(breaker.name, log);
      return breaker.events.on('stateChange', ({ from, to, reason }) => {
        log.push({ at: clock.now(), from, to, reason });
        if (log.length > keep) log.shift();
      });
    },
    of: (name: string): Transition[] => [...(logs.get(name) ?? [])],
  };
}

export interface OpsSources {
  registry: Registry;
  breakers: Breaker[];
  /** Failover targets: a name and the breaker in front of it. */
  targets: Array<{ name: string; breaker: Breaker }>;
  transitions: ReturnType<typeof transitionLog>;
}

/** Read one snapshot from the registry. */
export async function opsSnapshot(sources: OpsSources): Promise<OpsSnapshot> {
  const families = new Map<string, Family>();
  for (const f of (await sources.registry.getMetricsAsJSON()) as unknown as Family[])
    families.set(f.name, f);
  const N = OPS_METRICS;
  const samples = (name: string) => families.get(name)?.values ?? [];

  // Requests per route: one histogram, labelled by method, route template and status.
  const routes = new Map<string, RouteSnapshot>();
  for (const s of samples(N.http.duration)) {
    const method = label(s.labels, N.http.method) ?? '';
    const route = label(s.labels, N.http.route) ?? 'unmatched';
    const key = `${method} ${route}`;
    let r = routes.get(key);
    if (!r) {
      r = { method, route, count: 0, errors: 0, sum: 0, buckets: [] };
      routes.set(key, r);
    }
    const status = Number(label(s.labels, N.http.status) ?? 0);
    if (s.metricName?.endsWith('_count')) {
      r.count += s.value;
      if (status >= 500) r.errors += s.value;
    } else if (s.metricName?.endsWith('_sum')) r.sum += s.value;
    else if (s.metricName?.endsWith('_bucket')) {
      const le = s.labels.le === '+Inf' ? null : Number(s.labels.le);
      const b = r.buckets.find(([bound]) => bound === le);
      if (b) b[1] += s.value;
      else r.buckets.push([le, s.value]);
    }
  }
  for (const r of routes.values())
    r.buckets.sort(([a], [b]) => (a ?? Number.POSITIVE_INFINITY) - (b ?? Number.POSITIVE_INFINITY));

  const limiters = new Map<string, { name: string; allowed: number; denied: number }>();
  for (const s of samples(N.limiter.decisions)) {
    const name = label(s.labels, N.limiter.name) ?? '';
    const entry = limiters.get(name) ?? { name, allowed: 0, denied: 0 };
    limiters.set(name, entry);
    const outcome = label(s.labels, N.limiter.outcome);
    if (outcome !== undefined && (N.limiter.allowed as readonly string[]).includes(outcome))
      entry.allowed += s.value;
    else if (outcome !== undefined && (N.limiter.denied as readonly string[]).includes(outcome))
      entry.denied += s.value;
  }

  const calls = new Map<string, Record<string, number>>();
  for (const s of samples(N.breaker.calls)) {
    const name = label(s.labels, N.breaker.name) ?? '';
    const outcome = label(s.labels, N.breaker.outcome) ?? 'unknown';
    if (!(N.breaker.outcomes as readonly string[]).includes(outcome)) continue;
    const c = calls.get(name) ?? {};
    calls.set(name, c);
    c[outcome] = (c[outcome] ?? 0) + s.value;
  }
  const states = new Map<string, BreakerState>();
  for (const s of samples(N.breaker.state)) {
    const state = label(s.labels, N.breaker.stateLabel);
    if (s.value === 1 && state)
      states.set(label(s.labels, N.breaker.name) ?? '', state as BreakerState);
  }
  // Prefer the registry's gauge; fall back to the breaker itself if the gauge is absent.
  const stateOf = (b: Breaker) => states.get(b.name) ?? b.state;

  const sumWhere = (name: string, where: Array<[readonly string[], string]>) =>
    samples(name)
      .filter((s) => where.every(([keys, value]) => label(s.labels, keys) === value))
      .reduce((n, s) => n + s.value, 0);

  return {
    at: Date.now(),
    routes: [...routes.values()].sort((a, b) => a.route.localeCompare(b.route)),
    limiters: [...limiters.values()].sort((a, b) => a.name.localeCompare(b.name)),
    breakers: sources.breakers.map((b) => ({
      name: b.name,
      state: stateOf(b),
      calls: calls.get(b.name) ?? {},
      transitions: sources.transitions.of(b.name),
    })),
    targets: sources.targets.map(({ name, breaker }) => ({
      name,
      breaker: breaker.name,
      state: stateOf(breaker),
      retries: sumWhere(N.retry.events, [
        [N.retry.name, name],
        [N.retry.kind, 'retry'],
      ]),
      giveUps: sumWhere(N.retry.events, [
        [N.retry.name, name],
        [N.retry.kind, 'give_up'],
      ]),
      budgetExhausted: sumWhere(N.retry.budgetExhausted, [[N.retry.name, name]]),
    })),
  };
}
