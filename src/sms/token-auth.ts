// The study notes' "SMS for other business teams": callers present a signed token that
// names the templates they may use, so a team cannot send another team's templates
// (or arbitrary text dressed as a login code) through the shared SMS service.
import { z } from 'zod';
import {
  checkSignal,
  type EventSource,
  functionSchema,
  InvalidArgumentError,
  parseOptions,
  TypedEmitter,
} from '../core/index.js';
import { SmsTemplateForbiddenError, SmsTokenError } from './errors.js';
import type { SmsMessage, SmsResult, SmsService } from './types.js';

/**
 * An {@link SmsMessage} that carries its caller's token. `tokenAuthSms` reads `token`
 * (unless its `token` option says otherwise) and strips it before the message goes on,
 * so the token never reaches a provider, a queue or a log.
 *
 * @example
 * ```ts
 * const message: TokenSmsMessage = {
 *   to: ['+8613800000000'],
 *   template: 'order_shipped',
 *   token: request.headers['x-sms-token'],
 * };
 * ```
 */
export interface TokenSmsMessage extends SmsMessage {
  /** The caller's signed token (a JWT from `girder/jwt`, or whatever `verify` accepts). */
  readonly token?: string | undefined;
}

/**
 * Verifies a token and returns its claims; throws (any error) when it does not verify.
 * `tokens.verifyAccess` of `girder/jwt` fits as is.
 *
 * @example
 * ```ts
 * const verify: SmsTokenVerifier = (token) => tokens.verifyAccess(token);
 * ```
 */
export type SmsTokenVerifier = (
  token: string,
) => Promise<Readonly<Record<string, unknown>>> | Readonly<Record<string, unknown>>;

/**
 * Options of {@link tokenAuthSms}.
 *
 * @example
 * ```ts
 * const options: TokenAuthSmsOptions = { verify: (t) => tokens.verifyAccess(t), claim: 'tpl' };
 * ```
 */
export interface TokenAuthSmsOptions {
  /** Checks the token's signature and lifetime and returns its claims. */
  verify: SmsTokenVerifier;
  /**
   * Where the token comes from. Default: the message's `token` field
   * ({@link TokenSmsMessage}). Give a function to bind one caller's token to this
   * decorated service instead (one instance per calling team).
   */
  token?: (message: SmsMessage) => string | undefined;
  /**
   * The claim listing the templates the caller may use: an array of template ids, where
   * `"*"` allows every template. Default `tpl`.
   */
  claim?: string;
  /** Name for events and metrics. Default `tokenAuth`. */
  name?: string;
}

/**
 * A send `tokenAuthSms` let through.
 *
 * @example
 * ```ts
 * sms.events.on('authorized', (e: SmsAuthorizedEvent) => audit(e.subject, e.template));
 * ```
 */
export interface SmsAuthorizedEvent {
  /** The decorator's name. */
  readonly name: string;
  /** The token's `sub`, when it has one. */
  readonly subject: string | undefined;
  /** The template used. */
  readonly template: string;
}

/**
 * A send `tokenAuthSms` refused.
 *
 * @example
 * ```ts
 * sms.events.on('refused', (e: SmsRefusedEvent) => console.warn(e.reason, e.template));
 * ```
 */
export interface SmsRefusedEvent {
  /** The decorator's name. */
  readonly name: string;
  /** `missing` token, `invalid` token, or a template the token does not allow (`forbidden`). */
  readonly reason: 'missing' | 'invalid' | 'forbidden';
  /** The token's `sub`, when it verified and has one. */
  readonly subject: string | undefined;
  /** The template asked for. */
  readonly template: string;
}

/**
 * Events of {@link tokenAuthSms}.
 *
 * @example
 * ```ts
 * const off = sms.events.on('refused', ({ reason }) => refusals.inc({ reason }));
 * ```
 */
export type TokenAuthSmsEvents = {
  /** A send was let through. */
  authorized: SmsAuthorizedEvent;
  /** A send was refused. */
  refused: SmsRefusedEvent;
};

/**
 * The service `tokenAuthSms` returns: still an {@link SmsService}, with events.
 *
 * @example
 * ```ts
 * const guarded: TokenAuthSms = tokenAuthSms(sms, { verify });
 * guarded.events.on('refused', (e) => console.warn(e.reason));
 * ```
 */
export interface TokenAuthSms extends SmsService {
  /** The decorator's `name` option. */
  readonly name: string;
  /** The claim holding the allowed templates (the `claim` option). */
  readonly claim: string;
  /** `authorized` and `refused`. */
  readonly events: EventSource<TokenAuthSmsEvents>;
}

const schema = z.strictObject({
  verify: functionSchema<SmsTokenVerifier>(),
  token: functionSchema<(message: SmsMessage) => string | undefined>().optional(),
  claim: z.string().min(1).default('tpl'),
  name: z.string().min(1).default('tokenAuth'),
});

const messageToken = (message: SmsMessage) => (message as TokenSmsMessage).token;

/**
 * Guard an {@link SmsService} with signed tokens: every send must come with a token that
 * verifies and whose `tpl` claim (see `claim`) lists the message's template, else it is
 * refused before reaching `target`. Stacks like any girder decorator; put it outermost,
 * where the caller's request arrives.
 *
 * @throws SmsTokenError (`SMS_TOKEN_INVALID`, reason `missing` or `invalid`, the
 * verifier's error as `cause`) and SmsTemplateForbiddenError (`SMS_TEMPLATE_FORBIDDEN`).
 *
 * @example
 * ```ts
 * import { memorySessionStore, tokenService } from 'girder/jwt';
 * import { memorySms, tokenAuthSms } from 'girder/sms';
 *
 * const tokens = tokenService({ keys: [{ kid: 'sms-1', alg: 'HS256', key: secret }], sessionStore: memorySessionStore() });
 * // issued once to the orders team:
 * const { accessToken } = await tokens.issue('orders-team', { claims: { tpl: ['order_shipped'] } });
 *
 * const sms = tokenAuthSms(memorySms(), { verify: (t) => tokens.verifyAccess(t) });
 * await sms.send({ to: ['+8613800000000'], template: 'order_shipped', token: accessToken } as TokenSmsMessage);
 * ```
 */
export function tokenAuthSms(target: SmsService, options: TokenAuthSmsOptions): TokenAuthSms {
  if (target === null || typeof target !== 'object' || typeof target.send !== 'function') {
    throw new InvalidArgumentError('target', 'must be an SmsService');
  }
  const opts = parseOptions('tokenAuthSms', schema, options);
  const { name, claim, verify } = opts;
  const tokenOf = opts.token ?? messageToken;
  const emitter = new TypedEmitter<TokenAuthSmsEvents>();

  const refuse = (
    reason: SmsRefusedEvent['reason'],
    subject: string | undefined,
    template: string,
    error: Error,
  ): never => {
    if (emitter.listenerCount('refused') > 0) {
      emitter.emit('refused', { name, reason, subject, template });
    }
    throw error;
  };

  async function send(message: SmsMessage, signal?: AbortSignal): Promise<SmsResult> {
    checkSignal(signal);
    if (message === null || typeof message !== 'object') {
      throw new InvalidArgumentError('message', 'must be an object');
    }
    const template = typeof message.template === 'string' ? message.template : '';
    const token = tokenOf(message);
    if (typeof token !== 'string' || token === '') {
      refuse('missing', undefined, template, new SmsTokenError('missing'));
    }
    let claims: Readonly<Record<string, unknown>>;
    try {
      claims = await verify(token as string);
    } catch (error) {
      return refuse('invalid', undefined, template, new SmsTokenError('invalid', { cause: error }));
    }
    if (claims === null || typeof claims !== 'object') {
      refuse('invalid', undefined, template, new SmsTokenError('invalid'));
    }
    const subject = typeof claims.sub === 'string' ? claims.sub : undefined;
    const allowed = claims[claim];
    const permitted =
      Array.isArray(allowed) && (allowed.includes(template) || allowed.includes('*'));
    if (!permitted || template === '') {
      refuse('forbidden', subject, template, new SmsTemplateForbiddenError(template, subject));
    }
    if (emitter.listenerCount('authorized') > 0) {
      emitter.emit('authorized', { name, subject, template });
    }
    return target.send(withoutToken(message), signal);
  }

  return { name, claim, send, events: emitter };
}

/** The message without its `token` field (a copy; the caller's object is untouched). */
function withoutToken(message: SmsMessage): SmsMessage {
  if (!('token' in message)) return message;
  const { token: _token, ...rest } = message as TokenSmsMessage;
  return rest;
}
