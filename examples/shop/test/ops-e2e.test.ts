// The ops page in headless Chromium (Debian `chromium`, driven by playwright-core): the
// admin watches the payment breaker open while the mock provider fails, and close again
// once it is healed, plus the jobs, locks and cache panels. The shop runs on a manual
// clock, so the breaker's open period, the recovery ramp and the job periods take no
// real time.
import { manualClock } from 'girder/core';
import { expect, it } from 'vitest';
import { useBrowserShop } from './browser.js';
import { openOpsPage } from './e2e-flow.js';
import { adminLogin, newProduct, newUser, placeOrder, recover, startShop } from './helpers.js';

const clock = manualClock(Date.now());
const t = useBrowserShop('ops', () =>
  startShop(
    {
      SHOP_PAYMENT_BREAKER_OPEN: '1s',
      SHOP_SWEEP_INTERVAL: '1s',
      SHOP_REFUND_RETRY_INTERVAL: '1s',
    },
    { clock },
  ),
);

it('shows the payment breaker opening and closing again', { timeout: 90_000 }, async () => {
  const { page, errors } = await t.newPage();
  await openOpsPage(page, t.shop);

  const state = page.locator('[data-breaker="payment-provider"] [data-state]');
  await expect.poll(() => state.textContent(), { timeout: 15_000 }).toBe('closed');
  // uPlot (served by the shop) drew the charts.
  await expect.poll(() => page.locator('.ops-chart canvas').count(), { timeout: 15_000 }).toBe(5);
  // The cluster panel shows only when the services run over gRPC (SHOP_TEST_TRANSPORT).
  await expect
    .poll(() => page.locator('[data-service="orders"]').count(), { timeout: 15_000 })
    .toBe(t.shop.rpc ? 1 : 0);
  expect(await page.getByRole('region', { name: 'Cluster' }).isVisible()).toBe(!!t.shop.rpc);

  // The provider fails: payments fail until the breaker opens.
  const admin = await adminLogin(t.client);
  const user = await newUser(t.client);
  const productId = await newProduct(t.client, admin, 100);
  t.shop.mockProvider.setDown(true);
  for (let i = 0; i < 6 && t.shop.paymentBreaker.state === 'closed'; i++) {
    const order = await placeOrder(t.client, user, [{ productId, quantity: 1 }]);
    await t.client.post(`/api/orders/${order.body.orderNo}/pay`, undefined, {
      token: user.accessToken,
    });
  }
  expect(t.shop.paymentBreaker.state).toBe('open');
  await expect.poll(() => state.textContent(), { timeout: 15_000 }).toBe('open');
  await expect
    .poll(() => page.locator('[data-target="payment-provider"]').textContent(), {
      timeout: 15_000,
    })
    .toContain('failing fast');
  await expect
    .poll(() => page.getByRole('list', { name: 'Transitions of payment-provider' }).textContent())
    .toContain('closed → open');
  if (process.env.SHOP_E2E_SCREENSHOTS)
    await page.screenshot({
      path: `${process.env.SHOP_E2E_SCREENSHOTS}/ops-open.png`,
      fullPage: true,
    });

  // Healed: after the open period, probes and the recovery ramp close it again.
  t.shop.mockProvider.setDown(false);
  clock.advance(1_000);
  await recover(t, user, productId, clock);
  await expect.poll(() => state.textContent(), { timeout: 15_000 }).toBe('closed');
  await expect
    .poll(() => page.locator('[data-target="payment-provider"]').textContent())
    .toContain('healthy');
  await expect
    .poll(() => page.getByRole('list', { name: 'Transitions of payment-provider' }).textContent())
    .toContain('half-open → closed');
  // Jobs and locks: this instance leads the jobs' election and holds its lock; the sweeps
  // ran on the manual clock's seconds above.
  await expect
    .poll(() => page.locator('[data-election="shop-jobs"] [data-role]').textContent())
    .toBe('leader');
  await expect.poll(() => page.locator('[data-lock="leader:shop-jobs"]').count()).toBe(1);
  await expect
    .poll(() =>
      page.locator('[data-job="expire-orders"] [data-result]').getAttribute('data-result'),
    )
    .toBe('ok');
  await expect
    .poll(() => page.locator('[data-job="retry-refunds"]').textContent())
    .toMatch(/ok \d+/);
  // Cache: catalog reads hit L1 (this shop has no Redis, so no L2 row).
  for (let i = 0; i < 3; i++) await t.client.get('/api/products');
  await expect
    .poll(() => page.locator('[data-cache="catalog/l1"] [data-ratio]').textContent())
    .toMatch(/^\d+\.\d %$/);
  expect(await page.locator('[data-cache="catalog/l2"]').count()).toBe(0);
  // Request rates per route template are listed.
  await expect
    .poll(() => page.locator('[data-route="POST /api/orders/:orderNo/pay"]').count())
    .toBe(1);
  if (process.env.SHOP_E2E_SCREENSHOTS)
    await page.screenshot({
      path: `${process.env.SHOP_E2E_SCREENSHOTS}/ops-closed.png`,
      fullPage: true,
    });
  expect(errors).toEqual([]);
});
