// The users service: accounts, password hashes and roles. Owns the `users` table.
import { randomUUID } from 'node:crypto';
import { isUniqueViolation } from '../db/database.js';
import type { Db } from '../db/schema.js';
import { conflict } from '../errors.js';
import { hashPassword, verifyPassword } from './password.js';

export type Role = 'user' | 'admin';

/** A user as other services see it (never the password hash). */
export interface User {
  id: string;
  email: string;
  role: Role;
  createdAt: Date;
}

/** Who is trying to sign in, for rate limiting. */
export interface LoginContext {
  ip: string;
}

export interface UsersService {
  /** Create an account; `EMAIL_TAKEN` (409) when the email is registered. Input must be validated. */
  signup(email: string, password: string): Promise<User>;
  /** The user whose credentials these are, or null: the caller cannot tell unknown email from wrong password. */
  authenticate(email: string, password: string, context: LoginContext): Promise<User | null>;
  /** A user by id, or null. */
  get(id: string): Promise<User | null>;
  /** Create the admin account if it does not exist (keeps an existing password) and make sure it is an admin. */
  ensureAdmin(email: string, password: string): Promise<User>;
}

export interface UsersServiceOptions {
  db: Db;
  /** scrypt cost N. */
  hashCost: number;
}

const toUser = (row: { id: string; email: string; role: Role; created_at: Date }): User => ({
  id: row.id,
  email: row.email,
  role: row.role,
  createdAt: row.created_at,
});

export function usersService({ db, hashCost }: UsersServiceOptions): UsersService {
  // Checked against when the email is unknown, so both failures take the same time.
  const dummyHash = hashPassword('not-a-real-password-1!', hashCost);

  const insert = async (email: string, password: string, role: Role): Promise<User> => {
    const row = await db
      .insertInto('users')
      .values({
        id: randomUUID(),
        email,
        password_hash: await hashPassword(password, hashCost),
        role,
      })
      .returning(['id', 'email', 'role', 'created_at'])
      .executeTakeFirstOrThrow();
    return toUser(row);
  };

  return {
    async signup(email, password) {
      // Insert and let the unique index decide: a check-then-insert would race.
      try {
        return await insert(email, password, 'user');
      } catch (err) {
        if (isUniqueViolation(err))
          throw conflict('EMAIL_TAKEN', 'this email is already registered');
        throw err;
      }
    },

    async authenticate(email, password) {
      const row = await db
        .selectFrom('users')
        .select(['id', 'email', 'role', 'created_at', 'password_hash'])
        .where('email', '=', email)
        .executeTakeFirst();
      if (!row) {
        await verifyPassword(password, await dummyHash);
        return null;
      }
      return (await verifyPassword(password, row.password_hash)) ? toUser(row) : null;
    },

    async get(id) {
      const row = await db
        .selectFrom('users')
        .select(['id', 'email', 'role', 'created_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toUser(row) : null;
    },

    async ensureAdmin(email, password) {
      try {
        return await insert(email, password, 'admin');
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      const row = await db
        .updateTable('users')
        .set({ role: 'admin' })
        .where('email', '=', email)
        .returning(['id', 'email', 'role', 'created_at'])
        .executeTakeFirstOrThrow();
      return toUser(row);
    },
  };
}
