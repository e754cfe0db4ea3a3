// The real idempotency stores: Redis (single server and 3-master cluster) and SQL
// (PGlite in process, real PostgreSQL). The storm: 200 ids x 10 concurrent deliveries,
// each retried until it succeeds; every id must be booked exactly once.
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import {
  createIdempotencyTable,
  IdempotencyBusyError,
  idempotent,
  redisIdempotencyStore,
  sqlIdempotencyStore,
} from '../../src/mq/index.js';
import {
  type ContractBackend,
  describeBackends,
  openRedisClient,
  type PostgresServer,
  postgresPool,
  type RedisBackendClient,
  startPostgres,
  uniquePrefix,
} from '../harness/index.js';
import { received, redeliveryStorm } from './idempotent-helpers.js';
import { serialPglite } from './outbox-helpers.js';

const signal = new AbortController().signal;
const KEYS = Array.from({ length: 200 }, (_, i) => `order-${i}`);

const redisBackends: ContractBackend<RedisBackendClient>[] = (
  ['redis', 'redis-cluster'] as const
).map((name) => ({ name, open: () => openRedisClient(name), close: (c) => void c.disconnect() }));

describeBackends(redisBackends, (_name, client) => {
  it('claims, marks done and releases on failure', async () => {
    const store = redisIdempotencyStore(client(), { prefix: uniquePrefix('idem') });
    let runs = 0;
    expect(await store.once('a', async () => void runs++)).toBe(true);
    expect(await store.once('a', async () => void runs++)).toBe(false);
    await expect(store.once('b', async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await store.once('b', async () => void runs++)).toBe(true);
    expect(runs).toBe(2);
    await store.close();
  });

  it('a second delivery while the first runs is IDEMPOTENCY_BUSY; a crashed claim expires', async () => {
    const prefix = uniquePrefix('idem-busy');
    const store = redisIdempotencyStore(client(), { prefix, processingTtlMs: 200 });
    let release!: () => void;
    const first = store.once('k', () => new Promise<void>((r) => (release = r)));
    await expect(store.once('k', async () => {})).rejects.toBeInstanceOf(IdempotencyBusyError);
    release();
    await first;
    // A worker that died holding a claim: the claim is left as it was and expires.
    const dead = redisIdempotencyStore(client(), { prefix, processingTtlMs: 50 });
    let claimed!: () => void;
    const started = new Promise<void>((r) => (claimed = r));
    void dead.once('crashed', () => {
      claimed();
      return new Promise<void>(() => {});
    });
    await started;
    await expect(store.once('crashed', async () => {})).rejects.toMatchObject({
      code: 'IDEMPOTENCY_BUSY',
    });
    await expect
      .poll(() => store.once('crashed', async () => {}).catch(() => 'busy'), {
        interval: 20,
        timeout: 3_000,
      })
      .toBe(true);
    await store.close();
    await dead.close();
  });

  it('books exactly once under a redelivery storm (200 ids x 10 concurrent deliveries)', async () => {
    const store = redisIdempotencyStore(client(), { prefix: uniquePrefix('idem-storm') });
    const booked = new Map<string, number>();
    const handler = idempotent(
      async (msg) => {
        await new Promise((r) => setImmediate(r));
        booked.set(msg.key!, (booked.get(msg.key!) ?? 0) + 1);
      },
      { store, key: (msg) => msg.key! },
    );
    let duplicates = 0;
    handler.events.on('duplicate', () => duplicates++);
    await redeliveryStorm(handler, KEYS, 10);
    expect(booked.size).toBe(KEYS.length);
    expect([...booked.values()].every((n) => n === 1)).toBe(true);
    expect(duplicates).toBe(KEYS.length * 9);
    await store.close();
  }, 30_000);
});

it('redisIdempotencyStore rejects misspelt options', async () => {
  const client = await openRedisClient('redis');
  try {
    expect(() => redisIdempotencyStore(client, { prefx: 'a' } as never)).toThrow(/prefx/);
    expect(() => redisIdempotencyStore(client, { prefix: 'a{b}' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  } finally {
    client.disconnect();
  }
});

// biome-ignore lint/suspicious/noExplicitAny: tests query tables by dynamic names.
type AnyDb = Kysely<any>;
let server: PostgresServer | undefined;
const opened: AnyDb[] = [];
afterAll(async () => {
  await Promise.all(opened.map((d) => d.destroy()));
  await server?.stop();
});

const sqlBackends: ContractBackend<AnyDb>[] = [
  {
    name: 'pglite',
    async open() {
      const client = new PGlite();
      await client.waitReady;
      const db: AnyDb = new Kysely({ dialect: serialPglite(client) });
      opened.push(db);
      return db;
    },
  },
  {
    name: 'postgres',
    async open() {
      server ??= await startPostgres();
      const db: AnyDb = new Kysely({
        dialect: new PostgresDialect({
          pool: postgresPool(server.url, 12),
        }),
      });
      opened.push(db);
      return db;
    },
  },
];

let tables = 0;
const newTables = async (db: AnyDb) => {
  tables += 1;
  const table = `idem_${process.pid}_${tables}`;
  const bookings = `${table}_bookings`;
  await createIdempotencyTable(db, { table });
  await createIdempotencyTable(db, { table }); // idempotent itself
  await db.schema
    .createTable(bookings)
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'integer', (c) => c.notNull())
    .execute();
  const countByOrder = async () =>
    (
      await sql<{
        order_id: string;
        n: string;
      }>`SELECT order_id, COUNT(*) AS n FROM ${sql.table(bookings)}
        GROUP BY order_id`.execute(db)
    ).rows.map((r) => [r.order_id, Number(r.n)] as const);
  return { table, bookings, countByOrder };
};

describeBackends(sqlBackends, (_name, db) => {
  it('writes the mark and the side effect in one transaction: a failure keeps neither', async () => {
    const { table, bookings, countByOrder } = await newTables(db());
    const store = sqlIdempotencyStore(db(), { table });
    await expect(
      store.once('o1', async ({ trx, key }) => {
        await trx.insertInto(bookings).values({ order_id: key, amount: 1 }).execute();
        throw new Error('after the insert');
      }),
    ).rejects.toThrow('after the insert');
    expect(await countByOrder()).toEqual([]);
    expect(
      await store.once('o1', async ({ trx, key }) => {
        await trx.insertInto(bookings).values({ order_id: key, amount: 1 }).execute();
      }),
    ).toBe(true);
    expect(await store.once('o1', async () => expect.fail('ran twice'))).toBe(false);
    expect(await countByOrder()).toEqual([['o1', 1]]);
  });

  it('books exactly once under a redelivery storm (200 ids x 10 concurrent deliveries)', async () => {
    const { table, bookings, countByOrder } = await newTables(db());
    const handler = idempotent(
      async (msg, { trx }) => {
        await trx.insertInto(bookings).values({ order_id: msg.key!, amount: 100 }).execute();
      },
      { store: sqlIdempotencyStore(db(), { table }), key: (msg) => msg.key! },
    );
    let duplicates = 0;
    handler.events.on('duplicate', () => duplicates++);
    await redeliveryStorm(handler, KEYS, 10);
    const counts = await countByOrder();
    expect(counts).toHaveLength(KEYS.length);
    expect(counts.every(([, n]) => n === 1)).toBe(true);
    expect(duplicates).toBe(KEYS.length * 9);
  }, 60_000);

  it('purges marks older than a given age', async () => {
    const { table } = await newTables(db());
    let now = 1_000_000;
    const clock = { now: () => now, setTimeout: () => ({}), clearTimeout: () => {} };
    const store = sqlIdempotencyStore(db(), { table, clock });
    await store.once('old', async () => {});
    now += 10_000;
    await store.once('new', async () => {});
    expect(await store.purge(5_000)).toBe(1);
    expect(await store.once('old', async () => {})).toBe(true);
    expect(await store.once('new', async () => {})).toBe(false);
    await expect(store.purge(-1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('rejects a non-Kysely db and misspelt options', () => {
    expect(() => sqlIdempotencyStore({} as AnyDb)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => sqlIdempotencyStore(db(), { tabel: 'x' } as never)).toThrow(/tabel/);
    expect(() => sqlIdempotencyStore(db(), { table: 'x; drop' })).toThrow(/table/);
  });
});

it('the handler gets the transaction of the mark', async () => {
  const db = opened[0]!;
  const { table } = await newTables(db);
  let sawTrx = false;
  const handler = idempotent(
    async (_msg, ctx) => {
      sawTrx = typeof ctx.trx.insertInto === 'function' && ctx.key === 'k';
    },
    { store: sqlIdempotencyStore(db, { table }), key: (m) => m.key! },
  );
  await handler([received('t', 'k')], signal);
  expect(sawTrx).toBe(true);
});

/** Connections the server ends at teardown ("terminating connection") are expected, not unhandled errors. */
