// SMS in headless Chromium: a user links a phone on the account page, signs out, and
// logs in with an SMS code; the admin switches mock-1 to failing from the ops page's SMS
// panel. Codes are read from the mock providers' capture (SHOP_SMS=mock).
import { expect, it } from 'vitest';
import { useBrowserShop } from './browser.js';
import { FLOW_ENV, linkPhone, openOpsPage, signIn, smsLogin } from './e2e-flow.js';
import { newUser, PASSWORD, startShop } from './helpers.js';

const t = useBrowserShop('sms', () => startShop(FLOW_ENV));

it('links a phone on the account page, then logs in with an SMS code', {
  timeout: 90_000,
}, async () => {
  const user = await newUser(t.client);
  const phone = '+8613912345678';
  const { page, errors } = await t.newPage();
  await signIn(page, t.shop, user.email, PASSWORD);
  await linkPhone(page, t.shop, phone);
  await smsLogin(page, t.shop, phone, user.email);
  expect(errors).toEqual([]);
});

it('shows the SMS panel on the ops page and makes mock-1 fail from it', {
  timeout: 90_000,
}, async () => {
  const { page, errors } = await t.newPage();
  await openOpsPage(page, t.shop);
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
