// Sync-to-async chaos: 4 worker processes against a real PostgreSQL, 1,000 queued
// messages, a worker SIGKILLed at random twice (and restarted). Every message must be
// sent at least once, none more than maxAttempts times, and no message may be in two
// workers' hands at once while both leases are valid.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSmsQueueTable, sqlSmsQueue } from '../../src/sms/index.js';
import { bundledEntry } from '../harness/bundle.js';
import { type PostgresServer, postgresPool, startPostgres } from '../harness/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/queue-worker.ts', import.meta.url));
const TABLE = 'chaos_sms';
const MESSAGES = 1_000;
const MAX_ATTEMPTS = 5;
const LEASE_MS = 1_000;

let server: PostgresServer;
let db: Kysely<unknown>;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  server = await startPostgres();
  db = new Kysely({ dialect: new PostgresDialect({ pool: postgresPool(server.url, 8) }) });
  await createSmsQueueTable(db, { table: TABLE });
  await sql`CREATE TABLE sends (request_id text, token int, worker text, due bigint, at bigint,
    lease_until bigint, ok boolean)`.execute(db);
  await sql`CREATE TABLE holds (request_id text, token int, worker text, claimed_at bigint,
    lease_until bigint, released_at bigint)`.execute(db);
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await db?.destroy();
  await server?.stop();
});

async function startWorker(name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [await bundledEntry(FIXTURE)], {
    env: {
      ...process.env,
      DATABASE_URL: server.url,
      TABLE,
      WORKER: name,
      LEASE_MS: String(LEASE_MS),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', () => resolve(child));
  });
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('loses nothing, bounds duplicates, and never overlaps valid leases', async () => {
  const t0 = Date.now();
  const phase = (what: string) => console.log(`chaos: ${what} at ${Date.now() - t0} ms`);
  const queue = sqlSmsQueue(db, { table: TABLE, maxAttempts: MAX_ATTEMPTS });
  const workers = new Map<string, Promise<ChildProcess>>();
  const killed = new Set<string>();
  for (const n of ['w0', 'w1', 'w2', 'w3']) workers.set(n, startWorker(n));
  await Promise.all(workers.values());
  phase('workers ready');

  // Enqueue while the workers drain, and SIGKILL two of them at random moments while
  // sends are in flight. Each victim is restarted under a new name (not awaited: it
  // joins when it is up); its jobs move only once their leases run out.
  const enqueued = (async () => {
    for (let i = 0; i < MESSAGES; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          queue.enqueue({ to: ['+8613800000000'], template: 'chaos', requestId: `m${i + j}` }),
        ),
      );
    }
  })();
  for (let kill = 0; kill < 2; kill++) {
    await wait(500 + Math.random() * 1_000);
    const names = [...workers.keys()].filter((n) => !n.includes('-r')); // up and running
    const victim = names[Math.floor(Math.random() * names.length)]!;
    (await workers.get(victim)!).kill('SIGKILL');
    killed.add(victim);
    workers.delete(victim);
    const name = `${victim}-r${kill}`;
    workers.set(name, startWorker(name));
  }
  await enqueued;
  phase('kills done');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const d = await queue.depth();
    if (d.pending === 0 && d.leased === 0) break;
    if (Date.now() > deadline) throw new Error(`queue not drained: ${JSON.stringify(d)}`);
    await wait(200);
  }
  phase('drained');
  await Promise.all(
    [...workers.values()].map(async (starting) => {
      const c = await starting;
      await new Promise((resolve) => {
        c.once('exit', resolve);
        c.kill('SIGTERM');
      });
    }),
  );

  const depth = await queue.depth();
  expect(depth).toEqual({ pending: 0, leased: 0, sent: MESSAGES, dead: 0 });

  type Send = {
    request_id: string;
    token: number;
    worker: string;
    due: string;
    at: string;
    lease_until: string;
    ok: boolean;
  };
  type Hold = {
    request_id: string;
    token: number;
    worker: string;
    claimed_at: string;
    lease_until: string;
    released_at: string | null;
  };
  const sends = (await sql<Send>`SELECT * FROM sends`.execute(db)).rows;
  const holds = (await sql<Hold>`SELECT * FROM holds ORDER BY request_id, token`.execute(db)).rows;

  // Every message sent at least once; none attempted more than the retry bound.
  const perRequest = new Map<string, Send[]>();
  for (const s of sends) perRequest.set(s.request_id, [...(perRequest.get(s.request_id) ?? []), s]);
  expect(perRequest.size).toBe(MESSAGES);
  for (const [id, list] of perRequest) {
    expect(
      list.some((s) => s.ok),
      id,
    ).toBe(true);
    expect(list.length, id).toBeLessThanOrEqual(MAX_ATTEMPTS);
  }

  // Every send was due inside its own claim's valid lease: the worker aborts a send at
  // its lease's end minus a margin, and that timer fires before any later one. `at`
  // (when the send really went) can pass the lease only by a stall of this process past
  // the margin, which the guide documents as not preventable; it is reported below.
  for (const s of sends) expect(Number(s.due), s.request_id).toBeLessThan(Number(s.lease_until));
  const lateMs = Math.max(0, ...sends.map((s) => Number(s.at) - Number(s.lease_until)));

  // Claims of one message never overlap: each starts after the previous one was
  // released, or after its (last renewed) lease ran out.
  // One exception: a SIGKILLed worker may have released a failed attempt in the queue
  // and died before its own record of the release was written. That is allowed only
  // where its send for that claim is recorded as failed (so a retry release was due),
  // and at most once per job it held (2 kills x concurrency 4).
  const failedSend = new Set(sends.filter((s) => !s.ok).map((s) => `${s.request_id}/${s.token}`));
  let handovers = 0;
  let unrecordedReleases = 0;
  for (let i = 1; i < holds.length; i++) {
    const prev = holds[i - 1]!;
    const next = holds[i]!;
    if (prev.request_id !== next.request_id) continue;
    const prevEnd = Number(prev.released_at ?? prev.lease_until);
    if (
      Number(next.claimed_at) < prevEnd &&
      prev.released_at === null &&
      killed.has(prev.worker) &&
      failedSend.has(`${prev.request_id}/${prev.token}`)
    ) {
      unrecordedReleases++;
      continue;
    }
    expect(
      Number(next.claimed_at),
      `${next.request_id} token ${next.token}`,
    ).toBeGreaterThanOrEqual(prevEnd);
    if (prev.released_at === null && prev.worker !== next.worker) handovers++;
  }
  // The kills left jobs behind that other workers took over once the leases ran out.
  expect(handovers).toBeGreaterThan(0);
  expect(unrecordedReleases).toBeLessThanOrEqual(8);
  const duplicates = [...perRequest.values()].filter((l) => l.filter((s) => s.ok).length > 1);
  console.log(
    `chaos: ${sends.length} send attempts for ${MESSAGES} messages, ${handovers} lease handovers, ${unrecordedReleases} releases unrecorded by a killed worker, ${duplicates.length} sent twice, latest send ${lateMs} ms past its lease`,
  );
}, 120_000);
