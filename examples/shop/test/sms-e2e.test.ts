// SMS in headless Chromium: a user links a phone on the account page, signs out, and
// logs in with an SMS code; the admin switches mock-1 to failing from the ops page's SMS
// panel. Codes are read from the mock providers' capture (SHOP_SMS=mock).
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from './browser.js';
import { newUser, PASSWORD, startShop, type TestShop } from './helpers.js';

let t: TestShop;
let browser: BrowserContext;
let launched: TestBrowser | undefined;

beforeAll(async () => {
  t = await startShop({ SHOP_SMS: 'mock', SHOP_SMS_LIMIT_PER_IP: '100000/1h' });
  launched = await launchBrowser('sms');
  browser = launched.context;
}, 180_000);

afterAll(async () => {
  await launched?.close();
  await t?.close();
});

/** The newest code texted to `phone`, once there is one beyond `seen`. */
async function codeFor(phone: string, seen: number): Promise<string> {
  const codes = () =>
    t.shop.sms.providers
      .flatMap((p) => p.sent)
      .filter((c) => c.message.to.includes(phone))
      .map((c) => c.message.params!.code!);
  await expect.poll(() => codes().length, { timeout: 15_000 }).toBe(seen + 1);
  return codes().at(-1)!;
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${t.shop.url()}/#/signin`);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

it('links a phone on the account page, then logs in with an SMS code', {
  timeout: 90_000,
}, async () => {
  const user = await newUser(t.client);
  const phone = '+8613912345678';
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await signIn(page, user.email, PASSWORD);

  await page.getByRole('link', { name: 'Account', exact: true }).click();
  const link = page.getByRole('form', { name: 'Link a phone' });
  await link.getByLabel('Phone (international format)').fill(phone);
  await link.getByRole('button', { name: 'Text me a code' }).click();
  await link.getByLabel('Code from the SMS').fill(await codeFor(phone, 0));
  await link.getByRole('button', { name: 'Link this phone' }).click();
  await expect.poll(() => page.locator('[data-phone]').getAttribute('data-phone')).toBe(phone);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in', exact: true }).waitFor();
  await page.goto(`${t.shop.url()}/#/signin`);
  const sms = page.getByRole('form', { name: 'Log in with an SMS code' });
  await sms.getByLabel('Phone (international format)').fill(phone);
  await sms.getByRole('button', { name: 'Text me a code' }).click();
  await sms.getByLabel('Code from the SMS').fill(await codeFor(phone, 1));
  await sms.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await expect.poll(() => page.locator('nav').textContent()).toContain(user.email);
  expect(errors).toEqual([]);
});

it('shows the SMS panel on the ops page and makes mock-1 fail from it', {
  timeout: 90_000,
}, async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await signIn(page, 'admin@test.local', 'admin-pass-1!');
  await page.getByRole('link', { name: 'Ops' }).click();
  const panel = page.getByRole('region', { name: 'SMS' });
  const state = panel.locator('[data-provider="mock-1"] [data-failing]');
  await expect.poll(() => state.getAttribute('data-failing'), { timeout: 15_000 }).toBe('false');
  await panel.getByRole('button', { name: 'Make mock-1 fail' }).click();
  await expect.poll(() => state.getAttribute('data-failing'), { timeout: 15_000 }).toBe('true');
  expect(t.shop.sms.providers[0]!.failing).toBe(true);
  await panel.getByRole('button', { name: 'Recover mock-1' }).click();
  await expect.poll(() => state.getAttribute('data-failing'), { timeout: 15_000 }).toBe('false');
  expect(t.shop.sms.providers[0]!.failing).toBe(false);
  // The queue table is drawn from the feed.
  expect(await panel.getByRole('table', { name: 'SMS queue' }).locator('tbody td').count()).toBe(7);
  expect(errors).toEqual([]);
});
