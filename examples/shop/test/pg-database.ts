// A throwaway database for the shop tests on real PostgreSQL: on the cluster the test
// harness starts, or on SHOP_TEST_DATABASE_URL when set. Created before, dropped after.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type PostgresServer, startPostgres } from '../../../test/harness/index.js';

export interface ThrowawayDatabase {
  /** Connection URL of the new database. */
  readonly url: string;
  /** Drop the database and stop the server if this helper started it. */
  drop(): Promise<void>;
}

/** Create `<base>_<random>` and hand back its URL. */
export async function throwawayDatabase(base: string): Promise<ThrowawayDatabase> {
  const name = `${base}_${randomBytes(6).toString('hex')}`;
  let server: PostgresServer | undefined;
  const external = process.env.SHOP_TEST_DATABASE_URL?.trim();
  let serverUrl: string;
  if (external) serverUrl = external;
  else {
    server = await startPostgres();
    serverUrl = server.url;
  }
  const onServer = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await onServer(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await onServer(`DROP DATABASE IF EXISTS ${name}`).catch(() => {});
      await server?.stop();
    },
  };
}
