/**
 * What watching costs: the hot paths of a memory limiter and a closed breaker with
 * `metrics().watch()` (and `tracing().watch()` with no OTel SDK registered) against the
 * same block unwatched, and the `httpMetrics` Fastify plugin against a bare route (both
 * through `app.inject`). Ratios are watched / unwatched throughput: 0.77 or more means the
 * watched path costs at most 1.3x the unwatched one.
 */
import { trace } from '@opentelemetry/api';
import Fastify from 'fastify';
import { circuitBreaker, consecutiveFailures } from 'girder/breaker';
import { httpMetrics, metrics, tracing } from 'girder/observability';
import { fixedWindow } from 'girder/ratelimit';
import { Registry } from 'prom-client';
import type { BenchSuite, Runner } from '../harness.js';

let sink = 0;
const fn = async () => 1;

const limiter = () => fixedWindow({ limit: 1e12, windowMs: 60_000, name: 'bench' });
const bareLimiter = limiter();
const watchedLimiter = limiter();
const tracedLimiter = limiter();
const registry = new Registry();
const m = metrics({ registry });
m.watch(watchedLimiter);
const t = tracing({ tracer: trace.getTracer('bench'), redis: false });
t.watch(tracedLimiter);

const breaker = () =>
  circuitBreaker({ name: 'bench', policy: consecutiveFailures({ threshold: 5 }) });
const bareBreaker = breaker();
const watchedBreaker = breaker();
m.watch(watchedBreaker);
// A bare callSample listener (what watching subscribes to, besides scrape-time totals):
// isolates what girder/observability's mapping adds from the breaker's sampling.
const listenedBreaker = breaker();
listenedBreaker.events.on('callSample', () => {});

const limitLoop =
  (l: ReturnType<typeof limiter>): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) if ((await l.limit('k')).allowed) sink++;
  };
const breakerLoop =
  (b: ReturnType<typeof breaker>): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) sink += await b.execute(fn);
  };

const app = async (watched: boolean) => {
  const a = Fastify();
  if (watched) await a.register(httpMetrics, { metrics: metrics({ registry: new Registry() }) });
  a.get('/items/:id', async () => ({ ok: true }));
  await a.ready();
  return a;
};
const bareApp = await app(false);
const watchedApp = await app(true);
const injectLoop =
  (a: Awaited<ReturnType<typeof app>>): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++)
      sink += (await a.inject({ method: 'GET', url: '/items/7' })).statusCode;
  };

export const suite: BenchSuite = {
  name: 'observability',
  cases: [
    {
      name: 'memory fixedWindow limit(), metrics().watch vs unwatched',
      girder: limitLoop(watchedLimiter),
      peers: [{ name: 'unwatched', run: limitLoop(bareLimiter) }],
    },
    {
      name: 'memory fixedWindow limit(), tracing().watch (no SDK) vs unwatched',
      girder: limitLoop(tracedLimiter),
      peers: [{ name: 'unwatched', run: limitLoop(bareLimiter) }],
    },
    {
      name: 'breaker execute (closed), metrics().watch vs unwatched',
      girder: breakerLoop(watchedBreaker),
      peers: [{ name: 'unwatched', run: breakerLoop(bareBreaker) }],
    },
    {
      name: 'breaker execute (closed), metrics().watch vs a no-op callSample listener',
      girder: breakerLoop(watchedBreaker),
      peers: [{ name: 'callSample listener', run: breakerLoop(listenedBreaker) }],
    },
    {
      name: 'Fastify route via inject, httpMetrics vs bare',
      girder: injectLoop(watchedApp),
      peers: [{ name: 'bare Fastify', run: injectLoop(bareApp) }],
    },
  ],
};

export const sinkValue = () => sink;
