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
  type TestShop,
} from './helpers.js';
import { startMigratingShop } from './migration-shop.js';

let t: TestShop;
let admin: SignedIn;
let productId: number;

beforeAll(async () => {
  t = await startMigratingShop();
  admin = await adminLogin(t.client);
  productId = await newProduct(t.client, admin, 100_000, { priceCents: 700 });
}, 60_000);
afterAll(() => t?.close());

const migration = () => t.shop.migration!;
const as = (user: SignedIn) => ({ token: user.accessToken });
const phase = (to: string, force = false) =>
  t.client.post('/api/admin/migration/phase', { to, force }, as(admin));

/** Runs full validations (with a fix after each that differs) until one is clean. */
async function validateUntilClean(rounds = 8) {
  for (let round = 0; round < rounds; round++) {
    const started = await t.client.post('/api/admin/migration/validation', undefined, as(admin));
    expect(started.status).toBe(200);
    const result = await migration().control.waitForValidation();
    if (result.status === 'done' && result.differences === 0) return result;
    const fixed = await t.client.post('/api/admin/migration/fix', undefined, as(admin));
    expect(fixed.status).toBe(200);
  }
  throw new Error(`no clean validation in ${rounds} rounds`);
}

interface Placed {
  user: SignedIn;
  orderNo: string;
  status: 'pending_payment' | 'cancelled' | 'paid';
}

/** `n` writers placing orders until `stop()`; every third is cancelled, every fourth paid. */
function writers(client: Client, users: SignedIn[]) {
  const placed: Placed[] = [];
  const errors: string[] = [];
  let running = true;
  const loop = async (user: SignedIn) => {
    for (let i = 0; running; i++) {
      const res = await placeOrder(client, user, [{ productId, quantity: 1 }]);
      if (res.status !== 201) {
        errors.push(`place ${res.status} ${res.text}`);
        continue;
      }
      const order: Placed = { user, orderNo: res.body.orderNo, status: 'pending_payment' };
      placed.push(order);
      if (i % 3 === 1) {
        const cancel = await client.post(
          `/api/orders/${order.orderNo}/cancel`,
          undefined,
          as(user),
        );
        if (cancel.status === 200) order.status = 'cancelled';
        else errors.push(`cancel ${cancel.status} ${cancel.text}`);
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
      }
    }
  };
  const done = Promise.all(users.map(loop));
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
  for (const order of placed) byUser.set(order.user, [...(byUser.get(order.user) ?? []), order]);
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
      expect(seen.get(order.orderNo)?.status, order.orderNo).toBe(order.status);
      expect(seen.get(order.orderNo)?.items, order.orderNo).toHaveLength(1);
    }
  }
}

const count = async (db: Db) =>
  Number((await sql<{ n: string }>`select count(*) as n from orders`.execute(db)).rows[0]!.n);

describe('live migration of orders', () => {
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
    const w = writers(t.client, users);
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
});
