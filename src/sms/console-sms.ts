// Development provider: writes each message to a girder logger, so a local run shows
// the verification code in the terminal. Never use it in production: the params (the
// code) are logged in clear.
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
} from '../core/index.js';
import type { Logger } from '../logger/index.js';
import type { SmsProvider } from './events.js';
import { templatesSchema } from './options.js';
import { createProvider } from './provider.js';
import type { ValidMessage } from './validate.js';

/**
 * Options of {@link consoleSms}.
 *
 * @example
 * ```ts
 * const options: ConsoleSmsOptions = { name: 'dev-sms', level: 'warn' };
 * ```
 */
export interface ConsoleSmsOptions {
  /** Provider name in results, events and the log entry. Default `console`. */
  name?: string;
  /** Log level of the entries. Default `info`. */
  level?: 'debug' | 'info' | 'warn';
  /** Declared params per template (see `validateMessage`). Default: anything goes. */
  templates?: Record<string, string[]>;
  /** Time source for event durations. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({
  name: z.string().min(1).default('console'),
  level: z.enum(['debug', 'info', 'warn']).default('info'),
  templates: templatesSchema,
  clock: clockSchema.default(systemClock),
});

/**
 * A development provider that logs every message (recipients, template, params in
 * clear, so a verification code shows in the terminal) instead of sending it.
 *
 * @throws InvalidArgumentError when `logger` is not a Logger.
 * @example
 * ```ts
 * import { consoleLogger } from 'girder/logger';
 * import { consoleSms } from 'girder/sms';
 *
 * const sms = consoleSms(consoleLogger());
 * await sms.send({ to: ['+8613800000000'], template: 'login', params: { code: '123456' } });
 * // {"level":"info","msg":"sms (not sent: console provider)","to":["+8613800000000"],...}
 * ```
 */
export function consoleSms(logger: Logger, options: ConsoleSmsOptions = {}): SmsProvider {
  if (logger === null || typeof logger !== 'object' || typeof logger.info !== 'function') {
    throw new InvalidArgumentError('logger', 'must be a girder Logger');
  }
  const opts = parseOptions('consoleSms', schema, options);
  let counter = 0;
  const deliver = async (message: ValidMessage) => {
    logger[opts.level]('sms (not sent: console provider)', {
      provider: opts.name,
      to: message.to,
      template: message.template,
      params: message.params,
      ...(message.signName === undefined ? {} : { signName: message.signName }),
      requestId: message.requestId,
    });
    return message.to.map(() => `${opts.name}-${++counter}`);
  };
  return createProvider(
    {
      name: opts.name,
      kind: 'console',
      clock: opts.clock,
      timeoutMs: 0,
      templates: opts.templates,
    },
    deliver,
  );
}
