import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import { coerceFields } from './fields.js';
import type { LogFields } from './logger.js';
import { maskEmail, maskPhone } from './mask.js';
import {
  createWalker,
  DEFAULT_MAX_DEPTH,
  MASK,
  MAX_DEPTH_LIMIT,
  normalizeKey,
  type Rules,
  type Walker,
} from './walk.js';

/**
 * Keys whose values are replaced by the mask by default. Matching ignores case, `-`
 * and `_`, so `apiKey`, `api_key` and `API-KEY` all match.
 *
 * @example
 * ```ts
 * import { defaultRedactKeys, consoleLogger } from 'girder/logger';
 *
 * // Keep the defaults and add one:
 * consoleLogger({ redact: { keys: [...defaultRedactKeys, 'pin'] } });
 * ```
 */
export const defaultRedactKeys: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'secret',
  'clientSecret',
  'token',
  'accessToken',
  'refreshToken',
  'idToken',
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'apiKey',
  'x-api-key',
  'privateKey',
]);

/**
 * Keys whose values are partially masked as phone numbers by default (see
 * {@link maskPhone}).
 *
 * @example
 * ```ts
 * import { defaultPhoneKeys, consoleLogger } from 'girder/logger';
 *
 * consoleLogger({ redact: { partial: { phone: [...defaultPhoneKeys, 'contact'] } } });
 * ```
 */
export const defaultPhoneKeys: readonly string[] = Object.freeze([
  'phone',
  'phoneNumber',
  'mobile',
  'mobilePhone',
  'mobileNumber',
  'cellphone',
  'tel',
  'telephone',
]);

/**
 * Keys whose values are partially masked as email addresses when email masking is
 * turned on with `partial: {email: true}` (see {@link maskEmail}).
 *
 * @example
 * ```ts
 * import { consoleLogger } from 'girder/logger';
 *
 * consoleLogger({ redact: { partial: { email: true } } }); // email, emailAddress, mail
 * ```
 */
export const defaultEmailKeys: readonly string[] = Object.freeze(['email', 'emailAddress', 'mail']);

/**
 * A partial masking rule of your own, e.g. for national id or bank card numbers.
 *
 * @example
 * ```ts
 * import type { PartialMaskRule } from 'girder/logger';
 *
 * const idCard: PartialMaskRule = {
 *   keys: ['idCard', 'idNumber'],
 *   mask: (value) => `${value.slice(0, 4)}**********${value.slice(-4)}`,
 * };
 * ```
 */
export interface PartialMaskRule {
  /** Keys (matched like every redaction key) whose values this rule masks. */
  keys: readonly string[];
  /**
   * Returns the masked form of a string value (numbers are passed as strings). Objects
   * under these keys are masked whole.
   */
  mask: (value: string) => string;
}

/**
 * Which values are partially masked rather than hidden.
 *
 * @example
 * ```ts
 * import type { PartialMaskOptions } from 'girder/logger';
 *
 * const partial: PartialMaskOptions = { phone: ['phone', 'contactPhone'], email: true };
 * ```
 */
export interface PartialMaskOptions {
  /**
   * Phone numbers: `true` for {@link defaultPhoneKeys}, a list of keys, or `false`.
   * Default `true`.
   */
  phone?: boolean | readonly string[];
  /**
   * Email addresses: `true` for {@link defaultEmailKeys}, a list of keys, or `false`.
   * Default `false` (emails are often what you search logs by).
   */
  email?: boolean | readonly string[];
  /** Your own rules; they win over `phone` and `email` for the same key. Default none. */
  custom?: readonly PartialMaskRule[];
}

/**
 * How fields are redacted. Matching of every key list ignores case, `-` and `_`, at
 * any depth, including inside errors and their `context`.
 *
 * @example
 * ```ts
 * import { consoleLogger } from 'girder/logger';
 *
 * const logger = consoleLogger({
 *   redact: {
 *     extraKeys: ['pin', 'cvv'],
 *     mask: '***',
 *     partial: { phone: true, email: true },
 *     maxDepth: 6,
 *   },
 * });
 * ```
 */
export interface RedactOptions {
  /** Keys whose values are replaced by `mask`; replaces the defaults. Default {@link defaultRedactKeys}. */
  keys?: readonly string[];
  /** Keys added to `keys` (usually to the defaults). Default none. */
  extraKeys?: readonly string[];
  /** The replacement string. Default `'[REDACTED]'`. */
  mask?: string;
  /** Partial masking of phone numbers, emails and your own formats. */
  partial?: PartialMaskOptions;
  /**
   * Nesting levels walked below the fields object; deeper objects become
   * `'[Truncated]'` (a redactor cannot vouch for what it did not look at). Default 10,
   * max 100.
   */
  maxDepth?: number;
}

/**
 * A reusable redaction pass: the adapters use one internally; use one yourself before
 * sending fields anywhere else (an HTTP error body, an audit event).
 *
 * @example
 * ```ts
 * import { redactor } from 'girder/logger';
 *
 * const { redact } = redactor();
 * redact({ user: 'ann', password: 'hunter2' }); // { user: 'ann', password: '[REDACTED]' }
 * ```
 */
export interface Redactor {
  /**
   * Return a redacted copy of `fields` (or `fields` itself when nothing needed to
   * change). Never mutates the input. Errors become plain records, cycles become
   * `'[Circular]'`, objects past the depth limit become `'[Truncated]'`.
   */
  redact(fields: LogFields): LogFields;
}

const keyList = z.array(z.string().min(1, 'must not be empty'));
const keysOrSwitch = z.union([z.boolean(), keyList], {
  error: 'must be a boolean or an array of key names',
});

const optionsSchema = z.strictObject(
  {
    keys: keyList.optional(),
    extraKeys: keyList.default([]),
    mask: z.string().default('[REDACTED]'),
    partial: z
      .strictObject({
        phone: keysOrSwitch.default(true),
        email: keysOrSwitch.default(false),
        custom: z
          .array(
            z.strictObject({
              keys: keyList,
              mask: z.custom<(value: string) => string>((v) => typeof v === 'function', {
                message: 'must be a function',
              }),
            }),
          )
          .default([]),
      })
      .prefault({}),
    maxDepth: z.number().int().min(1).max(MAX_DEPTH_LIMIT).default(DEFAULT_MAX_DEPTH),
  },
  // Only the type error gets this message: an unknown key keeps zod's, which names it.
  {
    error: (issue) =>
      issue.code === 'invalid_type' ? 'must be a boolean or an object' : undefined,
  },
);

/**
 * Schema of a `redact` option: `true`/absent for the defaults, `false` to turn masking
 * off (parsed to `null`), or {@link RedactOptions}.
 */
export const redactOptionSchema = z.preprocess(
  (value) => (value === undefined || value === true ? {} : value === false ? null : value),
  optionsSchema.nullable(),
);

/** Parsed form of a `redact` option. */
export type ParsedRedactOption = z.output<typeof redactOptionSchema>;

function compileRules(options: NonNullable<ParsedRedactOption>): Rules {
  const actions = new Map<string, number>();
  const partial: ((value: string) => string)[] = [];
  const assign = (keys: readonly string[], action: number) => {
    for (const key of keys) actions.set(normalizeKey(key), action);
  };
  const { mask } = options;
  const { phone, email, custom } = options.partial;
  // Later assignments win: built-in partials, then custom partials, then full masks.
  if (phone !== false) {
    partial.push((value) => maskPhone(value, mask));
    assign(phone === true ? defaultPhoneKeys : phone, partial.length - 1);
  }
  if (email !== false) {
    partial.push((value) => maskEmail(value, mask));
    assign(email === true ? defaultEmailKeys : email, partial.length - 1);
  }
  for (const rule of custom) {
    partial.push(rule.mask);
    assign(rule.keys, partial.length - 1);
  }
  assign(options.keys ?? defaultRedactKeys, MASK);
  assign(options.extraKeys, MASK);
  return { actions, mask, partial };
}

/** Build the walker for a parsed `redact` option (`null`: structure only, no masking). */
export function walkerFor(option: ParsedRedactOption): Walker {
  if (option === null) return createWalker(undefined, DEFAULT_MAX_DEPTH);
  return createWalker(compileRules(option), option.maxDepth);
}

/**
 * Create a {@link Redactor}. Pass `false` to keep only the structural safety (errors
 * serialised, cycles broken, default depth limit) without masking anything.
 *
 * @param options - `true` (default) for the defaults, `false`, or {@link RedactOptions}.
 * @throws InvalidOptionsError naming the bad field.
 *
 * @example
 * ```ts
 * import { redactor } from 'girder/logger';
 *
 * const r = redactor({ extraKeys: ['pin'] });
 * r.redact({ headers: { Authorization: 'Bearer abc' }, phone: '13812345678', pin: 1234 });
 * // { headers: { Authorization: '[REDACTED]' }, phone: '138****5678', pin: '[REDACTED]' }
 * ```
 */
export function redactor(options: boolean | RedactOptions = true): Redactor {
  const parsed = parseOptions('redactor', redactOptionSchema, options);
  const walker = walkerFor(parsed);
  return {
    redact: (fields) => walker.fields(coerceFields(fields) ?? {}),
  };
}
