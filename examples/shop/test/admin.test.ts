// Admin routes: role-checked by the girder/jwt authorizer in the auth plugin.
import { describe, expect, it } from 'vitest';
import { newUser, stockOf, useAdminShop } from './helpers.js';

const t = useAdminShop();

const product = {
  name: 'Admin-made',
  description: 'x',
  priceCents: 999,
  category: 'games',
  stock: 7,
};
const FORBIDDEN = { statusCode: 403, error: 'Forbidden', message: 'Forbidden' };

describe('authorization', () => {
  it('403s a signed-in non-admin on every admin route and 401s anonymous callers', async () => {
    const user = await newUser(t.client);
    const calls = [
      (token?: string) => t.client.post('/api/admin/products', product, token ? { token } : {}),
      (token?: string) =>
        t.client.put('/api/admin/products/1/stock', { stock: 1 }, token ? { token } : {}),
      (token?: string) =>
        t.client.post('/api/admin/categories', { slug: 'x', name: 'X' }, token ? { token } : {}),
    ];
    for (const call of calls) {
      const denied = await call(user.accessToken);
      expect(denied.status).toBe(403);
      expect(denied.body).toEqual(FORBIDDEN);
      expect((await call()).status).toBe(401);
    }
    expect(await stockOf(t.client, 1)).not.toBe(1);
  });

  it('follows role grants live, without a new token', async () => {
    const user = await newUser(t.client);
    const before = await t.client.post('/api/admin/products', product, { token: user.accessToken });
    expect(before.status).toBe(403);
    const profile = await t.client.get('/api/users/profile', { token: user.accessToken });
    await t.shop.authorizer.grant(profile.body.id, 'admin');
    const after = await t.client.post('/api/admin/products', product, { token: user.accessToken });
    expect(after.status).toBe(201);
    await t.shop.authorizer.revoke(profile.body.id, 'admin');
    const revoked = await t.client.post('/api/admin/products', product, {
      token: user.accessToken,
    });
    expect(revoked.status).toBe(403);
  });
});

describe('POST /api/admin/products', () => {
  it('creates a product with its stock: 201, visible in the catalog', async () => {
    const res = await t.client.post('/api/admin/products', product, { token: t.admin.accessToken });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'Admin-made',
      priceCents: 999,
      stock: 7,
      category: { slug: 'games' },
    });
    const shown = await t.client.get(`/api/products/${res.body.id}`);
    expect(shown.body).toEqual({ ...res.body, views: 1 });
  });

  it('404s an unknown category', async () => {
    const res = await t.client.post(
      '/api/admin/products',
      { ...product, category: 'nope' },
      { token: t.admin.accessToken },
    );
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('CATEGORY_NOT_FOUND');
  });

  it.each([
    ['negative price', { ...product, priceCents: -1 }],
    ['price too high', { ...product, priceCents: 1_000_001 }],
    ['fractional price', { ...product, priceCents: 9.99 }],
    ['empty name', { ...product, name: '  ' }],
    ['negative stock', { ...product, stock: -5 }],
    ['missing category', { name: 'x', priceCents: 1 }],
  ])('400s %s', async (_why, body) => {
    const res = await t.client.post('/api/admin/products', body, { token: t.admin.accessToken });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('PUT /api/admin/products/:id/stock', () => {
  it('sets the stock', async () => {
    const created = await t.client.post('/api/admin/products', product, {
      token: t.admin.accessToken,
    });
    const res = await t.client.put(
      `/api/admin/products/${created.body.id}/stock`,
      { stock: 42 },
      { token: t.admin.accessToken },
    );
    expect(res.status).toBe(200);
    expect(res.body.stock).toBe(42);
    expect(await stockOf(t.client, created.body.id)).toBe(42);
  });

  it('404s an unknown product, 400s bad input', async () => {
    const token = t.admin.accessToken;
    expect(
      (await t.client.put('/api/admin/products/999999/stock', { stock: 1 }, { token })).status,
    ).toBe(404);
    expect(
      (await t.client.put('/api/admin/products/1/stock', { stock: -1 }, { token })).status,
    ).toBe(400);
    expect(
      (await t.client.put('/api/admin/products/1/stock', { stock: '5' }, { token })).status,
    ).toBe(400);
    expect((await t.client.put('/api/admin/products/1/stock', {}, { token })).status).toBe(400);
    expect(
      (await t.client.put('/api/admin/products/x/stock', { stock: 1 }, { token })).status,
    ).toBe(400);
  });
});

describe('POST /api/admin/categories', () => {
  it('creates a category; 409 for a slug in use; 400 for a bad slug', async () => {
    const token = t.admin.accessToken;
    const res = await t.client.post(
      '/api/admin/categories',
      { slug: 'garden', name: 'Garden' },
      { token },
    );
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(Number), slug: 'garden', name: 'Garden' });
    const again = await t.client.post(
      '/api/admin/categories',
      { slug: 'garden', name: 'Other' },
      { token },
    );
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CATEGORY_EXISTS');
    expect(
      (await t.client.post('/api/admin/categories', { slug: 'Bad Slug', name: 'x' }, { token }))
        .status,
    ).toBe(400);
  });
});
