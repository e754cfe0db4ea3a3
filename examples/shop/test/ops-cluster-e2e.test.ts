// The ops page's cluster panel in headless Chromium, over the one-process gRPC shop: the
// admin adds an orders instance, gives the first one weight 3 and watches the split
// follow, then kills the second (a crash) and watches the traffic move to the survivor.
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { useBrowserShop } from './browser.js';
import { openOpsPage } from './e2e-flow.js';
import {
  adminLogin,
  newProduct,
  newUser,
  placeOrder,
  type SignedIn,
  startShop,
} from './helpers.js';

const t = useBrowserShop('ops-cluster', () => startShop({}, { transport: 'grpc' }));

const orders = async (user: SignedIn, productId: number, n: number) => {
  for (let i = 0; i < n; i++) {
    const res = await placeOrder(t.client, user, [{ productId, quantity: 1 }]);
    expect([200, 201]).toContain(res.status);
  }
};
const share = async (page: Page, id: string) =>
  Number(await page.locator(`[data-instance="${id}"] [data-share]`).getAttribute('data-share'));

it('adds an instance, sets a weight and kills an instance from the panel', {
  timeout: 120_000,
}, async () => {
  const { page, errors } = await t.newPage();
  await openOpsPage(page, t.shop);

  const panel = page.getByRole('region', { name: 'Cluster' });
  await expect.poll(() => panel.isVisible(), { timeout: 15_000 }).toBe(true);
  const one = page.locator('[data-instance="orders#1"]');
  await expect.poll(() => one.locator('[data-lease]').textContent()).toBe('registered');
  // The gRPC client breakers are in the breakers list too.
  await expect.poll(() => page.locator('[data-breaker="rpc-orders"]').count()).toBe(1);

  // +1 orders instance.
  await page.locator('[data-scale-up="orders"]').click();
  const two = page.locator('[data-instance="orders#2"]');
  await expect
    .poll(() => two.locator('[data-lease]').textContent(), { timeout: 15_000 })
    .toBe('registered');

  // Weight 3 for orders#1: typed into its input, then Set.
  const weight = one.getByRole('spinbutton', { name: 'Weight of orders#1' });
  await weight.fill('3');
  await one.locator('[data-action="weight"]').click();
  await expect.poll(() => page.locator('[data-cluster-message]').textContent()).toContain('done');
  const snapshot = async () =>
    (await t.client.get('/api/admin/cluster', { token: (await adminLogin(t.client)).accessToken }))
      .body;
  const ordersNodes = (snap: { services: Array<{ name: string; instances: unknown[] }> }) =>
    snap.services.find((s) => s.name === 'orders')!.instances as Array<{
      id: string;
      weight: number;
    }>;
  expect(ordersNodes(await snapshot()).map((i) => [i.id, i.weight])).toEqual([
    ['orders#1', 3],
    ['orders#2', 1],
  ]);
  await expect.poll(() => weight.inputValue()).toBe('3');

  // Traffic: the bar of orders#1 grows past the other's.
  const admin = await adminLogin(t.client);
  const user = await newUser(t.client);
  const productId = await newProduct(t.client, admin, 1_000);
  await orders(user, productId, 24);
  await expect
    .poll(async () => (await share(page, 'orders#1')) > (await share(page, 'orders#2')), {
      timeout: 15_000,
    })
    .toBe(true);

  // Kill (crash) orders#2: its row shows it exited; the survivor takes the calls.
  await two.locator('[data-action="kill"]').click();
  await expect
    .poll(() => two.locator('[data-state]').textContent(), { timeout: 15_000 })
    .toBe('exited (SIGKILL)');
  const before = Number(await one.locator('[data-picks]').textContent());
  await orders(user, productId, 10);
  await expect
    .poll(async () => Number(await one.locator('[data-picks]').textContent()), { timeout: 15_000 })
    .toBeGreaterThanOrEqual(before + 10);
  if (process.env.SHOP_E2E_SCREENSHOTS)
    await page.screenshot({
      path: `${process.env.SHOP_E2E_SCREENSHOTS}/ops-cluster.png`,
      fullPage: true,
    });
  expect(errors).toEqual([]);
});
