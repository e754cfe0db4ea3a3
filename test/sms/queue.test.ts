// The queue contract on every backend: memory, PGlite (both claim strategies) and a real
// PostgreSQL started by the harness.

import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGirderError, manualClock } from '../../src/core/index.js';
import {
  createSmsQueueTable,
  memorySmsQueue,
  type SmsClaimStrategy,
  sqlSmsQueue,
} from '../../src/sms/index.js';
import { type PostgresServer, postgresPool, startPostgres } from '../harness/index.js';
import { type QueueEnv, queueContract } from './queue-contract.js';

let tables = 0;
const nextTable = () => `q_${process.pid}_${tables++}`;

describe('memorySmsQueue', () => {
  let env: QueueEnv;
  beforeAll(() => {
    const clock = manualClock(1_000_000);
    env = { clock, make: async (o) => memorySmsQueue({ clock, ...o }) };
  });
  queueContract(() => ({ ...env, clock: env.clock }));
});

function sqlEnv(db: () => Kysely<unknown>, claim: SmsClaimStrategy) {
  return (): QueueEnv => {
    const clock = manualClock(1_000_000);
    return {
      clock,
      async make(o) {
        const table = nextTable();
        await createSmsQueueTable(db(), { table });
        return sqlSmsQueue(db(), { table, clock, claim, ...o });
      },
    };
  };
}

describe('sqlSmsQueue on PGlite', () => {
  let db: Kysely<unknown>;
  beforeAll(async () => {
    db = new Kysely({ dialect: new KyselyPGlite().dialect });
    await sql`SELECT 1`.execute(db); // PGlite starts on first use: not inside a test's timeout
  }, 120_000);
  afterAll(async () => db.destroy());
  describe('skip-locked', () => queueContract(sqlEnv(() => db, 'skip-locked')));
  describe('cas', () => queueContract(sqlEnv(() => db, 'cas')));

  it('createSmsQueueTable is idempotent and accepts a schema-qualified table', async () => {
    await db.schema.createSchema('ops').ifNotExists().execute();
    await createSmsQueueTable(db, { table: 'ops.sms' });
    await createSmsQueueTable(db, { table: 'ops.sms' });
    const q = sqlSmsQueue(db, { table: 'ops.sms' });
    await q.enqueue({ to: ['+8613800000000'], template: 't', requestId: 'x' });
    expect(await q.depth()).toMatchObject({ pending: 1 });
  });

  it('refuses a bad table name and a non-Kysely db with INVALID_OPTIONS', async () => {
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return isGirderError(err) ? err.code : 'other';
      }
      return 'none';
    };
    expect(codeOf(() => sqlSmsQueue(db, { table: 'a; drop table x' }))).toBe('INVALID_OPTIONS');
    expect(codeOf(() => sqlSmsQueue({} as never))).toBe('INVALID_OPTIONS');
    await expect(createSmsQueueTable(db, { table: '1x' })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
  });
});

describe('sqlSmsQueue on PostgreSQL', () => {
  let server: PostgresServer;
  let db: Kysely<unknown>;
  beforeAll(async () => {
    server = await startPostgres();
    const pool = postgresPool(server.url, 8);
    db = new Kysely({ dialect: new PostgresDialect({ pool }) });
  }, 60_000);
  afterAll(async () => {
    await db?.destroy();
    await server?.stop();
  });
  describe('skip-locked', () => queueContract(sqlEnv(() => db, 'skip-locked')));
  describe('cas', () => queueContract(sqlEnv(() => db, 'cas')));
});
