// E.164 country codes are prefix-free: these start with one or two digits, every
// other code has three. Knowing the length lets us keep the national prefix.
const oneDigitCodes = new Set(['1', '7']);
const twoDigitCodes = new Set([
  '20',
  '27',
  '30',
  '31',
  '32',
  '33',
  '34',
  '36',
  '39',
  '40',
  '41',
  '43',
  '44',
  '45',
  '46',
  '47',
  '48',
  '49',
  '51',
  '52',
  '53',
  '54',
  '55',
  '56',
  '57',
  '58',
  '60',
  '61',
  '62',
  '63',
  '64',
  '65',
  '66',
  '81',
  '82',
  '84',
  '86',
  '90',
  '91',
  '92',
  '93',
  '94',
  '95',
  '98',
]);

const phoneLike = /^\+?[\d\s().-]+$/;
const explicitCountryCode = /^\+(\d{1,3})[\s.-]/;

function countryCodeLength(text: string, digits: string): number {
  const explicit = explicitCountryCode.exec(text);
  if (explicit?.[1] !== undefined) return explicit[1].length;
  if (oneDigitCodes.has(digits.slice(0, 1))) return 1;
  if (twoDigitCodes.has(digits.slice(0, 2))) return 2;
  return 3;
}

/**
 * Partially mask a phone number: keep the country code, the first 3 and the last 4
 * digits of the national number and replace the digits between with `*`, leaving
 * separators where they were. Values that do not look like a phone number, or whose
 * national number has fewer than 8 digits (nothing would stay hidden), become `mask`.
 *
 * @param mask - replacement for values that cannot be partially masked.
 *
 * @example
 * ```ts
 * import { maskPhone } from 'girder/logger';
 *
 * maskPhone('13812345678'); // '138****5678'
 * maskPhone('+8613812345678'); // '+86138****5678'
 * maskPhone('+1 (415) 555-2671'); // '+1 (415) ***-2671'
 * maskPhone('12345'); // '[REDACTED]'
 * ```
 */
export function maskPhone(value: string, mask = '[REDACTED]'): string {
  const text = String(value).trim();
  if (!phoneLike.test(text)) return mask;
  const digits = text.replace(/\D/g, '');
  const codeLength = text.startsWith('+') ? countryCodeLength(text, digits) : 0;
  const national = digits.length - codeLength;
  if (national < 8) return mask;
  let out = '';
  let index = 0;
  for (const char of text) {
    if (char < '0' || char > '9') {
      out += char;
      continue;
    }
    const position = index - codeLength;
    out += position >= 3 && position < national - 4 ? '*' : char;
    index++;
  }
  return out;
}

/**
 * Partially mask an email address: keep the first character of the local part and the
 * domain, hide the rest behind a fixed `***` (so the length is not revealed). Values
 * without a usable `@` become `mask`.
 *
 * @param mask - replacement for values that are not email addresses.
 *
 * @example
 * ```ts
 * import { maskEmail } from 'girder/logger';
 *
 * maskEmail('alice@example.com'); // 'a***@example.com'
 * maskEmail('not-an-email'); // '[REDACTED]'
 * ```
 */
export function maskEmail(value: string, mask = '[REDACTED]'): string {
  const text = String(value).trim();
  const at = text.lastIndexOf('@');
  if (at < 1 || at === text.length - 1) return mask;
  return `${text.slice(0, 1)}***${text.slice(at)}`;
}
