// The send path every girder provider shares: validate, honour the caller's signal and
// the provider's timeout, time the call and report it on `.events`. A provider only
// writes its `deliver` step.
import { z } from 'zod';
import {
  AbortedError,
  type Clock,
  checkSignal,
  clockSchema,
  isGirderError,
  systemClock,
  TimeoutError,
  TypedEmitter,
  withTimeout,
} from '../core/index.js';
import { SmsProviderError } from './errors.js';
import type { SmsEvents, SmsProvider } from './events.js';
import { templatesSchema, timeoutSchema } from './options.js';
import type { SmsMessage, SmsResult } from './types.js';
import { type ValidateMessageOptions, type ValidMessage, validateMessage } from './validate.js';

/**
 * @internal
 * The option fields every cloud provider (Aliyun, Tencent) shares: default signature,
 * endpoint, timeout, name, declared templates and clock. Each spreads them into its own
 * strict schema next to its credentials and region.
 */
export function cloudProviderFields(defaults: { endpoint: string; name: string }) {
  return {
    signName: z.string().min(1).optional(),
    endpoint: z.string().url().default(defaults.endpoint),
    timeoutMs: timeoutSchema(5_000),
    name: z.string().min(1).default(defaults.name),
    templates: templatesSchema,
    clock: clockSchema.default(systemClock),
  };
}

/** @internal One provider's delivery step: resolves the provider's message ids. */
export type Deliver = (message: ValidMessage, signal: AbortSignal | undefined) => Promise<string[]>;

/** @internal What {@link createProvider} needs. */
export interface ProviderSetup {
  readonly name: string;
  readonly kind: string;
  readonly clock: Clock;
  /** 0: no girder timeout (the deliver step has its own, or none is wanted). */
  readonly timeoutMs: number;
  readonly templates?: ValidateMessageOptions['templates'];
}

/** Whether a retry of the same message later may succeed. @internal */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SmsProviderError) return error.retryable;
  if (error instanceof TimeoutError) return true;
  return !isGirderError(error); // an unexpected throw (a bug, a socket error) may pass later
}

/** @internal Build an {@link SmsProvider} around `deliver`. */
export function createProvider<Extra extends object = object>(
  setup: ProviderSetup,
  deliver: Deliver,
  extra?: Extra,
): SmsProvider & Extra {
  const { name, kind, clock, timeoutMs } = setup;
  const emitter = new TypedEmitter<SmsEvents>();
  const rules: ValidateMessageOptions = { templates: setup.templates };

  const failed = (message: SmsMessage, start: number, requestId: string, error: unknown) => {
    if (emitter.listenerCount('failed') === 0) return;
    const code = isGirderError(error) ? error.code : 'UNKNOWN';
    emitter.emit('failed', {
      provider: name,
      requestId,
      template: typeof message?.template === 'string' ? message.template : '',
      recipients: Array.isArray(message?.to) ? message.to.length : 0,
      durationMs: clock.now() - start,
      code,
      retryable: code === 'ABORTED' ? false : isRetryable(error),
      error,
    });
  };

  async function send(message: SmsMessage, signal?: AbortSignal): Promise<SmsResult> {
    const start = clock.now();
    let checked: ValidMessage;
    try {
      checkSignal(signal);
      checked = validateMessage(message, rules);
      if (signal?.aborted) throw new AbortedError(signal.reason);
    } catch (error) {
      failed(message, start, '', error);
      throw error;
    }
    try {
      const ids =
        timeoutMs > 0
          ? await withTimeout((inner) => deliver(checked, inner), { timeoutMs, signal, clock })
          : await deliver(checked, signal);
      if (emitter.listenerCount('sent') > 0) {
        emitter.emit('sent', {
          provider: name,
          requestId: checked.requestId,
          template: checked.template,
          recipients: checked.to.length,
          durationMs: clock.now() - start,
        });
      }
      return { provider: name, messageIds: ids, requestId: checked.requestId };
    } catch (caught) {
      const error =
        signal?.aborted && !(caught instanceof AbortedError) && !(caught instanceof TimeoutError)
          ? new AbortedError(signal.reason)
          : caught;
      failed(checked, start, checked.requestId, error);
      throw error;
    }
  }

  return Object.assign({ name, kind, events: emitter, send }, extra) as SmsProvider & Extra;
}
