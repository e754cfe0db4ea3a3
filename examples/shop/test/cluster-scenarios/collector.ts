// A small OTLP/HTTP (JSON) trace collector for the cluster scenarios: every process of the
// shared cluster exports its spans here (SHOP_TRACING=otlp), kept with the service.name of
// the process that sent them.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span as the collector received it, with the service.name of the process that sent it. */
export interface Collected {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}

interface OtlpValue {
  stringValue?: string;
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: OtlpValue }> };
    scopeSpans?: Array<{
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string }>;
    }>;
  }>;
}

export interface Collector {
  /** Every span received so far (while `keep` is on). */
  readonly spans: Collected[];
  /** What the cluster needs to export here (every 200 ms rather than every 5 s). */
  readonly env: Record<string, string>;
  /** Off: later spans are answered but not kept (the tracing scenario is done with them). */
  keep: boolean;
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  const spans: Collected[] = [];
  const collector: Collector = {
    spans,
    env: {},
    keep: true,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && collector.keep) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
        for (const rs of body.resourceSpans ?? []) {
          const service =
            rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              spans.push({
                service,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
              });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  Object.assign(collector.env, {
    SHOP_TRACING: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  return collector;
}
