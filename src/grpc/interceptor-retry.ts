import {
  InterceptingCall,
  type Interceptor,
  type InterceptorOptions,
  Metadata,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import { z } from 'zod';
import { type Backoff, type Clock, clockSchema, parseOptions, systemClock } from '../core/index.js';
import type { RetryBudget } from '../failover/index.js';

const codeList = z.array(z.nativeEnum(status)).min(1);

/** Options of {@link retryInterceptor}. */
export interface RetryInterceptorOptions {
  /** Attempts in all, the first included (1-10). Default 3. */
  maxAttempts?: number;
  /** Delay before each retry (girder/core backoffs). Default no delay. */
  backoff?: Backoff;
  /** Shared girder/failover retry budget; when it is dry, the last failure is returned. */
  budget?: RetryBudget;
  /** Statuses worth retrying. Default `[UNAVAILABLE]` (the request did not reach a handler, or the server shed it). */
  retryOn?: readonly status[];
  /** Time source for the backoff. Default `systemClock`. */
  clock?: Clock;
  /** Name of this interceptor, for logs. */
  name?: string;
}

const retrySchema = z.strictObject({
  maxAttempts: z.number().int().min(1).max(10).default(3),
  backoff: z
    .custom<Backoff>((v) => typeof (v as Backoff | null)?.delayMs === 'function', {
      message: 'must be a Backoff',
    })
    .optional(),
  budget: z
    .custom<RetryBudget>(
      (v) =>
        typeof (v as RetryBudget | null)?.tryAcquire === 'function' &&
        typeof (v as RetryBudget).recordCall === 'function',
      { message: 'must be a RetryBudget' },
    )
    .optional(),
  retryOn: codeList.default([status.UNAVAILABLE]),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).optional(),
});

interface OuterListener {
  onReceiveMetadata(metadata: Metadata): void;
  onReceiveMessage(message: unknown): void;
  onReceiveStatus(status: StatusObject): void;
}

interface Outcome {
  metadata: Metadata | undefined;
  message: unknown;
  hasMessage: boolean;
  status: StatusObject | undefined;
}

/**
 * A client interceptor retrying unary calls that end with a retryable status, up to
 * `maxAttempts`, spending one unit of `budget` per retry. The response of a failed
 * attempt is never shown to the caller; the caller sees the final attempt only. The
 * call's deadline covers every attempt. Use it on unary methods only: streaming calls
 * pass through untouched.
 *
 * @example
 * ```ts
 * import { exponential } from 'girder/core';
 * import { retryBudget } from 'girder/failover';
 * import { retryInterceptor } from 'girder/grpc';
 *
 * const retries = retryInterceptor({
 *   maxAttempts: 3,
 *   backoff: exponential({ initialMs: 20 }),
 *   budget: retryBudget({ ratio: 0.1 }),
 * });
 * const client = new UserClient(target, creds, { interceptors: [retries] });
 * ```
 */
export function retryInterceptor(options: RetryInterceptorOptions = {}): Interceptor {
  const { maxAttempts, backoff, budget, retryOn, clock } = parseOptions(
    'retryInterceptor',
    retrySchema,
    options,
  );
  const retryable = new Set(retryOn);
  return (callOptions: InterceptorOptions, nextCall) => {
    const { requestStream, responseStream } = callOptions.method_definition;
    if (requestStream || responseStream) return new InterceptingCall(nextCall(callOptions));
    let outer: OuterListener | undefined;
    let metadata: Metadata | undefined;
    let request: unknown;
    let current = nextCall(callOptions);
    let cancelled = false;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    let attempt = 0;
    let previousDelay: number | undefined;
    let halfClosed = false;
    let afterHalfClose: (() => void) | undefined;

    const deliver = (o: Outcome) => {
      if (!outer || !o.status) return;
      if (o.metadata) outer.onReceiveMetadata(o.metadata);
      if (o.hasMessage) outer.onReceiveMessage(o.message);
      outer.onReceiveStatus(o.status);
    };

    const run = (call: typeof current, first: boolean) => {
      attempt++;
      const o: Outcome = {
        metadata: undefined,
        message: undefined,
        hasMessage: false,
        status: undefined as StatusObject | undefined,
      };
      const listener = {
        onReceiveMetadata: (md: Metadata) => {
          o.metadata = md;
        },
        onReceiveMessage: (msg: unknown) => {
          o.message = msg;
          o.hasMessage = true;
        },
        onReceiveStatus: (s: StatusObject) => {
          if (o.status !== undefined) return; // one status per attempt
          o.status = s;
          const again =
            !cancelled &&
            s.code !== status.OK &&
            retryable.has(s.code) &&
            attempt < maxAttempts &&
            (budget === undefined || budget.tryAcquire());
          if (!again) {
            deliver(o);
            return;
          }
          const delay = backoff ? backoff.delayMs(attempt, previousDelay) : 0;
          previousDelay = delay;
          const retryNow = () => {
            timer = undefined;
            if (cancelled) return deliver(o);
            // An attempt can fail before the caller has even sent the request.
            if (!halfClosed) {
              afterHalfClose = retryNow;
              return;
            }
            try {
              current = nextCall(callOptions);
              run(current, false);
            } catch {
              // The channel closed while the retry waited: the caller gets the last status.
              deliver(o);
            }
          };
          if (delay > 0) timer = clock.setTimeout(retryNow, delay);
          else retryNow();
        },
      };
      if (first) return listener;
      call.start(metadata ?? new Metadata(), listener);
      call.sendMessage(request);
      call.halfClose();
      return listener;
    };

    const firstCall = current;
    return new InterceptingCall(firstCall, {
      start(md, listener, next) {
        outer = listener;
        metadata = md.clone();
        budget?.recordCall();
        const l = run(firstCall, true);
        next(md, {
          onReceiveMetadata: (m: Metadata) => l.onReceiveMetadata(m),
          onReceiveMessage: (m: unknown) => l.onReceiveMessage(m),
          onReceiveStatus: (s: StatusObject) => l.onReceiveStatus(s),
        });
      },
      sendMessage(message, next) {
        request = message;
        next(message);
      },
      halfClose(next) {
        halfClosed = true;
        next();
        const pending = afterHalfClose;
        afterHalfClose = undefined;
        pending?.();
      },
      cancel(next) {
        if (cancelled) return next();
        cancelled = true;
        const waiting = timer !== undefined || afterHalfClose !== undefined;
        if (timer !== undefined) clock.clearTimeout(timer);
        timer = undefined;
        afterHalfClose = undefined;
        if (current !== firstCall) {
          current.cancelWithStatus(status.CANCELLED, 'cancelled by the caller');
        }
        next();
        // Between attempts no call is running to report the cancellation: report it here.
        if (waiting) {
          deliver({
            metadata: undefined,
            message: undefined,
            hasMessage: false,
            status: {
              code: status.CANCELLED,
              details: 'cancelled by the caller',
              metadata: new Metadata(),
            },
          });
        }
      },
    });
  };
}
