// Opening a database from a URL for the CLI: postgres:// through pg, pglite:<dir> through
// PGlite (demos). Both drivers are optional peers, loaded only when a URL needs them.
import { Kysely, PostgresDialect } from 'kysely';
import { InvalidArgumentError } from '../core/index.js';
import type { AnyDb } from './shared.js';

/** @internal Opens `url`: `postgres://...`, `postgresql://...` or `pglite:<dir>` (`pglite:memory` for in-memory). */
export async function openDatabase(url: string): Promise<AnyDb> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle connection the server drops is reported on the pool; unheard, it would
    // crash the CLI. The pool reconnects on the next query.
    pool.on('error', () => {});
    return new Kysely<never>({ dialect: new PostgresDialect({ pool }) }) as unknown as AnyDb;
  }
  if (url.startsWith('pglite:')) {
    const [{ PGlite }, { KyselyPGlite }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('kysely-pglite'),
    ]);
    const dir = url.slice('pglite:'.length);
    const client = dir === 'memory' ? new PGlite() : new PGlite(dir);
    await client.waitReady;
    return new Kysely<never>({ dialect: new KyselyPGlite(client).dialect }) as unknown as AnyDb;
  }
  throw new InvalidArgumentError(
    'url',
    `unsupported database URL "${url}" (postgres://... or pglite:<dir>)`,
  );
}
