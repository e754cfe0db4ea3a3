// Tracing switch (SHOP_TRACING): off, console or OTLP/HTTP. When on, the shop owns a
// tracer provider (never replacing one the embedder registered) and makes sure an
// AsyncLocalStorage context manager is installed, so request -> service -> database
// spans find their parents across awaits.
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { TracingConfig } from '../config.js';

/** The shop's tracer and how to flush it. */
export interface ShopTracing {
  readonly tracer: Tracer;
  /** Flush pending spans and stop exporting. */
  shutdown(): Promise<void>;
}

let contextManagerInstalled = false;

/**
 * Start tracing as configured, or with `exporter` (tests); undefined when off. The spans'
 * `service.name` is OTEL_SERVICE_NAME when set, else `serviceName`.
 */
export function startTracing(
  config: TracingConfig,
  exporter?: SpanExporter,
  serviceName = 'girder-shop',
): ShopTracing | undefined {
  let processor: SpanProcessor;
  if (exporter) processor = new SimpleSpanProcessor(exporter);
  else if (config.kind === 'console')
    processor = new SimpleSpanProcessor(new ConsoleSpanExporter());
  else if (config.kind === 'otlp')
    processor = new BatchSpanProcessor(
      new OTLPTraceExporter({ url: `${config.endpoint}/v1/traces` }),
    );
  else return undefined;

  const provider = new NodeTracerProvider({
    // Without a resource every span reports service.name "unknown_service:node".
    resource: resourceFromAttributes({
      'service.name': process.env.OTEL_SERVICE_NAME || serviceName,
    }),
    spanProcessors: [processor],
  });
  if (!contextManagerInstalled) {
    // register() installs the AsyncLocalStorage context manager and, if none is set yet,
    // makes this the global provider; a second shop in the process keeps the first's.
    provider.register();
    contextManagerInstalled = true;
  }
  return {
    tracer: provider.getTracer('girder-shop'),
    shutdown: () => provider.shutdown(),
  };
}
