import { createSmsQueueTable, type SmsQueue, sqlSmsQueue } from 'girder/sms';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type PostgresServer, startPostgres } from '../../test/harness/postgres.js';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * Claim throughput of `sqlSmsQueue` on PostgreSQL: one op is one job claimed (with a
 * lease and a fencing token) and marked sent, by 1 worker and by 4 concurrent workers.
 * There is no natural peer library, so the comparison is the ceiling: a bare loop of
 * the same two statements a hand-written queue needs (`UPDATE ... WHERE id = (SELECT
 * ... FOR UPDATE SKIP LOCKED) RETURNING id`, then `UPDATE ... SET status = 'sent'`),
 * through the same pool, on a table of the same shape. Uses DATABASE_URL when set,
 * otherwise starts a throwaway PostgreSQL.
 */
const JOBS = 300_000;
const WORKERS = 4;

let server: PostgresServer | undefined;
let pool: pg.Pool;
let db: Kysely<unknown>;
let queue: SmsQueue;
let batchQueue: SmsQueue;

async function fill(table: string) {
  await createSmsQueueTable(db, { table });
  await sql`INSERT INTO ${sql.table(table)}
    (id, request_id, message, status, attempts, max_attempts, token, available_at, enqueued_at, updated_at)
    SELECT lpad(g::text, 12, '0'), 'r' || g, '{"to":["+8613800000000"],"template":"t"}', 'pending',
      0, 5, 0, 0, 0, 0 FROM generate_series(1, ${JOBS}) g`.execute(db);
  await sql`ANALYZE ${sql.table(table)}`.execute(db);
}

const lanes =
  (count: number, op: (lane: number) => Promise<unknown>): Runner =>
  async (n) => {
    let issued = 0;
    await Promise.all(
      Array.from({ length: count }, async (_, lane) => {
        while (issued < n) {
          issued++;
          await op(lane);
        }
      }),
    );
  };

const girderOne = async (lane: number) => {
  const [job] = await queue.claim(`w${lane}`, 1, 30_000);
  if (job === undefined) throw new Error('bench queue ran dry: raise JOBS');
  await queue.complete(job);
};

// Ten at a time: one claim statement for ten jobs (what a worker with concurrency 10 does).
const girderTen = (n: number) =>
  lanes(1, async () => {
    const jobs = await batchQueue.claim('w', 10, 30_000);
    await Promise.all(jobs.map((j) => batchQueue.complete(j)));
  })(Math.ceil(n / 10));

const bare = async (lane: number) => {
  const now = Date.now();
  const claimed = await pool.query(
    `UPDATE bench_bare SET status = 'leased', attempts = attempts + 1, token = token + 1,
       lease_owner = $1, lease_until = $2, updated_at = $3
     WHERE id = (SELECT id FROM bench_bare WHERE status = 'pending' AND available_at <= $3
       ORDER BY available_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id`,
    [`w${lane}`, now + 30_000, now],
  );
  const id = claimed.rows[0]?.id;
  if (id === undefined) throw new Error('bench queue ran dry: raise JOBS');
  await pool.query(`UPDATE bench_bare SET status = 'sent', updated_at = $2 WHERE id = $1`, [
    id,
    Date.now(),
  ]);
};

async function setup() {
  let url = process.env.DATABASE_URL?.trim();
  if (!url) {
    server = await startPostgres();
    url = server.url;
  }
  pool = new pg.Pool({ connectionString: url, max: 8 });
  // An idle client hearing the server stop at teardown must not crash the bench run.
  pool.on('error', () => {});
  db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  for (const t of ['bench_girder', 'bench_girder10', 'bench_bare']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(t)}`.execute(db);
    await fill(t);
  }
  queue = sqlSmsQueue(db, { table: 'bench_girder' });
  batchQueue = sqlSmsQueue(db, { table: 'bench_girder10' });
  return async () => {
    await db.destroy();
    await server?.stop();
  };
}

let ready: Promise<() => Promise<void>> | undefined;
// One database for the suite: set up by the first case, torn down after the last.
const shared = (last: boolean) => async () => {
  ready ??= setup();
  const teardown = await ready;
  return last ? teardown : undefined;
};

export const suite: BenchSuite = {
  name: 'sms queue (PostgreSQL)',
  cases: [
    {
      name: 'claim + mark sent, 1 worker (jobs/s)',
      setup: shared(false),
      girder: lanes(1, girderOne),
      peers: [{ name: 'bare UPDATE ... RETURNING', run: lanes(1, bare) }],
    },
    {
      name: `claim + mark sent, ${WORKERS} workers (jobs/s)`,
      setup: shared(false),
      girder: lanes(WORKERS, girderOne),
      peers: [{ name: 'bare UPDATE ... RETURNING', run: lanes(WORKERS, bare) }],
    },
    {
      name: 'claims of 10 + mark sent, 1 worker (jobs/s)',
      setup: shared(true),
      girder: girderTen,
      peers: [{ name: 'bare UPDATE ... RETURNING, one at a time', run: lanes(1, bare) }],
    },
  ],
};
