// Phone numbers linked to accounts (users service, table `user_phones`): one phone per
// account, one account per phone, so an SMS code names exactly one user.
import { isUniqueViolation } from '../db/database.js';
import type { Db } from '../db/schema.js';
import { conflict } from '../errors.js';

export interface PhonesService {
  /**
   * Link `phone` (E.164, already verified by a code) to `userId`, replacing the account's
   * earlier phone. `PHONE_TAKEN` (409) when another account has it.
   */
  link(userId: string, phone: string): Promise<void>;
  /** The account this phone is linked to, or null. */
  userOf(phone: string): Promise<string | null>;
  /** The account's phone, or null. */
  phoneOf(userId: string): Promise<string | null>;
}

export function phonesService({ db }: { db: Db }): PhonesService {
  return {
    async link(userId, phone) {
      // The unique index on `phone` decides races between two accounts linking one number.
      try {
        await db
          .insertInto('user_phones')
          .values({ user_id: userId, phone, linked_at: new Date() })
          .onConflict((c) => c.column('user_id').doUpdateSet({ phone, linked_at: new Date() }))
          .execute();
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw conflict('PHONE_TAKEN', 'this phone number is linked to another account');
        }
        throw err;
      }
    },

    async userOf(phone) {
      const row = await db
        .selectFrom('user_phones')
        .select('user_id')
        .where('phone', '=', phone)
        .executeTakeFirst();
      return row?.user_id ?? null;
    },

    async phoneOf(userId) {
      const row = await db
        .selectFrom('user_phones')
        .select('phone')
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row?.phone ?? null;
    },
  };
}
