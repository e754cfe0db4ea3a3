// The outbox table and how a message becomes a row and back. Ids are a BIGSERIAL: the
// relay publishes in id order, which is insert order.
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { InvalidArgumentError, parseOptions } from '../core/index.js';
import { kyselySchema, sqlTableSchema } from './idem-sql.js';
import type { OutgoingMessage } from './types.js';

/** @internal */
export const DEFAULT_OUTBOX_TABLE = 'girder_outbox';
/** @internal */
export const outboxTableSchema = sqlTableSchema(DEFAULT_OUTBOX_TABLE);

/**
 * Options of {@link createOutboxTable}.
 *
 * @example
 * ```ts
 * await createOutboxTable(db, { table: 'shop.outbox' });
 * ```
 */
export interface OutboxTableOptions {
  /** The table (optionally `schema.table`). Default `girder_outbox`. */
  table?: string;
}

const schema = z.strictObject({ table: outboxTableSchema });

/**
 * Create the table of {@link outbox} if it does not exist, with an index serving the
 * relay's "pending rows in id order" read. PostgreSQL and PGlite (the id is a
 * `bigserial`). Safe to run on every start.
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { createOutboxTable, outbox } from 'girder/mq';
 *
 * await createOutboxTable(db);
 * const box = outbox(db, { producer: queue.producer });
 * ```
 */
export async function createOutboxTable<DB>(
  db: Kysely<DB>,
  options: OutboxTableOptions = {},
): Promise<void> {
  parseOptions('createOutboxTable', z.strictObject({ db: kyselySchema }), { db });
  const { table } = parseOptions('createOutboxTable', schema, options);
  const k = db as unknown as Kysely<Record<string, never>>;
  await k.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('topic', 'varchar(255)', (c) => c.notNull())
    .addColumn('msg_key', 'varchar(1024)')
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('encoding', 'varchar(8)', (c) => c.notNull())
    .addColumn('headers', 'text')
    .addColumn('status', 'varchar(16)', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('sent_at', 'bigint')
    .execute();
  const bare = table.slice(table.lastIndexOf('.') + 1);
  await k.schema
    .createIndex(`${bare}_relay_idx`)
    .ifNotExists()
    .on(table)
    .columns(['status', 'id'])
    .execute();
}

/** @internal One outbox row as stored. */
export interface OutboxRow {
  id: string | number | bigint;
  topic: string;
  msg_key: string | null;
  value: string;
  encoding: 'utf8' | 'base64';
  headers: string | null;
}

/** @internal The columns `add` writes. */
export type NewOutboxRow = Omit<OutboxRow, 'id'> & {
  status: 'pending';
  attempts: 0;
  created_at: number;
};

const TOPIC_MAX = 255;
const KEY_MAX = 1024;

/** @internal Check a topic and messages and turn them into rows, before anything is written. */
export function toRows(topic: unknown, message: unknown, now: number): NewOutboxRow[] {
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > TOPIC_MAX) {
    throw new InvalidArgumentError(
      'topic',
      `must be a non-empty string of at most ${TOPIC_MAX} characters`,
    );
  }
  const list = (Array.isArray(message) ? message : [message]) as unknown[];
  if (list.length === 0) throw new InvalidArgumentError('message', 'must not be an empty list');
  return list.map((m, i) => {
    const at = Array.isArray(message) ? `message[${i}]` : 'message';
    if (typeof m !== 'object' || m === null)
      throw new InvalidArgumentError(at, 'must be an object');
    const { key, value, headers } = m as OutgoingMessage;
    if (key !== undefined && (typeof key !== 'string' || key.length > KEY_MAX)) {
      throw new InvalidArgumentError(
        `${at}.key`,
        `must be a string of at most ${KEY_MAX} characters`,
      );
    }
    const binary = value instanceof Uint8Array;
    if (!binary && typeof value !== 'string') {
      throw new InvalidArgumentError(`${at}.value`, 'must be a string or a Uint8Array');
    }
    if (headers !== undefined) {
      const ok =
        typeof headers === 'object' &&
        headers !== null &&
        !Array.isArray(headers) &&
        Object.values(headers).every((h) => typeof h === 'string');
      if (!ok) throw new InvalidArgumentError(`${at}.headers`, 'must be an object of strings');
    }
    return {
      topic,
      msg_key: key ?? null,
      value: binary ? Buffer.from(value).toString('base64') : value,
      encoding: binary ? 'base64' : 'utf8',
      headers: headers === undefined ? null : JSON.stringify(headers),
      status: 'pending',
      attempts: 0,
      created_at: Math.floor(now),
    };
  });
}

/** @internal A row back into the message it was added as. */
export function toMessage(row: OutboxRow): OutgoingMessage {
  const m: OutgoingMessage = {
    value: row.encoding === 'base64' ? new Uint8Array(Buffer.from(row.value, 'base64')) : row.value,
  };
  if (row.msg_key !== null) m.key = row.msg_key;
  if (row.headers !== null) m.headers = JSON.parse(row.headers) as Record<string, string>;
  return m;
}
