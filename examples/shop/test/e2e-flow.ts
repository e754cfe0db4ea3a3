// The shop's end-to-end flow in headless Chromium, written once and run against each way
// the shop can be started (e2e-flow.test.ts: every service in one process;
// cluster-scenarios.test.ts: the gateway in front of one process per service instance). One
// browser, two pages: a buyer (sign up, link a phone, SMS-code login, browse, order, pay,
// cancel, the popular page) and the admin (the ops page). The steps use the web UI; the
// checks beside them use the gateway's HTTP API, so they hold whatever sits behind it.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from './browser.js';
import { Client, type TestShop, uniqueEmail } from './helpers.js';

/** The settings every flow run needs: SMS codes kept by the mock providers, no SMS limit per IP. */
export const FLOW_ENV: Record<string, string> = {
  SHOP_SMS: 'mock',
  SHOP_SMS_LIMIT_PER_IP: '100000/1h',
};

const PASSWORD = 'browser-pass-1!';
const status = (page: Page) => page.locator('#order-status').textContent();

/**
 * Registers the flow's tests in the calling file: `start` gives a running shop (its
 * gateway), which is closed after the last test. `label` names the Chromium profile.
 */
export function shopFlow(label: string, start: () => Promise<TestShop>, timeoutMs = 120_000) {
  let t: TestShop;
  let api: Client;
  let launched: TestBrowser | undefined;
  let browser: BrowserContext;
  /** The shop's own URL (its public URL: the mock provider sends the buyer back there). */
  let home: string;

  beforeAll(async () => {
    t = await start();
    api = new Client(t.base);
    home = t.shop.url();
    launched = await launchBrowser(label);
    browser = launched.context;
  }, 300_000);

  afterAll(async () => {
    await launched?.close();
    await t?.close();
  }, 60_000);

  /** The newest code texted to `phone`, once `seen + 1` have been sent to it. */
  async function codeFor(phone: string, seen: number): Promise<string> {
    const codes = () =>
      t.shop.sms.providers
        .flatMap((p) => p.sent)
        .filter((c) => c.message.to.includes(phone))
        .map((c) => c.message.params!.code!);
    await expect.poll(() => codes().length, { timeout: 20_000 }).toBe(seen + 1);
    return codes().at(-1)!;
  }

  it('sign-up, SMS-code login, browse, order, pay, cancel and the popular page', {
    timeout: timeoutMs,
  }, async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(home);

    // Sign up (which also signs in).
    await page.getByRole('link', { name: 'Sign up' }).click();
    const email = uniqueEmail(`e2e-${label}`);
    const signup = page.getByRole('form', { name: 'Sign up' });
    await signup.getByLabel('Email').fill(email);
    await signup.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await signup.getByLabel('Confirm password').fill(PASSWORD);
    await signup.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.getByText(email).count()).toBe(1);

    // Link a phone, sign out, and log back in with an SMS code.
    const phone = `+86139${String(process.pid % 100_000).padStart(5, '0')}${label.length % 10}12`;
    await page.getByRole('link', { name: 'Account', exact: true }).click();
    const link = page.getByRole('form', { name: 'Link a phone' });
    await link.getByLabel('Phone (international format)').fill(phone);
    await link.getByRole('button', { name: 'Text me a code' }).click();
    await link.getByLabel('Code from the SMS').fill(await codeFor(phone, 0));
    await link.getByRole('button', { name: 'Link this phone' }).click();
    await expect.poll(() => page.locator('[data-phone]').getAttribute('data-phone')).toBe(phone);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
    await page.goto(`${home}/#/signin`);
    const sms = page.getByRole('form', { name: 'Log in with an SMS code' });
    await sms.getByLabel('Phone (international format)').fill(phone);
    await sms.getByRole('button', { name: 'Text me a code' }).click();
    await sms.getByLabel('Code from the SMS').fill(await codeFor(phone, 1));
    await sms.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await expect.poll(() => page.locator('nav').textContent()).toContain(email);

    // Browse: one category, then a product's own page (its view counter), into the cart.
    await page.goto(`${home}/#/products`);
    await page.getByLabel('Category').selectOption('books');
    await expect.poll(() => page.locator('article[data-product]').count()).toBe(3);
    const card = page.locator('article[data-product]').first();
    const productId = Number(await card.getAttribute('data-product'));
    const name = (await card.locator('h3').textContent())!;
    const stock0 = (await api.get(`/api/products/${productId}`)).body.stock as number;
    await page.goto(`${home}/#/products/${productId}`);
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
    await page.goto(`${home}/#/products/${productId}`);
    await page.getByRole('button', { name: `Add ${name} to cart` }).click();
    await page.getByRole('link', { name: 'Cart (1)' }).click();
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect.poll(() => status(page)).toBe('Awaiting payment');
    const cancelledNo = (await page.locator('h1').textContent())!.replace('Order ', '');
    expect(cancelledNo).not.toBe(paidNo);
    await page.getByRole('button', { name: 'Cancel order' }).click();
    await expect.poll(() => status(page)).toBe('Cancelled');
    await expect
      .poll(async () => (await api.get(`/api/products/${productId}`)).body.stock, {
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
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${home}/#/signin`);
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.getByLabel('Email').fill('admin@test.local');
    await form.getByLabel('Password').fill('admin-pass-1!');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Ops' }).click();
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
