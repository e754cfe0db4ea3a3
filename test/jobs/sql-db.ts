// The two databases the SQL scheduler runs on: PGlite in-process and a real PostgreSQL.
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
import { type PostgresServer, postgresPool, startPostgres } from '../harness/index.js';

export interface TestDb {
  // biome-ignore lint/suspicious/noExplicitAny: tests query the job table by a dynamic name.
  readonly db: Kysely<any>;
  /** Another connection (pool) to the same database, as a second process would have. */
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  connect(): Kysely<any>;
  close(): Promise<void>;
}

export async function pgliteDb(): Promise<TestDb> {
  const client = new PGlite();
  // Start-up (WebAssembly) happens here, in the hook, not in the first test.
  await client.waitReady;
  // biome-ignore lint/suspicious/noExplicitAny: see TestDb.
  const db = new Kysely<any>({ dialect: new KyselyPGlite(client).dialect });
  return {
    db,
    connect: () => db,
    close: () => db.destroy(),
  };
}

let server: PostgresServer | undefined;

export async function postgresDb(): Promise<TestDb & { url: string }> {
  server ??= await startPostgres();
  const url = server.url;
  // biome-ignore lint/suspicious/noExplicitAny: see TestDb.
  const opened: Kysely<any>[] = [];
  const connect = () => {
    // biome-ignore lint/suspicious/noExplicitAny: see TestDb.
    const db = new Kysely<any>({
      dialect: new PostgresDialect({ pool: postgresPool(url) }),
    });
    opened.push(db);
    return db;
  };
  const db = connect();
  return {
    url,
    db,
    connect,
    async close() {
      await Promise.all(opened.map((d) => d.destroy()));
    },
  };
}

export async function stopPostgres(): Promise<void> {
  await server?.stop();
  server = undefined;
}

/** A pool whose connections ended by the server's own shutdown at teardown are not unhandled errors. */
