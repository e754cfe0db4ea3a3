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

/** The PostgreSQL server the shop tests use. */
export interface TestPostgres {
  /** Connection URL of its `postgres` database (or SHOP_TEST_DATABASE_URL as given). */
  readonly url: string;
  /** Stop the server if this helper started it. */
  stop(): Promise<void>;
}

/** SHOP_TEST_DATABASE_URL's server when set, else one the test harness starts. */
export async function testPostgres(): Promise<TestPostgres> {
  const external = process.env.SHOP_TEST_DATABASE_URL?.trim();
  if (external) return { url: external, stop: async () => {} };
  const server: PostgresServer = await startPostgres();
  return { url: server.url, stop: () => server.stop() };
}

/** Run one statement on `url` over a connection of its own; resolves the rows. */
export async function queryOn<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Create `<base>_<random>` and hand back its URL. */
export async function throwawayDatabase(base: string): Promise<ThrowawayDatabase> {
  const name = `${base}_${randomBytes(6).toString('hex')}`;
  const server = await testPostgres();
  await queryOn(server.url, `CREATE DATABASE ${name}`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await queryOn(server.url, `DROP DATABASE IF EXISTS ${name}`).catch(() => {});
      await server.stop();
    },
  };
}
