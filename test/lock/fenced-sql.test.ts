// fencedUpdate on PGlite (kysely-pglite) and on a real PostgreSQL (startPostgres).
import { type Generated, Kysely, PostgresDialect } from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FencedError, fencedUpdate, memoryLock } from '../../src/lock/index.js';
import { type PostgresServer, postgresPool, startPostgres } from '../harness/index.js';

interface Database {
  stock: { sku: string; quantity: number; fence: Generated<string | number | bigint> };
}

type Open = () => Promise<{ db: Kysely<Database>; close(): Promise<void> }>;

const backends: Array<[string, Open]> = [
  [
    'PGlite',
    async () => {
      const { dialect } = await KyselyPGlite.create();
      const db = new Kysely<Database>({ dialect });
      return { db, close: () => db.destroy() };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const server: PostgresServer = await startPostgres();
      const pool = postgresPool(server.url);
      const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
      return {
        db,
        close: async () => {
          await db.destroy();
          await server.stop();
        },
      };
    },
  ],
];

for (const [name, open] of backends) {
  describe(`fencedUpdate on ${name}`, () => {
    let env: Awaited<ReturnType<Open>>;
    beforeAll(async () => {
      env = await open();
      await env.db.schema
        .createTable('stock')
        .addColumn('sku', 'text', (c) => c.primaryKey())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('fence', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await env.db.insertInto('stock').values({ sku: 'a', quantity: 10 }).execute();
    }, 60_000);
    afterAll(async () => {
      await env?.close();
    });

    const quantity = async () =>
      (
        await env.db
          .selectFrom('stock')
          .selectAll()
          .where('sku', '=', 'a')
          .executeTakeFirstOrThrow()
      ).quantity;

    it('writes with a fence at least the row fence (equal passes), refuses a lower one', async () => {
      const { db } = env;
      const write = (fence: number, q: number) =>
        fencedUpdate(db, { table: 'stock', where: { sku: 'a' }, set: { quantity: q }, fence });
      expect(await write(5, 9)).toBe(1);
      expect(await write(5, 8)).toBe(1); // the same holder writes twice
      const error = await write(4, 100).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FencedError);
      expect(error).toMatchObject({ code: 'LOCK_FENCED', fence: 4, current: 5, resource: 'stock' });
      expect(await quantity()).toBe(8);
      // Redis fences are large (server time in microseconds): BIGINT holds them.
      const big = 1_764_489_417_123_456;
      expect(await write(big, 7)).toBe(1);
      await expect(write(big - 1, 6)).rejects.toMatchObject({ code: 'LOCK_FENCED', current: big });
      expect(await quantity()).toBe(7);
    });

    it('answers 0 when no row matches, and works inside a transaction', async () => {
      const { db } = env;
      expect(
        await fencedUpdate(db, {
          table: 'stock',
          where: { sku: 'missing' },
          set: { quantity: 1 },
          fence: 1,
        }),
      ).toBe(0);
      await env.db.insertInto('stock').values({ sku: 't', quantity: 1 }).execute();
      await db.transaction().execute(async (trx) => {
        expect(
          await fencedUpdate(trx, {
            table: 'stock',
            where: { sku: 't' },
            set: { quantity: 2 },
            fence: 3,
          }),
        ).toBe(1);
      });
    });

    it('a stale lock holder is refused by the row after its successor wrote', async () => {
      const { db } = env;
      await env.db.insertInto('stock').values({ sku: 'l', quantity: 5 }).execute();
      const locker = memoryLock({ watchdog: false });
      const stale = await locker.acquire('stock:l', { ttlMs: 50 });
      const successor = await locker.acquire('stock:l', { waitMs: 2_000 });
      await fencedUpdate(db, {
        table: 'stock',
        where: { sku: 'l' },
        set: { quantity: 4 },
        fence: successor.fence,
      });
      await expect(
        fencedUpdate(db, {
          table: 'stock',
          where: { sku: 'l' },
          set: { quantity: 0 },
          fence: stale.fence,
        }),
      ).rejects.toBeInstanceOf(FencedError);
      await locker.close();
    });

    it('bad input rejects with INVALID_ARGUMENT and writes nothing', async () => {
      const { db } = env;
      const base = {
        table: 'stock' as const,
        where: { sku: 'a' },
        set: { quantity: 0 },
        fence: 1_000_000_000_000_000,
      };
      for (const bad of [
        { ...base, where: {} },
        { ...base, fence: -1 },
        { ...base, fence: 1.5 },
        { ...base, fence: '3' as never },
        { ...base, table: '' as never },
        { ...base, set: { fence: 9 } },
        { ...base, fenceColum: 'quantity' } as never,
      ]) {
        await expect(fencedUpdate(db, bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      expect(await quantity()).toBe(7);
    });
  });
}

/** Connections the server ends at teardown ("terminating connection") are expected, not unhandled errors. */
