// The one input check every provider runs before it signs or sends anything, so a bad
// message fails the same way whichever provider (or decorator stack) is behind it.
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError, InvalidOptionsError } from '../core/index.js';
import { InvalidPhoneError } from './errors.js';
import type { SmsMessage } from './types.js';

/** `+`, a country code not starting with 0, 2 to 15 digits in all (ITU-T E.164). */
const E164 = /^\+[1-9]\d{1,14}$/;

/** A lone UTF-16 surrogate: not encodable as UTF-8, so no provider could sign or send it. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Longest `requestId` accepted: it travels in headers and database keys. */
export const MAX_REQUEST_ID_LENGTH = 128;

/**
 * A message after {@link validateMessage}: `requestId` is always set and `params` is
 * always an object.
 *
 * @example
 * ```ts
 * const checked: ValidMessage = validateMessage({ to: ['+8613800000000'], template: 'login' });
 * checked.requestId; // a generated UUID
 * ```
 */
export interface ValidMessage extends SmsMessage {
  /** The caller's id, or a generated UUID. */
  readonly requestId: string;
  /** The params, `{}` when none were given. */
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Options of {@link validateMessage}.
 *
 * @example
 * ```ts
 * const rules: ValidateMessageOptions = { templates: { login: ['code'] } };
 * ```
 */
export interface ValidateMessageOptions {
  /**
   * The params each template takes, by template. When given, a template not listed, a
   * param not declared and a declared param missing are all refused. Default: any
   * template, any params.
   */
  readonly templates?: Readonly<Record<string, readonly string[]>> | undefined;
}

/**
 * True when `phone` is an E.164 number such as `+8613800000000`.
 *
 * @example
 * ```ts
 * import { isE164 } from 'girder/sms';
 *
 * isE164('+8613800000000'); // true
 * isE164('13800000000'); // false: no country code
 * ```
 */
export function isE164(phone: unknown): phone is string {
  return typeof phone === 'string' && E164.test(phone);
}

/**
 * Check an {@link SmsMessage} and fill in its `requestId` (a UUID from
 * `crypto.randomUUID` when absent). Every girder provider calls it first; call it in
 * your own provider too. Never changes the caller's object.
 *
 * @throws InvalidPhoneError (`INVALID_PHONE`) for a recipient that is not E.164.
 * @throws InvalidArgumentError (`INVALID_ARGUMENT`) for a missing or empty `to`, an
 * empty template, params that are not strings, a param the template does not declare or
 * a declared param missing (with `templates`), a bad `signName` or `requestId`.
 *
 * @example
 * ```ts
 * import { validateMessage } from 'girder/sms';
 *
 * const message = validateMessage(
 *   { to: ['+8613800000000'], template: 'login', params: { code: '123456' } },
 *   { templates: { login: ['code'] } },
 * );
 * ```
 */
export function validateMessage(
  message: SmsMessage,
  options: ValidateMessageOptions = {},
): ValidMessage {
  if (message === null || typeof message !== 'object') {
    throw new InvalidArgumentError('message', 'must be an object');
  }
  for (const key in options) {
    if (key !== 'templates') {
      throw new InvalidOptionsError('validateMessage', [
        { path: key, message: `unknown option "${key}"` },
      ]);
    }
  }
  const { to, template, params, signName, requestId } = message;
  if (!Array.isArray(to) || to.length === 0) {
    throw new InvalidArgumentError('message.to', 'must be a non-empty array of phone numbers');
  }
  for (let i = 0; i < to.length; i++) {
    if (!isE164(to[i])) throw new InvalidPhoneError(to[i], i);
  }
  if (typeof template !== 'string' || template.trim().length === 0) {
    throw new InvalidArgumentError('message.template', 'must be a non-empty string');
  }
  checkText('message.template', template);
  const checkedParams = checkParams(template, params, options.templates);
  if (signName !== undefined && (typeof signName !== 'string' || signName.trim() === '')) {
    throw new InvalidArgumentError('message.signName', 'must be a non-empty string when given');
  }
  if (signName !== undefined) checkText('message.signName', signName);
  if (
    requestId !== undefined &&
    (typeof requestId !== 'string' ||
      requestId.length === 0 ||
      requestId.length > MAX_REQUEST_ID_LENGTH)
  ) {
    throw new InvalidArgumentError(
      'message.requestId',
      `must be a string of 1 to ${MAX_REQUEST_ID_LENGTH} characters when given`,
    );
  }
  if (requestId !== undefined) checkText('message.requestId', requestId);
  return {
    to: [...to],
    template,
    params: checkedParams,
    ...(signName === undefined ? {} : { signName }),
    requestId: requestId ?? randomUUID(),
  };
}

function checkParams(
  template: string,
  params: unknown,
  templates: ValidateMessageOptions['templates'],
): Record<string, string> {
  if (
    params !== undefined &&
    (params === null || typeof params !== 'object' || Array.isArray(params))
  ) {
    throw new InvalidArgumentError('message.params', 'must be an object of strings');
  }
  const given = { ...(params as Record<string, unknown> | undefined) };
  for (const [key, value] of Object.entries(given)) {
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`message.params.${key}`, 'must be a string');
    }
    checkText(`message.params.${key}`, key);
    checkText(`message.params.${key}`, value);
  }
  if (templates === undefined) return given as Record<string, string>;
  if (!Object.hasOwn(templates, template)) {
    throw new InvalidArgumentError(
      'message.template',
      `unknown template ${JSON.stringify(template)}`,
    );
  }
  const declared = templates[template] as readonly string[];
  for (const key of Object.keys(given)) {
    if (!declared.includes(key)) {
      throw new InvalidArgumentError(
        `message.params.${key}`,
        `template ${JSON.stringify(template)} has no such param`,
      );
    }
  }
  for (const key of declared) {
    if (!Object.hasOwn(given, key)) {
      throw new InvalidArgumentError(
        `message.params.${key}`,
        `template ${JSON.stringify(template)} needs it`,
      );
    }
  }
  return given as Record<string, string>;
}

function checkText(argument: string, text: string): void {
  if (LONE_SURROGATE.test(text)) {
    throw new InvalidArgumentError(argument, 'contains a lone UTF-16 surrogate (not valid text)');
  }
}
