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

let t: TestShop;
let admin: SignedIn;
let productId: number;

beforeAll(async () => {
  t = await startShop({ SHOP_MIGRATION: 'true' });
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

/** Every order placed so far reads back through the API with the status its writer saw. */
async function expectAllReadable(placed: readonly Placed[]) {
  for (const order of [...placed]) {
    const res = await t.client.get(`/api/orders/${order.orderNo}`, as(order.user));
    expect(res.status, order.orderNo).toBe(200);
    expect(res.body.status, order.orderNo).toBe(order.status);
    expect(res.body.items).toHaveLength(1);
  }
}

const count = async (db: Db) =>
  Number((await sql<{ n: string }>`select count(*) as n from orders`.execute(db)).rows[0]!.n);

describe('live migration of orders', () => {
  it('steps 1 -> 4 under concurrent writers; every order readable in every phase; ends with 0 differences', async () => {
    const users = await Promise.all([1, 2, 3, 4].map(() => newUser(t.client)));
    const w = writers(t.client, users);
    try {
      await w.more(8);
      expect((await t.client.get('/api/admin/migration/status', as(admin))).body.phase).toBe(
        'source-only',
      );

      // 1 -> 2 is free; the copy of the older orders is the fixer's job (backfill).
      expect((await phase('source-first')).status).toBe(200);
      await w.more(8);
      await expectAllReadable(w.placed);

      // 2 -> 3 is gated: refused until a full validation found nothing.
      const refused = await phase('target-first');
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'MIGRATOR_GATE_CLOSED', reason: 'not-validated' });
      await validateUntilClean();
      expect((await phase('target-first')).status).toBe(200);
      await w.more(8);
      await expectAllReadable(w.placed);

      await validateUntilClean();
      expect((await phase('target-only')).status).toBe(200);
      await w.more(8);
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
    expect(w.placed.length).toBeGreaterThanOrEqual(32);
  }, 120_000);
});
