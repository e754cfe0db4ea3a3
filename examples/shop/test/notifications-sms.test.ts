// The notifications role composed as a cluster composes it (composeService: its own
// database with its own migrations, the users service over gRPC found in etcd), in this
// process: an order-paid SMS that both mock providers refuse is stored in the role's own
// queue table (`notification_sms_queue`), not lost, and is sent exactly once by the
// role's worker when a provider is back. The role runs on a manual clock, so the retry
// backoff passes without waiting for it.
import { type ManualClock, manualClock } from 'girder/core';
import { noopLogger } from 'girder/logger';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sharedEtcdEndpoints } from '../../../test/harness/index.js';
import { type ComposedService, composeService } from '../src/compose/service.js';
import { loadConfig } from '../src/config.js';
import { NOTIFICATION_SMS_QUEUE_TABLE } from '../src/db/roles.js';
import { ORDER_PAID_TEMPLATE } from '../src/notifications/consumer.js';
import { ORDER_PAID_TOPIC, type OrderPaidEvent } from '../src/notifications/order-paid.js';
import { phonesService } from '../src/users/phones.js';
import { usersService } from '../src/users/service.js';

const config = loadConfig(
  { SHOP_SMS: 'mock', SHOP_PASSWORD_HASH_COST: '1024', LOG_LEVEL: 'warn' },
  { inMemory: true },
);

let users: ComposedService | undefined;
let notifications: ComposedService | undefined;
let clock: ManualClock;

beforeAll(async () => {
  const context = {
    config,
    etcdEndpoints: sharedEtcdEndpoints(),
    // Only the payments role calls the gateway.
    gatewayUrl: 'http://127.0.0.1:1',
    logger: noopLogger(),
  };
  users = await composeService('users', context);
  // From the wall clock's time: gRPC deadlines are taken from it.
  clock = manualClock(Date.now());
  notifications = await composeService('notifications', { ...context, clock });
}, 60_000);

afterAll(async () => {
  await notifications?.close();
  await users?.close();
});

/** The queue table's rows for `requestId`. */
async function queued(requestId: string) {
  const { rows } = await sql<{ status: string; attempts: number }>`
    select status, attempts from ${sql.table(NOTIFICATION_SMS_QUEUE_TABLE)}
    where request_id = ${requestId}`.execute(notifications!.database.db);
  return rows;
}

describe('the notifications role in a cluster', () => {
  it('queues an order-paid SMS both providers refuse in its own table and sends it once a provider is back', async () => {
    const role = notifications!;
    const sms = role.sms!;
    expect(sms.providers.map((p) => p.name)).toEqual(['mock-1', 'mock-2']);
    // A buyer with a linked phone, in the users role's own database.
    const { db } = users!.database;
    const buyer = await usersService({ db, hashCost: config.passwordHashCost }).signup(
      `notif-sms-${process.pid}-${Date.now()}@test.local`,
      'password-1!',
    );
    const phone = `+86137${String(process.pid % 100_000).padStart(5, '0')}001`;
    await phonesService({ db }).link(buyer.id, phone);

    for (const p of sms.providers) p.setFailing(true);
    const enqueued = vi.fn();
    sms.stack.events.on('enqueued', enqueued);
    const event: OrderPaidEvent = {
      orderNo: `N${Date.now()}`,
      userId: buyer.id,
      totalCents: 1_000,
      items: [{ productId: 1, quantity: 1 }],
    };
    const requestId = `order-paid:${event.orderNo}`;
    await role.messaging!.queue.producer.send(ORDER_PAID_TOPIC, [
      { key: event.orderNo, value: JSON.stringify(event) },
    ]);

    // Stored in the role's own queue, not lost; the notification is recorded as an SMS.
    await vi.waitFor(() => expect(enqueued).toHaveBeenCalledTimes(1), { timeout: 10_000 });
    expect(enqueued.mock.calls[0]![0]).toMatchObject({ reason: 'error', duplicate: false });
    // (The worker may hold it already: `leased`.)
    expect((await queued(requestId)).map((r) => r.status)).toEqual([
      expect.stringMatching(/^(pending|leased)$/),
    ]);
    const row = await sql<{ channel: string }>`
      select channel from notifications where order_no = ${event.orderNo}`.execute(
      role.database.db,
    );
    expect(row.rows).toEqual([{ channel: 'sms' }]);
    expect(sms.providers.flatMap((p) => p.sent)).toEqual([]);

    // While both still fail, the worker's attempts are retried, not given up.
    const retried = vi.fn();
    sms.stack.events.on('retried', retried);
    await vi.waitFor(
      async () => {
        await clock.advanceAsync(500);
        expect(retried).toHaveBeenCalled();
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(await queued(requestId)).toEqual([expect.objectContaining({ status: 'pending' })]);
    expect(sms.providers.flatMap((p) => p.sent)).toEqual([]);

    // mock-1 is back: the worker sends the message, once.
    sms.providers[0]!.setFailing(false);
    const delivered = vi.fn();
    sms.stack.events.on('sent', delivered);
    await vi.waitFor(
      async () => {
        await clock.advanceAsync(500);
        expect(await queued(requestId)).toEqual([expect.objectContaining({ status: 'sent' })]);
      },
      { timeout: 15_000, interval: 20 },
    );
    // More time passes, mock-2 recovers too: nothing is sent again.
    sms.providers[1]!.setFailing(false);
    for (let i = 0; i < 20; i++) await clock.advanceAsync(1_000);
    const sent = sms.providers.flatMap((p) => p.sent);
    expect(sent.map((s) => s.message)).toEqual([
      expect.objectContaining({
        to: [phone],
        template: ORDER_PAID_TEMPLATE,
        params: { orderNo: event.orderNo },
        requestId,
      }),
    ]);
    expect(sms.providers[0]!.sent).toHaveLength(1);
    expect(delivered).toHaveBeenCalledTimes(1);
    expect(enqueued).toHaveBeenCalledTimes(1);
    expect(await queued(requestId)).toEqual([expect.objectContaining({ status: 'sent' })]);
  }, 60_000);
});
