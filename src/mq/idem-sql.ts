// The SQL idempotency store: the "already processed" mark is a row under a primary key,
// inserted FIRST in the same transaction as the work. A concurrent delivery's insert
// waits on that key until the first transaction ends: commit -> it sees the row and
// skips; rollback -> it inserts and runs. Mark and side effect commit together or not at
// all, so the effect happens exactly once (for effects inside this database).
import { type Kysely, sql, type Transaction } from 'kysely';
import { z } from 'zod';
import {
  type Clock,
  checkSignal,
  clockSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  throwIfAborted,
} from '../core/index.js';
import {
  checkIdempotencyKey,
  checkWork,
  type IdempotencyContext,
  type IdempotencyStore,
} from './idem-store.js';

/** @internal A table name, optionally schema-qualified. */
export const sqlTableSchema = (defaultName: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/,
      'must be a table name (letters, digits, _), optionally schema-qualified',
    )
    .default(defaultName);

/** @internal Accepts a Kysely instance (duck-typed: the peer is never imported at runtime for this). */
export const kyselySchema = z.custom<Kysely<unknown>>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Kysely<unknown>).transaction === 'function' &&
    typeof (v as Kysely<unknown>).executeQuery === 'function',
  { message: 'must be a Kysely instance' },
);

/**
 * What the work of a {@link sqlIdempotencyStore} receives: the transaction holding the
 * mark. Write your side effects through `trx` so they commit with it.
 *
 * @typeParam DB - your Kysely database type.
 * @example
 * ```ts
 * await store.once('order-42', async ({ trx }) => {
 *   await trx.insertInto('ledger').values({ order_id: 'order-42', amount: 100 }).execute();
 * });
 * ```
 */
export interface SqlIdempotencyContext<DB> extends IdempotencyContext {
  /** The transaction the mark was inserted in. */
  readonly trx: Transaction<DB>;
}

/**
 * Options of {@link sqlIdempotencyStore} and {@link createIdempotencyTable}.
 *
 * @example
 * ```ts
 * const options: SqlIdempotencyStoreOptions = { table: 'shop.processed_payments' };
 * ```
 */
export interface SqlIdempotencyStoreOptions {
  /** The table (optionally `schema.table`). Default `girder_idempotency`. */
  table?: string;
  /** Time source of the `processed_at` column (for `purge`). Default `systemClock`. */
  clock?: Clock;
  /** A name for logs and metrics. */
  name?: string;
}

/**
 * Options of {@link createIdempotencyTable}.
 *
 * @example
 * ```ts
 * await createIdempotencyTable(db, { table: 'processed_payments' });
 * ```
 */
export interface IdempotencyTableOptions {
  /** The table (optionally `schema.table`). Default `girder_idempotency`. */
  table?: string;
}

const DEFAULT_TABLE = 'girder_idempotency';
const tableOptions = z.strictObject({ table: sqlTableSchema(DEFAULT_TABLE) });
const schema = z.strictObject({
  table: sqlTableSchema(DEFAULT_TABLE),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).optional(),
});

/**
 * Create the table of {@link sqlIdempotencyStore} if it does not exist: the business key
 * as primary key (the unique index that decides), and when it was processed (epoch ms).
 * Safe to run on every start.
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { createIdempotencyTable, sqlIdempotencyStore } from 'girder/mq';
 *
 * await createIdempotencyTable(db, { table: 'processed_payments' });
 * const store = sqlIdempotencyStore(db, { table: 'processed_payments' });
 * ```
 */
export async function createIdempotencyTable<DB>(
  db: Kysely<DB>,
  options: IdempotencyTableOptions = {},
): Promise<void> {
  parseOptions('createIdempotencyTable', z.strictObject({ db: kyselySchema }), { db });
  const { table } = parseOptions('createIdempotencyTable', tableOptions, options);
  await (db as unknown as Kysely<Record<string, never>>).schema
    .createTable(table)
    .ifNotExists()
    .addColumn('idempotency_key', 'varchar(512)', (c) => c.primaryKey())
    .addColumn('processed_at', 'bigint', (c) => c.notNull())
    .execute();
}

/**
 * A SQL {@link IdempotencyStore} with a purge for old marks.
 *
 * @typeParam DB - your Kysely database type.
 * @example
 * ```ts
 * const store: SqlIdempotencyStore<Database> = sqlIdempotencyStore(db);
 * await store.purge(30 * 86_400_000);
 * ```
 */
export interface SqlIdempotencyStore<DB> extends IdempotencyStore<SqlIdempotencyContext<DB>> {
  /** Delete marks older than `olderThanMs`; resolves with how many went. Keep them longer than any redelivery can arrive. */
  purge(olderThanMs: number): Promise<number>;
}

/**
 * An {@link IdempotencyStore} in a SQL table through your Kysely instance (PostgreSQL or
 * PGlite; any dialect with `INSERT ... ON CONFLICT DO NOTHING`). `once(key, work)` opens
 * a transaction, inserts the key's mark, and runs `work({ key, trx })` in that same
 * transaction; if the mark already exists the work is skipped. Write the side effects
 * through `trx`: they and the mark commit together, so under any crash or redelivery
 * the effect happens exactly once. A concurrent delivery of the same key waits for the
 * first transaction to end (the unique index), then skips (or runs, if it rolled back).
 * Effects outside the database (an e-mail, an HTTP call) are not covered: they may run
 * again if the transaction fails to commit after them.
 *
 * Create the table first with {@link createIdempotencyTable}.
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { createIdempotencyTable, idempotent, sqlIdempotencyStore } from 'girder/mq';
 *
 * await createIdempotencyTable(db);
 * const handler = idempotent(
 *   async (msg, { trx }) => {
 *     await trx.insertInto('ledger').values({ order_id: msg.key!, amount: 100 }).execute();
 *   },
 *   { store: sqlIdempotencyStore(db), key: (msg) => msg.key! },
 * );
 * ```
 */
export function sqlIdempotencyStore<DB>(
  db: Kysely<DB>,
  options: SqlIdempotencyStoreOptions = {},
): SqlIdempotencyStore<DB> {
  parseOptions('sqlIdempotencyStore', z.strictObject({ db: kyselySchema }), { db });
  const o = parseOptions('sqlIdempotencyStore', schema, options);
  const t = sql.table(o.table);
  return {
    kind: 'sql',
    async once(key, work, signal) {
      checkIdempotencyKey(key);
      checkWork(work);
      throwIfAborted(checkSignal(signal));
      return db.transaction().execute(async (trx) => {
        const inserted = await sql`INSERT INTO ${t} (idempotency_key, processed_at)
          VALUES (${key}, ${Math.floor(o.clock.now())})
          ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`.execute(trx);
        if (inserted.rows.length === 0) return false;
        await work({ key, trx });
        return true;
      });
    },
    async purge(olderThanMs) {
      if (typeof olderThanMs !== 'number' || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
        throw new InvalidArgumentError('olderThanMs', 'must be a finite number >= 0');
      }
      const before = Math.floor(o.clock.now() - olderThanMs);
      const gone = await sql`DELETE FROM ${t} WHERE processed_at < ${before}
        RETURNING idempotency_key`.execute(db);
      return gone.rows.length;
    },
    async close() {},
    async [Symbol.asyncDispose]() {},
  };
}
