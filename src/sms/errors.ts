// Typed errors of girder/sms. Message validation is split on purpose: a bad phone
// number is usually end-user input (answer 400 "check the number"), so it has its own
// code; an empty template or wrong params are programming errors and stay
// INVALID_ARGUMENT like everywhere else in girder.
import { GirderError } from '../core/index.js';

/**
 * A recipient is not an E.164 number (`+`, country code, 2 to 15 digits in all).
 * Thrown before anything is sent, so no recipient of the message got it.
 *
 * @example
 * ```ts
 * import { InvalidPhoneError } from 'girder/sms';
 *
 * try {
 *   await sms.send({ to: ['13800000000'], template: 'login' });
 * } catch (err) {
 *   if (err instanceof InvalidPhoneError) reply.code(400).send({ field: 'phone' });
 * }
 * ```
 */
export class InvalidPhoneError extends GirderError {
  /** The refused value. */
  readonly phone: string;
  /** Its position in `message.to` (0 for single-number APIs such as `codeService`). */
  readonly index: number;

  constructor(phone: unknown, index: number) {
    const shown = typeof phone === 'string' ? JSON.stringify(phone.slice(0, 32)) : typeof phone;
    super('INVALID_PHONE', `recipient ${index} is not an E.164 phone number: ${shown}`);
    this.phone = typeof phone === 'string' ? phone : String(phone);
    this.index = index;
  }
}

/**
 * The provider answered with an error, or could not be reached. `retryable` says
 * whether sending the same message again later may succeed (throttling, 5xx, network
 * errors); a refused template or signature is not retryable.
 *
 * @example
 * ```ts
 * import { SmsProviderError } from 'girder/sms';
 *
 * try {
 *   await aliyun.send(message);
 * } catch (err) {
 *   if (err instanceof SmsProviderError && err.retryable) queue.later(message);
 * }
 * ```
 */
export class SmsProviderError extends GirderError {
  /** Which provider answered (`aliyun`, `tencent`, the `name` option...). */
  readonly provider: string;
  /** The provider's own error code (`isv.BUSINESS_LIMIT_CONTROL`, `LimitExceeded...`), or `HTTP_<status>` / `NETWORK`. */
  readonly providerCode: string;
  /** HTTP status of the answer, 0 when none arrived. */
  readonly status: number;
  /** Whether a later retry of the same message may succeed. */
  readonly retryable: boolean;
  /** The message's request id. */
  readonly requestId: string;

  constructor(init: {
    provider: string;
    providerCode: string;
    message: string;
    status: number;
    retryable: boolean;
    requestId: string;
    cause?: unknown;
  }) {
    super(
      'SMS_PROVIDER_ERROR',
      `${init.provider} refused the SMS (${init.providerCode}): ${init.message}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.provider = init.provider;
    this.providerCode = init.providerCode;
    this.status = init.status;
    this.retryable = init.retryable;
    this.requestId = init.requestId;
  }
}

/**
 * `tokenAuthSms` found no token, or the token did not verify (bad signature, expired,
 * revoked...: the verifier's error is the `cause`).
 *
 * @example
 * ```ts
 * import { SmsTokenError } from 'girder/sms';
 *
 * if (err instanceof SmsTokenError) reply.code(401).send({ reason: err.reason });
 * ```
 */
export class SmsTokenError extends GirderError {
  /** `missing` (no token given) or `invalid` (it did not verify). */
  readonly reason: 'missing' | 'invalid';

  constructor(reason: 'missing' | 'invalid', options?: { cause?: unknown }) {
    super(
      'SMS_TOKEN_INVALID',
      reason === 'missing' ? 'no SMS token was given' : 'the SMS token did not verify',
      options,
    );
    this.reason = reason;
  }
}

/**
 * `tokenAuthSms`: the token verified, but it does not name the message's template.
 *
 * @example
 * ```ts
 * import { SmsTemplateForbiddenError } from 'girder/sms';
 *
 * if (err instanceof SmsTemplateForbiddenError) reply.code(403).send({ template: err.template });
 * ```
 */
export class SmsTemplateForbiddenError extends GirderError {
  /** The template the caller tried to use. */
  readonly template: string;
  /** The token's subject (`sub`), when it has one. */
  readonly subject: string | undefined;

  constructor(template: string, subject: string | undefined) {
    super(
      'SMS_TEMPLATE_FORBIDDEN',
      `${subject === undefined ? 'the caller' : JSON.stringify(subject)} may not use template ${JSON.stringify(template)}`,
    );
    this.template = template;
    this.subject = subject;
  }
}

/**
 * `codeService.send`: a code was sent to this phone for this purpose less than
 * `resendAfterMs` ago.
 *
 * @example
 * ```ts
 * import { CodeSendTooFrequentError } from 'girder/sms';
 *
 * if (err instanceof CodeSendTooFrequentError) reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000));
 * ```
 */
export class CodeSendTooFrequentError extends GirderError {
  /** How long until a new code may be sent, ms. */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    super('CODE_SEND_TOO_FREQUENT', `a code was sent recently; retry in ${retryAfterMs} ms`);
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * `codeService.verify`: too many wrong guesses; the code is burnt and a new one must be
 * sent.
 *
 * @example
 * ```ts
 * import { CodeAttemptsExceededError } from 'girder/sms';
 *
 * if (err instanceof CodeAttemptsExceededError) reply.code(429).send({ resend: true });
 * ```
 */
export class CodeAttemptsExceededError extends GirderError {
  constructor() {
    super('CODE_ATTEMPTS_EXCEEDED', 'too many wrong codes; request a new one');
  }
}

/**
 * `codeService.verify`: the code is wrong (or there is none for this phone and purpose).
 *
 * @example
 * ```ts
 * import { CodeInvalidError } from 'girder/sms';
 *
 * if (err instanceof CodeInvalidError) reply.code(400).send({ attemptsLeft: err.attemptsLeft });
 * ```
 */
export class CodeInvalidError extends GirderError {
  /** Wrong guesses still allowed before the code is burnt (0 when there is no code). */
  readonly attemptsLeft: number;

  constructor(attemptsLeft: number) {
    super('CODE_INVALID', 'the code is not valid');
    this.attemptsLeft = attemptsLeft;
  }
}

/**
 * `codeService.verify`: the code's `ttlMs` has passed.
 *
 * @example
 * ```ts
 * import { CodeExpiredError } from 'girder/sms';
 *
 * if (err instanceof CodeExpiredError) reply.code(400).send({ resend: true });
 * ```
 */
export class CodeExpiredError extends GirderError {
  constructor() {
    super('CODE_EXPIRED', 'the code has expired; request a new one');
  }
}
