// The `start` event of the events interceptors: a listener (girder/observability's
// tracing) may ask for the rest of the call to run inside a scope of its own, e.g. with
// its span active, so the trace context the call carries (and the handler's own spans,
// on a server) hang under that span. Without `start` listeners nothing here runs.
import type { Metadata } from '@grpc/grpc-js';

/** Runs `fn` inside some ambient state (e.g. an OpenTelemetry context) and returns what it returns. */
export type CallScope = <T>(fn: () => T) => T;

/** The start of a call, as {@link eventsInterceptor} and {@link serverEventsInterceptor} report it. */
export interface CallStart {
  /** Full method path, e.g. `/pkg.Service/Method`. */
  readonly method: string;
  /** The request metadata, as this interceptor sees it. */
  readonly metadata: Metadata;
  /**
   * Run the rest of the call inside `scope`: on a client the interceptors after this one
   * and the call itself, on a server the interceptors after this one and the handler.
   * Scopes from several listeners nest, the first one outermost. Only during the event.
   */
  runIn(scope: CallScope): void;
}

/** @internal Emit `start` and return the event with the scope its listeners asked for. */
export function emitStart(
  events: { emit(event: 'start', payload: CallStart): void },
  method: string,
  metadata: Metadata,
): { started: CallStart; scope: CallScope | undefined } {
  const scopes: CallScope[] = [];
  let open = true;
  const started: CallStart = {
    method,
    metadata,
    runIn(scope) {
      if (open && typeof scope === 'function') scopes.push(scope);
    },
  };
  events.emit('start', started);
  open = false;
  if (scopes.length === 0) return { started, scope: undefined };
  const scope: CallScope = (fn) => {
    let run = fn;
    for (let i = scopes.length - 1; i >= 0; i--) {
      const outer = scopes[i]!;
      const inner = run;
      run = () => outer(inner);
    }
    return run();
  };
  return { started, scope };
}
