/**
 * Prometheus metrics (prom-client) and OpenTelemetry traces (`@opentelemetry/api`)
 * built from the typed events of girder blocks: `metrics().watch(block)` for limiters,
 * breakers, every failover decorator, retry and its budget, deadlines, token services
 * and authorizers; `tracing().watch(block)` plus a span per Redis round trip; and
 * `httpMetrics` (Fastify) / `httpMetricsMiddleware` (Node) for the OTel HTTP server
 * metrics. The registry and tracer are always yours; the global default registry is
 * never touched.
 *
 * @module observability
 */

export type { WatchableBlock } from './block.js';
export {
  HTTP_DURATION_BUCKETS,
  type HttpMetricsMiddlewareOptions,
  type HttpMetricsOptions,
  httpMetrics,
  httpMetricsMiddleware,
} from './http.js';
export {
  DEFAULT_DURATION_BUCKETS,
  type Metrics,
  type MetricsOptions,
  metrics,
  type WatchOptions,
} from './metrics.js';
export { type Tracing, type TracingOptions, tracing } from './tracing.js';
