// A provider that keeps what it is given, for tests and the shop's local mock
// providers. It can be told to fail or to be slow, so decorators can be tested on it.
import { z } from 'zod';
import {
  AbortedError,
  type Clock,
  clockSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
} from '../core/index.js';
import { SmsProviderError } from './errors.js';
import type { SmsProvider } from './events.js';
import { templatesSchema, timeoutSchema } from './options.js';
import { createProvider } from './provider.js';
import type { SmsResult } from './types.js';
import type { ValidMessage } from './validate.js';

/**
 * Options of {@link memorySms}.
 *
 * @example
 * ```ts
 * const options: MemorySmsOptions = { name: 'mock-a', delayMs: 20 };
 * ```
 */
export interface MemorySmsOptions {
  /** Provider name in results and events. Default `memory`. */
  name?: string;
  /** Declared params per template (see `validateMessage`). Default: anything goes. */
  templates?: Record<string, string[]>;
  /** Simulated latency of every send, ms (on `clock`). Default 0. */
  delayMs?: number;
  /** Per-send timeout, ms; 0 for none. Default 0. */
  timeoutMs?: number;
  /** Time source for the delay and durations. Default `systemClock`. */
  clock?: Clock;
}

/**
 * One message a {@link MemorySms} accepted.
 *
 * @example
 * ```ts
 * const [{ message, result }]: readonly CapturedSms[] = sms.sent;
 * ```
 */
export interface CapturedSms {
  /** The validated message (with its `requestId`). */
  readonly message: ValidMessage;
  /** What `send` resolved. */
  readonly result: SmsResult;
}

/**
 * A provider that captures messages in memory.
 *
 * @example
 * ```ts
 * const sms: MemorySms = memorySms();
 * sms.failNext(); // the next send throws a retryable SmsProviderError
 * ```
 */
export interface MemorySms extends SmsProvider {
  /** Every accepted message, oldest first. */
  readonly sent: readonly CapturedSms[];
  /** The last accepted message, if any. */
  last(): CapturedSms | undefined;
  /**
   * Make the next `times` sends fail with `error` (default: a retryable
   * `SmsProviderError` with provider code `MEMORY_FAILURE`).
   */
  failNext(times?: number, error?: unknown): void;
  /** Make every send fail with `error` until {@link MemorySms.recover} (default error as above). */
  failAlways(error?: unknown): void;
  /** Undo `failAlways` and any pending `failNext`. */
  recover(): void;
  /** Change the simulated latency, ms. */
  setDelay(delayMs: number): void;
  /** Forget the captured messages. */
  clear(): void;
}

const schema = z.strictObject({
  name: z.string().min(1).default('memory'),
  templates: templatesSchema,
  delayMs: z.number().int().min(0).max(600_000).default(0),
  timeoutMs: timeoutSchema(0),
  clock: clockSchema.default(systemClock),
});

const NO_FAILURE = Symbol('none');
const DEFAULT = Symbol('default error');

/**
 * An SMS provider that sends nothing and keeps every message, for tests and local
 * development. Validates like a real provider, and can be made to fail or slow down.
 *
 * @example
 * ```ts
 * import { memorySms } from 'girder/sms';
 *
 * const sms = memorySms();
 * await sms.send({ to: ['+8613800000000'], template: 'login', params: { code: '123456' } });
 * sms.last()?.message.params.code; // '123456'
 * ```
 */
export function memorySms(options: MemorySmsOptions = {}): MemorySms {
  const opts = parseOptions('memorySms', schema, options);
  const { name, clock } = opts;
  const sent: CapturedSms[] = [];
  let delayMs = opts.delayMs;
  let pendingFailures = 0;
  let nextError: unknown = DEFAULT;
  let always: unknown = NO_FAILURE;
  let counter = 0;

  const defaultError = (message: ValidMessage) =>
    new SmsProviderError({
      provider: name,
      providerCode: 'MEMORY_FAILURE',
      message: 'memorySms was told to fail',
      status: 0,
      retryable: true,
      requestId: message.requestId,
    });

  const wait = (signal: AbortSignal | undefined) =>
    new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clock.clearTimeout(timer);
        reject(new AbortedError(signal?.reason));
      };
      const timer = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delayMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  const deliver = async (message: ValidMessage, signal: AbortSignal | undefined) => {
    if (delayMs > 0) await wait(signal);
    if (always !== NO_FAILURE) throw always === DEFAULT ? defaultError(message) : always;
    if (pendingFailures > 0) {
      pendingFailures--;
      throw nextError === DEFAULT ? defaultError(message) : nextError;
    }
    const ids = message.to.map(() => `${name}-${++counter}`);
    sent.push({
      message,
      result: { provider: name, messageIds: ids, requestId: message.requestId },
    });
    return ids;
  };

  return createProvider<Omit<MemorySms, keyof SmsProvider>>(
    { name, kind: 'memory', clock, timeoutMs: opts.timeoutMs, templates: opts.templates },
    deliver,
    {
      sent: sent as readonly CapturedSms[],
      last: () => sent.at(-1),
      failNext(times = 1, error: unknown = DEFAULT) {
        if (!Number.isInteger(times) || times < 0) {
          throw new InvalidArgumentError('times', 'must be an integer >= 0');
        }
        pendingFailures = times;
        nextError = error;
      },
      failAlways(error: unknown = DEFAULT) {
        always = error;
      },
      recover() {
        always = NO_FAILURE;
        pendingFailures = 0;
      },
      setDelay(ms: number) {
        if (!Number.isInteger(ms) || ms < 0)
          throw new InvalidArgumentError('delayMs', 'must be an integer >= 0');
        delayMs = ms;
      },
      clear() {
        sent.length = 0;
      },
    },
  );
}
