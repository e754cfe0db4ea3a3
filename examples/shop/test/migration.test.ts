// The live migration of `orders` (girder/migrator in the shop): writers keep placing,
// cancelling and paying orders over the HTTP API while an admin steps the phases 1 -> 4
// through /api/admin/migration, validating and fixing between switches.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/schema.js';
import {
  adminLogin,
  type Client,
  newProduct,
  newUser,
  placeOrder,
  type SignedIn,
  startShop,
  type TestShop,
} from './helpers.js';
import { startMigratingShop } from './migration-shop.js';
import { type ThrowawayDatabase, throwawayDatabase } from './pg-database.js';

let t: TestShop;
let admin: SignedIn;
let productId: number;

const migration = () => t.shop.migration!;
const as = (user: SignedIn) => ({ token: user.accessToken });
const phase = (to: string, force = false) =>
  t.client.post('/api/admin/migration/phase', { to, force }, as(admin));

/** Runs full validations (with a fix after each that differs) until one is clean. */
async function validateUntilClean(rounds = 20) {
  let last: unknown;
  for (let round = 0; round < rounds; round++) {
    const started = await t.client.post('/api/admin/migration/validation', undefined, as(admin));
    expect(started.status).toBe(200);
    const result = await migration().control.waitForValidation();
    if (result.status === 'done' && result.differences === 0) return result;
    last = { ...result, diffs: result.diffs.slice(0, 5) };
    const fixed = await t.client.post('/api/admin/migration/fix', undefined, as(admin));
    expect(fixed.status).toBe(200);
  }
  throw new Error(`no clean validation in ${rounds} rounds; last: ${JSON.stringify(last)}`);
}

interface Placed {
  user: SignedIn;
  orderNo: string;
  status: 'pending_payment' | 'cancelled' | 'paid';
  /** A cancel or payment is in flight: its status may already have moved on. */
  busy: boolean;
}

/** `n` writers placing orders until `stop()`; every third is cancelled, every fourth paid. */
function writers(client: Client, users: SignedIn[], products: number[]) {
  const placed: Placed[] = [];
  const errors: string[] = [];
  let running = true;
  const loop = async (user: SignedIn, n: number) => {
    // One product per writer: stock row locks do not queue the writers behind each other.
    const own = products[n]!;
    for (let i = 0; running; i++) {
      const res = await placeOrder(client, user, [{ productId: own, quantity: 1 }]);
      if (res.status !== 201) {
        errors.push(`place ${res.status} ${res.text}`);
        continue;
      }
      const order: Placed = {
        user,
        orderNo: res.body.orderNo,
        status: 'pending_payment',
        busy: i % 3 === 1 || i % 4 === 2,
      };
      placed.push(order);
      if (i % 3 === 1) {
        const cancel = await client.post(
          `/api/orders/${order.orderNo}/cancel`,
          undefined,
          as(user),
        );
        if (cancel.status === 200) order.status = 'cancelled';
        else errors.push(`cancel ${cancel.status} ${cancel.text}`);
        order.busy = false;
      } else if (i % 4 === 2) {
        const pay = await client.post(`/api/orders/${order.orderNo}/pay`, undefined, as(user));
        if (pay.status !== 200) {
          errors.push(`pay ${pay.status} ${pay.text}`);
          continue;
        }
        const providerId = String(pay.body.paymentUrl).split('/').pop()!;
        const delivered = await t.shop.mockProvider.pay(providerId);
        if (delivered === 200) order.status = 'paid';
        else errors.push(`callback ${delivered}`);
        order.busy = false;
      }
    }
  };
  const done = Promise.all(users.map((user, n) => loop(user, n)));
  return {
    placed,
    errors,
    /** Resolves once `n` more orders were placed. */
    async more(n: number) {
      const goal = placed.length + n;
      while (placed.length < goal && errors.length === 0)
        await new Promise((r) => setTimeout(r, 20));
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Every order placed so far reads back through the API (one list per user) as its writer saw it. */
async function expectAllReadable(placed: readonly Placed[]) {
  const byUser = new Map<SignedIn, Placed[]>();
  // Copies taken before reading: an order not busy now keeps its status for good.
  for (const order of placed.map((o) => ({ ...o }))) {
    byUser.set(order.user, [...(byUser.get(order.user) ?? []), order]);
  }
  for (const [user, orders] of byUser) {
    const res = await t.client.get('/api/orders', as(user));
    expect(res.status).toBe(200);
    const seen = new Map<string, { status: string; items: unknown[] }>(
      res.body.items.map((o: { orderNo: string; status: string; items: unknown[] }) => [
        o.orderNo,
        o,
      ]),
    );
    for (const order of orders) {
      const status = seen.get(order.orderNo)?.status;
      if (order.busy) expect(status, order.orderNo).toBeDefined();
      else expect(status, order.orderNo).toBe(order.status);
      expect(seen.get(order.orderNo)?.items, order.orderNo).toHaveLength(1);
    }
  }
}

const count = async (db: Db) =>
  Number((await sql<{ n: string }>`select count(*) as n from orders`.execute(db)).rows[0]!.n);

/** The whole story, on a shop started by `start` (and torn down by `stop`). */
function migrationSuite(start: () => Promise<TestShop>, stop: () => Promise<void>) {
  beforeAll(async () => {
    t = await start();
    admin = await adminLogin(t.client);
    productId = await newProduct(t.client, admin, 100_000, { priceCents: 700 });
  }, 120_000);
  afterAll(stop);

  it('is admin only', async () => {
    const user = await newUser(t.client);
    expect((await t.client.get('/api/admin/migration/status')).status).toBe(403);
    expect((await t.client.get('/api/admin/migration/status', as(user))).status).toBe(403);
    const status = await t.client.get('/api/admin/migration/status', as(admin));
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ phase: 'source-only', gate: { next: 'source-first' } });
  });

  it('records a failed copy to the target instead of failing the order, and the fixer repairs it', async () => {
    const user = await newUser(t.client);
    expect((await phase('source-first')).status).toBe(200);
    const target = migration().target.db;
    // The target's table is away for a moment: every copy to it fails.
    await sql`alter table orders rename to orders_away`.execute(target);
    let placed: string;
    try {
      const res = await placeOrder(t.client, user, [{ productId, quantity: 1 }]);
      expect(res.status).toBe(201);
      placed = res.body.orderNo;
    } finally {
      await sql`alter table orders_away rename to orders`.execute(target);
    }
    const ops = (await t.client.get('/api/admin/ops', as(admin))).body.migration;
    expect(ops).toMatchObject({ enabled: true, phase: 'source-first', secondaryFailures: 1 });
    expect(ops.repairBacklog).toBeGreaterThanOrEqual(1);
    const read = await t.client.get(`/api/orders/${placed}`, as(user));
    expect(read.body.status).toBe('pending_payment');

    const fixed = await t.client.post('/api/admin/migration/fix', undefined, as(admin));
    expect(fixed.status).toBe(200);
    expect(fixed.body.copied).toBeGreaterThanOrEqual(1);
    const copy = await target
      .selectFrom('orders')
      .select('status')
      .where('order_no', '=', placed)
      .executeTakeFirst();
    expect(copy?.status).toBe('pending_payment');
    const after = (await t.client.get('/api/admin/ops', as(admin))).body.migration;
    expect(after.repairBacklog).toBe(0);
    expect(after.fixes.copied).toBeGreaterThanOrEqual(1);
  });

  it('refuses to move past source-first until a full validation finds no difference', async () => {
    const refused = await phase('target-first');
    expect(refused.status).toBe(409);
    expect(refused.body.reason).toBe('not-validated');
    await validateUntilClean();
    // A row changed behind the dual writer's back: the next validation sees it.
    const target = migration().target.db;
    const victim = await target.selectFrom('orders').select('order_no').executeTakeFirstOrThrow();
    await target
      .updateTable('orders')
      .set({ total_cents: 1 })
      .where('order_no', '=', victim.order_no)
      .execute();
    await t.client.post('/api/admin/migration/validation', undefined, as(admin));
    const found = await migration().control.waitForValidation();
    expect(found).toMatchObject({ status: 'done', changed: 1, differences: 1 });
    const again = await phase('target-first');
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe('differences');
    const status = (await t.client.get('/api/admin/migration/status', as(admin))).body;
    expect(status.gate).toMatchObject({ next: 'target-first', open: false, reason: 'differences' });
    await t.client.post('/api/admin/migration/fix', undefined, as(admin));
    await validateUntilClean();
    // Back to the start for the walk below (a rollback by one step is free).
    expect((await phase('source-only')).status).toBe(200);
  });

  it('steps 1 -> 4 under concurrent writers; every order readable in every phase; 0 differences at each gated switch', async () => {
    const users = await Promise.all([1, 2, 3].map(() => newUser(t.client)));
    const products = await Promise.all(
      users.map(() => newProduct(t.client, admin, 100_000, { priceCents: 700 })),
    );
    const w = writers(t.client, users, products);
    try {
      await w.more(4);
      expect((await t.client.get('/api/admin/migration/status', as(admin))).body.phase).toBe(
        'source-only',
      );

      // 1 -> 2 is free; the copy of the older orders is the fixer's job (backfill).
      expect((await phase('source-first')).status).toBe(200);
      await w.more(4);
      await expectAllReadable(w.placed);

      // 2 -> 3 is gated: refused until a full validation found nothing.
      const refused = await phase('target-first');
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'MIGRATOR_GATE_CLOSED', reason: 'not-validated' });
      await validateUntilClean();
      expect((await phase('target-first')).status).toBe(200);
      await w.more(4);
      await expectAllReadable(w.placed);

      await validateUntilClean();
      expect((await phase('target-only')).status).toBe(200);
      await w.more(4);
      await expectAllReadable(w.placed);
    } finally {
      await w.stop();
    }
    expect(w.errors).toEqual([]);
    await expectAllReadable(w.placed);
    // Everything placed is on the target, which alone is in charge now.
    expect(await count(migration().target.db)).toBeGreaterThanOrEqual(w.placed.length);
    const last = await migration().control.status();
    expect(last.phase).toBe('target-only');
    expect(w.placed.length).toBeGreaterThanOrEqual(16);
  }, 120_000);

  it('in the target phases, a failed main transaction leaves no order on the target; a repeated request replays', async () => {
    const target = migration().target.db;
    const user = await newUser(t.client);
    const scarce = await newProduct(t.client, admin, 1);
    const before = await count(target);
    const short = await placeOrder(t.client, user, [{ productId: scarce, quantity: 2 }]);
    expect(short.status).toBe(409);
    expect(short.body.code).toBe('OUT_OF_STOCK');
    expect(await count(target)).toBe(before); // the target insert was undone
    const first = await placeOrder(t.client, user, [{ productId, quantity: 1 }], 'once-only');
    const again = await placeOrder(t.client, user, [{ productId, quantity: 1 }], 'once-only');
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.orderNo).toBe(first.body.orderNo);
    expect(await count(target)).toBe(before + 1);
  });
}

describe('live migration of orders on PGlite', () => {
  migrationSuite(startMigratingShop, async () => {
    await t?.close();
  });
});

describe('live migration of orders on PostgreSQL (main and target: two databases)', () => {
  let main: ThrowawayDatabase | undefined;
  let target: ThrowawayDatabase | undefined;
  migrationSuite(
    async () => {
      main = await throwawayDatabase('shop_mig');
      target = await throwawayDatabase('shop_mig_target');
      return startShop({ DATABASE_URL: main.url, SHOP_MIGRATION_TARGET_URL: target.url });
    },
    async () => {
      await t?.close();
      await target?.drop();
      await main?.drop();
    },
  );
});
