// The shop's end-to-end flow in headless Chromium, written once and run against each way
// the shop can be started (e2e-flow.test.ts: every service in one process;
// cluster-scenarios.test.ts: the gateway in front of one process per service instance). One
// browser, two pages: a buyer (sign up, link a phone, SMS-code login, browse, order, pay,
// cancel, the popular page) and the admin (the ops page). The steps use the web UI; the
// checks beside them use the gateway's HTTP API, so they hold whatever sits behind it.
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import type { Shop } from '../src/shop.js';
import { useBrowserShop } from './browser.js';
import { type TestShop, uniqueEmail } from './helpers.js';

/** The settings every flow run needs: SMS codes kept by the mock providers, no SMS limit per IP. */
export const FLOW_ENV: Record<string, string> = {
  SHOP_SMS: 'mock',
  SHOP_SMS_LIMIT_PER_IP: '100000/1h',
};

const PASSWORD = 'browser-pass-1!';
const status = (page: Page) => page.locator('#order-status').textContent();

// The web UI's steps that several browser tests take (sign-up, sign-in, the SMS flows).

/** Sign up on the web UI (which also signs in), from a page showing the nav bar. */
export async function signUp(page: Page, email: string, password: string) {
  await page.getByRole('link', { name: 'Sign up' }).click();
  const form = page.getByRole('form', { name: 'Sign up' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password', { exact: true }).fill(password);
  await form.getByLabel('Confirm password').fill(password);
  await form.getByRole('button', { name: 'Create account' }).click();
  await expect.poll(() => page.getByText(email).count()).toBe(1);
}

/** Sign in with a password on `shop`'s web UI; resolves once signed in. */
export async function signIn(page: Page, shop: Shop, email: string, password: string) {
  await page.goto(`${shop.url()}/#/signin`);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Sign in as the test admin on `shop`'s web UI. */
export const signInAdmin = (page: Page, shop: Shop) =>
  signIn(page, shop, 'admin@test.local', 'admin-pass-1!');

/** Sign in as the test admin on `shop`'s web UI and open the ops page. */
export async function openOpsPage(page: Page, shop: Shop) {
  await signInAdmin(page, shop);
  await page.getByRole('link', { name: 'Ops' }).click();
}

/** The newest code texted to `phone`, once `seen + 1` have been sent to it (SHOP_SMS=mock). */
export async function smsCode(shop: Shop, phone: string, seen: number): Promise<string> {
  const codes = () =>
    shop.sms.providers
      .flatMap((p) => p.sent)
      .filter((c) => c.message.to.includes(phone))
      .map((c) => c.message.params!.code!);
  await expect.poll(() => codes().length, { timeout: 20_000 }).toBe(seen + 1);
  return codes().at(-1)!;
}

/** Link `phone` on the account page (signed in), with the first code texted to it. */
export async function linkPhone(page: Page, shop: Shop, phone: string) {
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  const link = page.getByRole('form', { name: 'Link a phone' });
  await link.getByLabel('Phone (international format)').fill(phone);
  await link.getByRole('button', { name: 'Text me a code' }).click();
  await link.getByLabel('Code from the SMS').fill(await smsCode(shop, phone, 0));
  await link.getByRole('button', { name: 'Link this phone' }).click();
  await expect.poll(() => page.locator('[data-phone]').getAttribute('data-phone')).toBe(phone);
}

/** Sign out, then log back in with the second code texted to the linked `phone`. */
export async function smsLogin(page: Page, shop: Shop, phone: string, email: string) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
  await page.goto(`${shop.url()}/#/signin`);
  const sms = page.getByRole('form', { name: 'Log in with an SMS code' });
  await sms.getByLabel('Phone (international format)').fill(phone);
  await sms.getByRole('button', { name: 'Text me a code' }).click();
  await sms.getByLabel('Code from the SMS').fill(await smsCode(shop, phone, 1));
  await sms.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await expect.poll(() => page.locator('nav').textContent()).toContain(email);
}

/**
 * Registers the flow's tests in the calling file: `start` gives a running shop (its
 * gateway), which is closed after the last test. `label` names the Chromium profile.
 */
export function shopFlow(label: string, start: () => Promise<TestShop>, timeoutMs = 120_000) {
  const t = useBrowserShop(label, start, 300_000);
  /** The shop's own URL (its public URL: the mock provider sends the buyer back there). */
  const home = () => t.shop.url();

  it('sign-up, SMS-code login, browse, order, pay, cancel and the popular page', {
    timeout: timeoutMs,
  }, async () => {
    const { page, errors } = await t.newPage();
    await page.goto(home());
    const email = uniqueEmail(`e2e-${label}`);
    await signUp(page, email, PASSWORD);

    // Link a phone, sign out, and log back in with an SMS code.
    const phone = `+86139${String(process.pid % 100_000).padStart(5, '0')}${label.length % 10}12`;
    await linkPhone(page, t.shop, phone);
    await smsLogin(page, t.shop, phone, email);

    // Browse: one category, then a product's own page (its view counter), into the cart.
    await page.goto(`${home()}/#/products`);
    await page.getByLabel('Category').selectOption('books');
    await expect.poll(() => page.locator('article[data-product]').count()).toBe(3);
    const card = page.locator('article[data-product]').first();
    const productId = Number(await card.getAttribute('data-product'));
    const name = (await card.locator('h3').textContent())!;
    const stock0 = (await t.client.get(`/api/products/${productId}`)).body.stock as number;
    await page.goto(`${home()}/#/products/${productId}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe(name);
    await expect
      .poll(async () => Number(await page.locator('[data-views]').getAttribute('data-views')))
      .toBeGreaterThanOrEqual(1);
    const add = page.getByRole('button', { name: `Add ${name} to cart` });
    await add.click();
    await add.click();

    // Order two, pay on the mock provider's page, come back paid.
    await page.getByRole('link', { name: 'Cart (2)' }).click();
    await expect.poll(() => page.getByRole('cell', { name }).count()).toBe(1);
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect.poll(() => status(page)).toBe('Awaiting payment');
    const paidNo = (await page.locator('h1').textContent())!.replace('Order ', '');
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.waitForURL(/\/mock-pay\/checkout\//);
    await page.getByRole('button', { name: /^Pay \$/ }).click();
    await page.waitForURL(new RegExp(`#/orders/${paidNo}$`));
    await expect.poll(() => status(page), { timeout: 20_000 }).toBe('Paid');

    // Order one more and cancel it: its unit goes back on sale.
    await page.goto(`${home()}/#/products/${productId}`);
    await page.getByRole('button', { name: `Add ${name} to cart` }).click();
    await page.getByRole('link', { name: 'Cart (1)' }).click();
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect.poll(() => status(page)).toBe('Awaiting payment');
    const cancelledNo = (await page.locator('h1').textContent())!.replace('Order ', '');
    expect(cancelledNo).not.toBe(paidNo);
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await expect.poll(() => status(page)).toBe('Cancelled');
    await expect
      .poll(async () => (await t.client.get(`/api/products/${productId}`)).body.stock, {
        timeout: 20_000,
      })
      .toBe(stock0 - 2);

    // The order list shows both, as the API does.
    await page.getByRole('link', { name: 'Orders', exact: true }).click();
    const row = (orderNo: string) => page.getByRole('row', { name: new RegExp(orderNo) });
    await expect.poll(() => row(paidNo).getByText('Paid').count()).toBe(1);
    await expect.poll(() => row(cancelledNo).getByText('Cancelled').count()).toBe(1);

    // The popular page ranks the product by its two paid units (the ranking job runs on
    // the gateway's leader every period; run it now rather than wait).
    await t.shop.popular.job.refresh();
    await page.getByRole('link', { name: 'Popular', exact: true }).click();
    const entry = page
      .getByRole('list', { name: 'Popular products' })
      .locator(`li[data-product="${productId}"]`);
    await expect.poll(() => entry.textContent(), { timeout: 20_000 }).toContain('2 sold');
    expect(errors).toEqual([]);
  });

  it('the ops page: breakers, charts, jobs and the routes taken', {
    timeout: timeoutMs,
  }, async () => {
    const { page, errors } = await t.newPage();
    await openOpsPage(page, t.shop);
    await expect
      .poll(() => page.locator('[data-breaker="payment-provider"] [data-state]').textContent(), {
        timeout: 20_000,
      })
      .toBe('closed');
    // uPlot (served by the shop) drew the charts.
    await expect.poll(() => page.locator('.ops-chart canvas').count(), { timeout: 20_000 }).toBe(5);
    // The buyer's requests above show up per route template.
    await expect
      .poll(() => page.locator('[data-route="POST /api/orders/:orderNo/pay"]').count(), {
        timeout: 20_000,
      })
      .toBe(1);
    await expect
      .poll(() => page.getByRole('region', { name: 'Jobs and locks' }).count(), { timeout: 20_000 })
      .toBe(1);
    expect(errors).toEqual([]);
  });
}
