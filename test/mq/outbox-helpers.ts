// Test doubles for the outbox: a real Producer that records what it is sent (and can be
// told to fail), and the two databases the outbox runs on.
import { PGlite } from '@electric-sql/pglite';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from 'kysely';
import type { OutgoingMessage, Producer } from '../../src/mq/index.js';
import type { ContractBackend } from '../harness/index.js';
import { type PostgresServer, postgresPool, startPostgres } from '../harness/index.js';

export interface Sent {
  topic: string;
  message: OutgoingMessage;
}

export interface RecordingProducer extends Producer {
  readonly sent: Sent[];
  /** Make the next sends of `topic` (or any topic: `*`) reject, `times` times. */
  failNext(topic: string, times?: number, error?: Error): void;
  /** The text values sent, in order. */
  texts(): string[];
}

export function recordingProducer(): RecordingProducer {
  const sent: Sent[] = [];
  const failures = new Map<string, { times: number; error: Error }>();
  return {
    sent,
    failNext(topic, times = 1, error = new Error(`broker refused ${topic}`)) {
      failures.set(topic, { times, error });
    },
    texts: () =>
      sent.map((s) =>
        typeof s.message.value === 'string'
          ? s.message.value
          : new TextDecoder().decode(s.message.value),
      ),
    async send(topic, messages) {
      await new Promise<void>((r) => setImmediate(r));
      for (const t of [topic, '*']) {
        const f = failures.get(t);
        if (f !== undefined && f.times > 0) {
          f.times -= 1;
          throw f.error;
        }
      }
      for (const message of messages) sent.push({ topic, message });
    },
  };
}

/**
 * Kysely over one PGlite instance that lends its one session to one user at a time.
 * kysely-pglite's driver does not: two concurrent Kysely transactions would share the
 * session (one BEGIN, interleaved statements, one COMMIT for both).
 */
export function serialPglite(client: PGlite): Dialect {
  let tail: Promise<void> = Promise.resolve();
  let release: (() => void) | undefined;
  const connection: DatabaseConnection = {
    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const result = await client.query<R>(query.sql, [...query.parameters]);
      return { rows: result.rows, numAffectedRows: BigInt(result.affectedRows ?? 0) };
    },
    streamQuery() {
      throw new Error('PGlite cannot stream');
    },
  };
  const raw = (text: string) => connection.executeQuery(CompiledQuery.raw(text)).then(() => {});
  const driver: Driver = {
    async init() {},
    async acquireConnection() {
      const previous = tail;
      let done!: () => void;
      tail = new Promise<void>((r) => (done = r));
      await previous;
      release = done;
      return connection;
    },
    async releaseConnection() {
      const r = release;
      release = undefined;
      r?.();
    },
    beginTransaction: () => raw('BEGIN'),
    commitTransaction: () => raw('COMMIT'),
    rollbackTransaction: () => raw('ROLLBACK'),
    destroy: () => client.close(),
  };
  return {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => driver,
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests query tables by dynamic names.
export type AnyDb = Kysely<any>;

export interface DbEnv {
  db: AnyDb;
  /** Another pool on the same database (PGlite: the same instance). */
  connect(): AnyDb;
}

let server: PostgresServer | undefined;
const opened: AnyDb[] = [];

export const sqlBackends: ContractBackend<DbEnv>[] = [
  {
    name: 'pglite',
    async open() {
      const client = new PGlite();
      await client.waitReady;
      const db: AnyDb = new Kysely({ dialect: serialPglite(client) });
      opened.push(db);
      return { db, connect: () => db };
    },
  },
  {
    name: 'postgres',
    async open() {
      server ??= await startPostgres();
      const url = server.url;
      const connect = () => {
        const db: AnyDb = new Kysely({
          dialect: new PostgresDialect({
            pool: postgresPool(url, 6),
          }),
        });
        opened.push(db);
        return db;
      };
      return { db: connect(), connect };
    },
  },
];

export async function closeDatabases(): Promise<void> {
  await Promise.all(opened.splice(0).map((d) => d.destroy()));
  await server?.stop();
  server = undefined;
}

let tables = 0;
export const tableName = (what: string) => `${what}_${process.pid}_${++tables}`;

/** Connections the server ends at teardown ("terminating connection") are expected, not unhandled errors. */
