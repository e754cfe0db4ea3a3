// End to end in headless Chromium (Debian `chromium`, driven by playwright-core): sign
// up, add to cart, order and pay on the mock provider's page, all through the web UI.
import { expect, it } from 'vitest';
import { useBrowserShop } from './browser.js';
import { signInAdmin, signUp } from './e2e-flow.js';
import { startShop, uniqueEmail } from './helpers.js';

const t = useBrowserShop('ui', () => startShop());

it('signs up, orders and pays through the UI', { timeout: 60_000 }, async () => {
  const { page, errors } = await t.newPage();
  await page.goto(t.shop.url());
  const email = uniqueEmail('e2e');
  await signUp(page, email, 'browser-pass-1!');

  // Browse one category and put two things in the cart.
  await page.getByLabel('Category').selectOption('books');
  await expect.poll(() => page.locator('article[data-product]').count()).toBe(3);
  const book = page.locator('article[data-product]').first();
  const bookName = await book.locator('h3').textContent();
  await book.getByRole('button', { name: /Add .* to cart/ }).click();
  await book.getByRole('button', { name: /Add .* to cart/ }).click();
  await page.getByRole('link', { name: 'Cart (2)' }).click();
  await expect.poll(() => page.getByRole('cell', { name: bookName! }).count()).toBe(1);

  // Order.
  if (process.env.SHOP_E2E_SCREENSHOTS)
    await page.screenshot({ path: `${process.env.SHOP_E2E_SCREENSHOTS}/cart.png` });
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect.poll(() => page.locator('#order-status').textContent()).toBe('Awaiting payment');
  const orderNo = (await page.locator('h1').textContent())!.replace('Order ', '');

  // Pay on the mock provider's page and come back.
  await page.getByRole('button', { name: 'Pay' }).click();
  await page.waitForURL(/\/mock-pay\/checkout\//);
  if (process.env.SHOP_E2E_SCREENSHOTS)
    await page.screenshot({ path: `${process.env.SHOP_E2E_SCREENSHOTS}/checkout.png` });
  await page.getByRole('button', { name: /^Pay \$/ }).click();
  await page.waitForURL(new RegExp(`#/orders/${orderNo}$`));
  await expect.poll(() => page.locator('#order-status').textContent()).toBe('Paid');

  // The order list agrees, and so does the API.
  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  await expect
    .poll(() =>
      page
        .getByRole('row', { name: new RegExp(orderNo) })
        .getByText('Paid')
        .count(),
    )
    .toBe(1);
  if (process.env.SHOP_E2E_SCREENSHOTS)
    await page.screenshot({
      path: `${process.env.SHOP_E2E_SCREENSHOTS}/orders.png`,
      fullPage: true,
    });
  const order = await t.shop.services.orders.get(orderNo);
  expect(order?.status).toBe('paid');
  expect(errors).toEqual([]);
});

it('lets the admin change stock from the admin page', { timeout: 60_000 }, async () => {
  const { page, errors } = await t.newPage();
  await signInAdmin(page, t.shop);
  await page.getByRole('link', { name: 'Admin' }).click();
  const stock = page.getByLabel('Stock of Chess set');
  await stock.fill('77');
  await page
    .getByRole('row', { name: /Chess set/ })
    .getByRole('button', { name: 'Save' })
    .click();
  await expect.poll(() => page.locator('#toast').textContent()).toBe('Chess set: 77 in stock');
  if (process.env.SHOP_E2E_SCREENSHOTS)
    await page.screenshot({
      path: `${process.env.SHOP_E2E_SCREENSHOTS}/admin.png`,
      fullPage: true,
    });
  const products = await t.client.get('/api/products?category=games');
  expect(products.body.items.find((p: { name: string }) => p.name === 'Chess set').stock).toBe(77);
  expect(errors).toEqual([]);
});
