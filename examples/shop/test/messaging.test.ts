// Messaging in the shop (girder/mq): a paid order writes one `order.paid` outbox row in
// the payment's transaction; the relay (on the jobs' leader) publishes it; the
// notifications consumer tells the buyer once (SMS with a linked phone, else the log) and
// the popular-sales consumer moves the live sales counters. Embedded (memory queue) and
// on Redis Streams (REDIS_URL).
import type { ReceivedMessage } from 'girder/mq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sharedRedisUrl, uniquePrefix } from '../../../test/harness/index.js';
import { ORDER_PAID_TOPIC } from '../src/notifications/order-paid.js';
import {
  adminLogin,
  buy,
  newProduct,
  quickUser,
  type SignedIn,
  startShop,
  type TestShop,
} from './helpers.js';

const ENV = { SHOP_SMS: 'mock', SHOP_OUTBOX_POLL: '20ms', SHOP_SMS_LIMIT_PER_IP: '100000/1h' };

/** Link `phone` to `user` through the API (the code is read from the mock providers). */
async function linkPhone(t: TestShop, user: SignedIn, phone: string) {
  const before = t.shop.sms.providers.map((p) => p.sent.length);
  const sent = await t.client.post('/api/users/phone/code', { phone }, { token: user.accessToken });
  expect(sent.status).toBe(202);
  const code = t.shop.sms.providers
    .flatMap((p, i) => p.sent.slice(before[i]))
    .find((c) => c.message.to.includes(phone))!.message.params!.code!;
  const linked = await t.client.post(
    '/api/users/phone',
    { phone, code },
    { token: user.accessToken },
  );
  expect(linked.status).toBe(200);
}

/** Texts telling `phone` about `orderNo`. */
const paidTexts = (t: TestShop, phone: string, orderNo: string) =>
  t.shop.sms.providers
    .flatMap((p) => p.sent)
    .filter((c) => c.message.to.includes(phone) && c.message.params?.orderNo === orderNo);

function messagingSuite(label: string, env: () => Record<string, string>) {
  describe(label, () => {
    let t: TestShop;
    let admin: SignedIn;
    const seen: ReceivedMessage[] = [];
    beforeAll(async () => {
      t = await startShop({ ...ENV, ...env() });
      admin = await adminLogin(t.client);
      // An extra group on the topic: what the relay really published.
      await t.shop.messaging.queue.consumer.consume(
        ORDER_PAID_TOPIC,
        async (batch) => {
          seen.push(...batch);
        },
        { group: 'test-observer' },
      );
    });
    afterAll(() => t?.close());

    it('publishes exactly one order.paid per paid order, notifies by SMS once, moves the sales counters', async () => {
      const product = await newProduct(t.client, admin, 20);
      const user = await quickUser(t);
      const phone = `+86138${String(process.pid % 10_000).padStart(4, '0')}${label === 'memory' ? '0001' : '0002'}`;
      await linkPhone(t, user, phone);
      const notified = vi.fn();
      t.shop.messaging.consumers[0]!.idempotent.events.on('processed', notified);

      const first = await buy(t, user, product, 2);
      await vi.waitFor(() => expect(paidTexts(t, phone, first)).toHaveLength(1), {
        timeout: 10_000,
      });
      await vi.waitFor(
        async () => expect((await t.shop.popular.liveSales())?.[String(product)]).toBe(2),
        { timeout: 10_000 },
      );
      const second = await buy(t, user, product, 3);
      await vi.waitFor(
        async () => expect((await t.shop.popular.liveSales())?.[String(product)]).toBe(5),
        { timeout: 10_000 },
      );
      await vi.waitFor(() => expect(paidTexts(t, phone, second)).toHaveLength(1), {
        timeout: 10_000,
      });
      expect(await t.shop.messaging.outbox.pending()).toBe(0);
      const mine = seen.filter((m) => m.key === first || m.key === second);
      expect(mine.map((m) => m.key).sort()).toEqual([first, second].sort());
      expect(JSON.parse(mine.find((m) => m.key === first)!.text())).toMatchObject({
        orderNo: first,
        userId: user.userId,
        items: [{ productId: product, quantity: 2 }],
      });

      // A duplicate delivery of the first event: nobody is told twice, nothing counted twice.
      const duplicates = vi.fn();
      t.shop.messaging.consumers[0]!.idempotent.events.on('duplicate', duplicates);
      const original = mine.find((m) => m.key === first)!;
      await t.shop.messaging.queue.producer.send(ORDER_PAID_TOPIC, [
        { key: first, value: original.text() },
      ]);
      await vi.waitFor(() => expect(duplicates).toHaveBeenCalledTimes(1), { timeout: 10_000 });
      expect(paidTexts(t, phone, first)).toHaveLength(1);
      expect(notified).toHaveBeenCalledTimes(2);
      await vi.waitFor(() => expect(seen.filter((m) => m.key === first)).toHaveLength(2), {
        timeout: 10_000,
      });
      expect((await t.shop.popular.liveSales())?.[String(product)]).toBe(5);

      // The ops feed shows both groups, their counts and the outbox backlog.
      const ops = await t.client.get('/api/admin/ops', { token: admin.accessToken });
      expect(ops.status).toBe(200);
      expect(ops.body.mq.backend).toBe(label);
      expect(ops.body.mq.outboxBacklog).toBe(0);
      const groups = ops.body.mq.groups as Array<Record<string, unknown>>;
      expect(groups.map((g) => g.group)).toEqual(['notifications', 'popular-sales', 'orders']);
      for (const g of groups) {
        expect(g).toMatchObject({ topic: ORDER_PAID_TOPIC, failed: 0, deadLettered: 0 });
        expect(g.processed).toBeGreaterThanOrEqual(3); // two orders and the duplicate
        expect(typeof g.lag).toBe('number');
        expect(typeof g.pending).toBe('number');
      }
    });

    it('a buyer without a phone is notified in the log only', async () => {
      const product = await newProduct(t.client, admin, 5);
      const user = await quickUser(t);
      const processed = vi.fn();
      t.shop.messaging.consumers[0]!.idempotent.events.on('processed', processed);
      const orderNo = await buy(t, user, product, 1);
      await vi.waitFor(
        () => expect(processed).toHaveBeenCalledWith(expect.objectContaining({ key: orderNo })),
        { timeout: 10_000 },
      );
      const texts = t.shop.sms.providers
        .flatMap((p) => p.sent)
        .filter((c) => c.message.params?.orderNo === orderNo);
      expect(texts).toHaveLength(0);
    });
  });
}

messagingSuite('memory', () => ({}));
messagingSuite('redis-streams', () => ({
  REDIS_URL: sharedRedisUrl(),
  SHOP_REDIS_PREFIX: uniquePrefix('shopmq'),
}));
