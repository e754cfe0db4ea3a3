// A pg pool that outlives its server dropping idle connections (a restart, a failover,
// `pg_terminate_backend`). pg reports those as an 'error' event on the pool, and an
// 'error' event nobody listens to crashes the process. pg-pool has already thrown the
// broken connection away: the next query opens a new one, and queries in flight reject
// on their own, so reporting it is all there is to do.
import pg from 'pg';

/** `new pg.Pool` with an 'error' listener: `onIdleError` hears idle connections lost. */
export function resilientPgPool(
  url: string,
  max: number,
  onIdleError: (error: Error) => void = () => {},
): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', onIdleError);
  return pool;
}
