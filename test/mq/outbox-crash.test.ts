// The outbox under SIGKILL, against a real PostgreSQL: a child process writes business
// rows with outbox rows and relays them to a broker table; it is killed at random, right
// after a commit (before the relay could publish it), inside transactions and between
// publish and mark. After the rounds, a final relay drains the table. Every committed
// row must have been published at least once, and nothing else ever.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createOutboxTable, outbox, type Producer } from '../../src/mq/index.js';
import { bundledEntry } from '../harness/bundle.js';
import { type PostgresServer, postgresPool, startPostgres } from '../harness/index.js';

const WORKER = fileURLToPath(new URL('./fixtures/outbox-crash-worker.ts', import.meta.url));
const ROUNDS = 4;

let server: PostgresServer;
// biome-ignore lint/suspicious/noExplicitAny: tables by dynamic names.
let db: Kysely<any>;
beforeAll(async () => {
  server = await startPostgres();
  db = new Kysely({
    dialect: new PostgresDialect({
      pool: postgresPool(server.url, 10),
    }),
  });
});
afterAll(async () => {
  await db?.destroy();
  await server?.stop();
});

/** Run one child until it dies: killed by us after `killAfterCommits` commits, or by itself. */
async function round(args: string[], killAfterCommits: number) {
  const child: ChildProcess = spawn(process.execPath, [await bundledEntry(WORKER), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_c, s) => resolve(s)),
  );
  let commits = 0;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('committed ')) return;
    commits += 1;
    // Killed the moment a commit is reported: that row is committed, not yet published.
    if (commits === killAfterCommits) child.kill('SIGKILL');
  });
  const signal = await exited;
  return { signal, commits };
}

it('every committed outbox row is published at least once; no uncommitted row ever is', async () => {
  const table = `crash_outbox_${process.pid}`;
  const business = `${table}_business`;
  const published = `${table}_published`;
  await createOutboxTable(db, { table });
  await db.schema
    .createTable(business)
    .addColumn('id', 'text', (c) => c.primaryKey())
    .execute();
  await db.schema
    .createTable(published)
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('round', 'integer', (c) => c.notNull())
    .execute();

  const deaths: (NodeJS.Signals | null)[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Half the rounds die only by our hand, half may also kill themselves (3% per step).
    const killPercent = r % 2 === 0 ? 0 : 3;
    const { signal } = await round(
      [server.url, table, business, published, String(r), String(killPercent)],
      8 + Math.floor(Math.random() * 25),
    );
    deaths.push(signal);
  }
  expect(deaths.every((s) => s === 'SIGKILL')).toBe(true);

  // Some rows were left committed and unpublished by the kills; a final relay drains them.
  const record: Producer = {
    async send(_topic, messages) {
      await db
        .insertInto(published)
        .values(messages.map((m) => ({ id: String(m.value), round: -1 })))
        .execute();
    },
  };
  const relay = outbox(db, { table, producer: record });
  const leftover = await relay.pending();
  while ((await relay.relayOnce()) > 0);
  expect(await relay.pending()).toBe(0);
  await relay.close();

  const ids = async (q: string) =>
    (await sql.raw<{ id: string }>(q).execute(db)).rows.map((r) => r.id);
  const committed = new Set(await ids(`SELECT id FROM ${business}`));
  const sent = await ids(`SELECT id FROM ${published}`);
  const sentSet = new Set(sent);
  expect(committed.size).toBeGreaterThan(ROUNDS * 3);
  // No uncommitted row was ever published: no purposeful rollback, no killed transaction.
  expect(sent.filter((id) => id.startsWith('rb-'))).toEqual([]);
  expect([...sentSet].filter((id) => !committed.has(id))).toEqual([]);
  // Every committed row was published at least once.
  expect([...committed].filter((id) => !sentSet.has(id))).toEqual([]);
  // Rows left pending by the kills existed and were republished, not lost.
  expect(leftover + (sent.length - sentSet.size)).toBeGreaterThan(0);
}, 120_000);

/** Connections the server ends at teardown ("terminating connection") are expected, not unhandled errors. */
