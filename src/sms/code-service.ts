// Verification codes over SMS: a CSPRNG code, stored only as an HMAC, sent through any
// SmsService; guessed at most `maxAttempts` times, used once, resent at most once per
// `resendAfterMs`. The store does each step atomically (one Lua script on Redis).
import { createHmac, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  type Clock,
  checkSignal,
  clockSchema,
  type EventSource,
  functionSchema,
  InvalidArgumentError,
  InvalidOptionsError,
  parseOptions,
  systemClock,
  TypedEmitter,
  throwIfAborted,
} from '../core/index.js';
import type { CodeStore } from './code-store.js';
import {
  CodeAttemptsExceededError,
  CodeExpiredError,
  CodeInvalidError,
  CodeSendTooFrequentError,
  InvalidPhoneError,
} from './errors.js';
import type { SmsService } from './types.js';
import { isE164 } from './validate.js';

/**
 * Options of {@link codeService}.
 *
 * @example
 * ```ts
 * const options: CodeServiceOptions = {
 *   sms,
 *   store: redisCodeStore(redis),
 *   template: 'SMS_154950909',
 *   secret: process.env.CODE_SECRET!,
 * };
 * ```
 */
export interface CodeServiceOptions {
  /** How codes are sent (any SmsService: a provider or a decorated stack). */
  sms: SmsService;
  /** Where codes live: `memoryCodeStore()` or `redisCodeStore(client)`. */
  store: CodeStore;
  /** The SMS template carrying the code. */
  template: string;
  /** The template's params for a code. Default `(code, ttlMs) => ({ code })`. */
  params?: (code: string, ttlMs: number) => Record<string, string>;
  /** Signature for the SMS, when the provider needs one per message. */
  signName?: string;
  /**
   * HMAC key the codes are hashed with (at least 16 bytes). Required with a shared store
   * (Redis), where every instance must use the same one; a random per-process key by
   * default with the memory store.
   */
  secret?: string | Uint8Array;
  /** Digits per code, 4 to 10. Default 6. */
  length?: number;
  /** How long a code is valid, ms. Default 600 000 (10 minutes). */
  ttlMs?: number;
  /** Cooldown before another code may be sent to the same phone for the same purpose, ms. Default 60 000. */
  resendAfterMs?: number;
  /** Wrong guesses allowed; the last one burns the code. Default 3. */
  maxAttempts?: number;
  /** Name for events and metrics. Default `codes`. */
  name?: string;
  /** Time source for event durations. Default `systemClock`. */
  clock?: Clock;
}

/**
 * What `send` answered.
 *
 * @example
 * ```ts
 * const { expiresAt, resendAfterMs }: CodeSent = await codes.send('+8613800000000', 'login');
 * ```
 */
export interface CodeSent {
  /** The SMS request id. */
  readonly requestId: string;
  /** When the code stops being valid, ms since the epoch (the store's clock). */
  readonly expiresAt: number;
  /** How long until another code may be sent, ms. */
  readonly resendAfterMs: number;
}

/** Why a code operation failed, as events report it. */
export type CodeFailureReason =
  | 'too_frequent'
  | 'send_failed'
  | 'invalid'
  | 'expired'
  | 'attempts_exceeded';

/**
 * A code sent or verified.
 *
 * @example
 * ```ts
 * codes.events.on('verified', (e: CodeEvent) => console.log(e.purpose, e.durationMs));
 * ```
 */
export interface CodeEvent {
  /** The service's `name`. */
  readonly name: string;
  /** The purpose given to `send` / `verify`. */
  readonly purpose: string;
  /** Time the operation took, ms. */
  readonly durationMs: number;
}

/**
 * A code send or verify that was refused or failed.
 *
 * @example
 * ```ts
 * codes.events.on('failed', (e: CodeFailedEvent) => console.warn(e.operation, e.reason));
 * ```
 */
export interface CodeFailedEvent extends CodeEvent {
  /** `send` or `verify`. */
  readonly operation: 'send' | 'verify';
  /** Why it failed. */
  readonly reason: CodeFailureReason;
}

/**
 * Events of {@link codeService}.
 *
 * @example
 * ```ts
 * codes.events.on('failed', ({ operation, reason }) => failures.inc({ operation, reason }));
 * ```
 */
export type CodeServiceEvents = {
  /** A code was stored and its SMS accepted. */
  sent: CodeEvent;
  /** A code was verified (and used up). */
  verified: CodeEvent;
  /** A send or verify was refused or failed. */
  failed: CodeFailedEvent;
};

/**
 * Per-call options of `send` and `verify`.
 *
 * @example
 * ```ts
 * await codes.verify(phone, 'login', code, { signal: request.signal });
 * ```
 */
export interface CodeCallOptions {
  /** Cancels the call (the SMS request, for `send`). */
  signal?: AbortSignal | undefined;
}

/**
 * SMS verification codes.
 *
 * @example
 * ```ts
 * await codes.send('+8613800000000', 'login');
 * await codes.verify('+8613800000000', 'login', '042317'); // throws CODE_INVALID, CODE_EXPIRED...
 * ```
 */
export interface CodeService {
  /** The `name` option. */
  readonly name: string;
  /**
   * Make a new code for `phone` and `purpose` (replacing any earlier one) and send it.
   * Throws `CodeSendTooFrequentError` within `resendAfterMs` of the last send; when the
   * SMS fails, the code is revoked (a resend is allowed at once) and the SMS error thrown.
   */
  send(phone: string, purpose: string, options?: CodeCallOptions): Promise<CodeSent>;
  /**
   * Check `code`; resolves when it is right (and uses it up). Throws
   * `CodeInvalidError`, `CodeExpiredError` or `CodeAttemptsExceededError`.
   */
  verify(phone: string, purpose: string, code: string, options?: CodeCallOptions): Promise<void>;
  /** `sent`, `verified`, `failed`. */
  readonly events: EventSource<CodeServiceEvents>;
  /** Close the store. */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const storeSchema = z.custom<CodeStore>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as CodeStore).issue === 'function' &&
    typeof (v as CodeStore).check === 'function' &&
    typeof (v as CodeStore).revoke === 'function',
  { message: 'must be a CodeStore (memoryCodeStore() or redisCodeStore(client))' },
);

const schema = z.strictObject({
  sms: z.custom<SmsService>(
    (v) => typeof v === 'object' && v !== null && typeof (v as SmsService).send === 'function',
    { message: 'must be an SmsService' },
  ),
  store: storeSchema,
  template: z.string().min(1),
  params: functionSchema<(code: string, ttlMs: number) => Record<string, string>>().optional(),
  signName: z.string().min(1).optional(),
  secret: z
    .union([z.string(), z.instanceof(Uint8Array)])
    .refine((s) => Buffer.byteLength(s as string) >= 16, 'must be at least 16 bytes')
    .optional(),
  length: z.number().int().min(4).max(10).default(6),
  ttlMs: z.number().int().min(100).max(86_400_000).default(600_000),
  resendAfterMs: z.number().int().min(0).max(86_400_000).default(60_000),
  maxAttempts: z.number().int().min(1).max(100).default(3),
  name: z.string().min(1).default('codes'),
  clock: clockSchema.default(systemClock),
});

/** Purposes become part of a Redis key's hash tag: no braces, bounded. */
const PURPOSE = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Create a verification-code service: `send(phone, purpose)` stores a new code (from
 * `crypto.randomInt`, kept only as an HMAC-SHA256 under `secret`, bound to the phone and
 * purpose) and sends it through `sms`; `verify(phone, purpose, code)` accepts it once,
 * within `ttlMs`, and burns it after `maxAttempts` wrong guesses. One code at a time per
 * phone and purpose; a new `send` replaces the old code.
 *
 * @throws InvalidOptionsError for bad options, or a shared store without `secret`.
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { aliyunSms, codeService, redisCodeStore } from 'girder/sms';
 *
 * const codes = codeService({
 *   sms: aliyunSms({ accessKeyId, accessKeySecret, signName: 'Girder Shop' }),
 *   store: redisCodeStore(new Redis()),
 *   template: 'SMS_154950909',
 *   secret: process.env.CODE_SECRET!,
 * });
 * await codes.send('+8613800000000', 'login');
 * await codes.verify('+8613800000000', 'login', '042317');
 * ```
 */
export function codeService(options: CodeServiceOptions): CodeService {
  const opts = parseOptions('codeService', schema, options);
  const { sms, store, template, length, ttlMs, resendAfterMs, maxAttempts, name, clock } = opts;
  if (opts.secret === undefined && store.kind !== 'memory') {
    throw new InvalidOptionsError('codeService', [
      {
        path: 'secret',
        message: `required with a shared (${store.kind}) store: every instance must hash codes with the same key`,
      },
    ]);
  }
  const secret = opts.secret ?? randomBytes(32);
  const params = opts.params ?? ((code: string) => ({ code }));
  const limits = { ttlMs, resendAfterMs, maxAttempts };
  const emitter = new TypedEmitter<CodeServiceEvents>();
  const bound = 10 ** length;

  const hashOf = (phone: string, purpose: string, code: string) =>
    createHmac('sha256', secret).update(`${purpose}\n${phone}\n${code}`).digest('hex');

  const failed = (
    purpose: string,
    operation: 'send' | 'verify',
    reason: CodeFailureReason,
    start: number,
  ) => {
    if (emitter.listenerCount('failed') > 0) {
      emitter.emit('failed', { name, purpose, operation, reason, durationMs: clock.now() - start });
    }
  };

  function checkInput(phone: unknown, purpose: unknown, options: unknown) {
    if (!isE164(phone)) throw new InvalidPhoneError(phone, 0);
    if (typeof purpose !== 'string' || !PURPOSE.test(purpose)) {
      throw new InvalidArgumentError(
        'purpose',
        'must be 1 to 64 characters of letters, digits, _ . : -',
      );
    }
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('options', 'must be an object');
    }
    const signal = checkSignal((options as CodeCallOptions).signal, 'options.signal');
    throwIfAborted(signal);
    return signal;
  }

  async function send(phone: string, purpose: string, options: CodeCallOptions = {}) {
    const start = clock.now();
    const signal = checkInput(phone, purpose, options);
    const code = String(randomInt(0, bound)).padStart(length, '0');
    const hash = hashOf(phone, purpose, code);
    const key = `${purpose}:${phone}`;
    const issued = await store.issue(key, hash, limits);
    if (!issued.issued) {
      failed(purpose, 'send', 'too_frequent', start);
      throw new CodeSendTooFrequentError(issued.retryAfterMs);
    }
    const requestId = randomUUID();
    try {
      await sms.send(
        {
          to: [phone],
          template,
          params: params(code, ttlMs),
          requestId,
          ...(opts.signName === undefined ? {} : { signName: opts.signName }),
        },
        signal,
      );
    } catch (error) {
      // The code never reached the user: do not let it hold the cooldown.
      await store.revoke(key, hash).catch(() => undefined);
      failed(purpose, 'send', 'send_failed', start);
      throw error;
    }
    if (emitter.listenerCount('sent') > 0) {
      emitter.emit('sent', { name, purpose, durationMs: clock.now() - start });
    }
    return { requestId, expiresAt: issued.expiresAt, resendAfterMs };
  }

  async function verify(
    phone: string,
    purpose: string,
    code: string,
    options: CodeCallOptions = {},
  ): Promise<void> {
    const start = clock.now();
    checkInput(phone, purpose, options);
    if (typeof code !== 'string') throw new InvalidArgumentError('code', 'must be a string');
    // Any string is a guess: a malformed one costs an attempt like a wrong one.
    const outcome = await store.check(`${purpose}:${phone}`, hashOf(phone, purpose, code.trim()));
    switch (outcome.status) {
      case 'ok':
        if (emitter.listenerCount('verified') > 0) {
          emitter.emit('verified', { name, purpose, durationMs: clock.now() - start });
        }
        return;
      case 'expired':
        failed(purpose, 'verify', 'expired', start);
        throw new CodeExpiredError();
      case 'exceeded':
        failed(purpose, 'verify', 'attempts_exceeded', start);
        throw new CodeAttemptsExceededError();
      case 'invalid':
        failed(purpose, 'verify', 'invalid', start);
        throw new CodeInvalidError(outcome.attemptsLeft);
      default:
        failed(purpose, 'verify', 'invalid', start);
        throw new CodeInvalidError(0);
    }
  }

  return {
    name,
    send: (phone, purpose, options) => Promise.resolve().then(() => send(phone, purpose, options)),
    verify: (phone, purpose, code, options) =>
      Promise.resolve().then(() => verify(phone, purpose, code, options)),
    events: emitter,
    close: () => store.close(),
    [Symbol.asyncDispose]: () => store.close(),
  };
}
