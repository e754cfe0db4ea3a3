// Sign-up rules, shared by the API, the config check of the admin password, and docs.
import { z } from 'zod';

/** The password rule in words, for error messages and the UI. */
export const PASSWORD_RULE =
  '8 to 72 characters with at least one letter, one digit and one symbol';

const LETTER = /\p{L}/u;
const DIGIT = /\p{N}/u;
const SYMBOL = /[^\p{L}\p{N}\s]/u;

/** A password that follows {@link PASSWORD_RULE}. */
export const passwordSchema = z.string().refine(
  (p) => {
    const length = [...p].length;
    return length >= 8 && length <= 72 && LETTER.test(p) && DIGIT.test(p) && SYMBOL.test(p);
  },
  { message: `password must be ${PASSWORD_RULE}` },
);

/** An email address: trimmed, lower-cased, at most 254 characters. */
export const emailSchema = z
  .string()
  .trim()
  .max(254, 'email must be at most 254 characters')
  .pipe(z.email('email must be a valid address like name@example.com'))
  .transform((e) => e.toLowerCase());
