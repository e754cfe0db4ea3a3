// Service spans: every async method of a service runs in an INTERNAL span named
// `<service>.<method>` (girder/core `decorate`), under the request span.
import { context, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { decorate } from 'girder/core';

/** `service` with each call in a span; `settle` ends query spans a failure left open. */
export function traceService<T extends object>(
  service: T,
  name: string,
  tracer: Tracer,
  settle: (span: import('@opentelemetry/api').Span) => void,
): T {
  return decorate(service, (call, next) => {
    const span = tracer.startSpan(`${name}.${call.method}`, {
      attributes: { 'code.function.name': `${name}.${call.method}` },
    });
    return context.with(trace.setSpan(context.active(), span), async () => {
      try {
        return await next();
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
        throw err;
      } finally {
        settle(span);
        span.end();
      }
    });
  });
}
