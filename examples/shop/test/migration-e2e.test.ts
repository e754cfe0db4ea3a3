// The live-migration panel in headless Chromium: the admin sees the phase, switches to
// dual write, is refused the gated switch until a validation has run, then passes it.
import { expect, it } from 'vitest';
import { useBrowserShop } from './browser.js';
import { openOpsPage } from './e2e-flow.js';
import { adminLogin, newProduct, newUser, placeOrder } from './helpers.js';
import { startMigratingShop } from './migration-shop.js';

const t = useBrowserShop('migration', () => startMigratingShop());

it('switches phases from the ops page; a gated switch shows why it was refused', {
  timeout: 90_000,
}, async () => {
  const admin = await adminLogin(t.client);
  const user = await newUser(t.client);
  const productId = await newProduct(t.client, admin, 100);
  for (let i = 0; i < 3; i++) await placeOrder(t.client, user, [{ productId, quantity: 1 }]);

  const { page, errors } = await t.newPage();
  await openOpsPage(page, t.shop);

  const panel = page.getByRole('region', { name: 'Live migration' });
  const phase = panel.locator('[data-migration-phase]');
  await expect.poll(() => phase.textContent(), { timeout: 15_000 }).toContain('source-only');

  await panel.getByRole('button', { name: 'Switch to source-first' }).click();
  await expect.poll(() => phase.textContent(), { timeout: 15_000 }).toContain('source-first');
  expect(t.shop.migration?.phase.phase).toBe('source-first');

  // Gated: no validation yet.
  await panel.getByRole('button', { name: 'Switch to target-first' }).click();
  const message = panel.locator('[data-migration-message]');
  await expect.poll(() => message.textContent(), { timeout: 15_000 }).toContain('not-validated');
  expect(t.shop.migration?.phase.phase).toBe('source-first');

  // A validation finds the orders placed before dual write (not copied yet): still gated.
  const validation = panel.locator('[data-migration-validation]');
  await panel.getByRole('button', { name: 'Start validation' }).click();
  await expect.poll(() => validation.textContent(), { timeout: 15_000 }).toContain('missing 3');
  await panel.getByRole('button', { name: 'Switch to target-first' }).click();
  await expect.poll(() => message.textContent(), { timeout: 15_000 }).toContain('differences');

  // The fixer copies them; a clean validation opens the gate.
  await panel.getByRole('button', { name: 'Run fixer' }).click();
  await expect.poll(() => message.textContent(), { timeout: 15_000 }).toBe('Run fixer: done');
  await expect
    .poll(() => panel.locator('[data-migration-fixes]').textContent(), { timeout: 15_000 })
    .toContain('3 copied');
  await panel.getByRole('button', { name: 'Start validation' }).click();
  await expect
    .poll(() => validation.textContent(), { timeout: 15_000 })
    .toContain(' 0 differences');
  await expect
    .poll(() => panel.locator('[data-migration-gate]').textContent(), { timeout: 15_000 })
    .toContain('open');
  await panel.getByRole('button', { name: 'Switch to target-first' }).click();
  await expect.poll(() => phase.textContent(), { timeout: 15_000 }).toContain('target-first');
  expect(t.shop.migration?.phase.phase).toBe('target-first');
  expect(errors).toEqual([]);
});
