import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShop, type TestShop } from './helpers.js';

let t: TestShop;

beforeAll(async () => {
  t = await startShop();
});
afterAll(() => t?.close());

describe('GET /api/products', () => {
  it('lists the seeded products with stock, 20 per page by default', async () => {
    const res = await t.client.get('/api/products');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, pageSize: 20, total: 12 });
    expect(res.body.items).toHaveLength(12);
    expect(res.body.items[0]).toEqual({
      id: expect.any(Number),
      name: expect.any(String),
      description: expect.any(String),
      priceCents: expect.any(Number),
      category: { id: expect.any(Number), slug: expect.any(String), name: expect.any(String) },
      stock: expect.any(Number),
    });
  });

  it('filters by category and paginates', async () => {
    const books = await t.client.get('/api/products?category=books');
    expect(books.body.total).toBe(3);
    expect(
      books.body.items.every((p: { category: { slug: string } }) => p.category.slug === 'books'),
    ).toBe(true);

    const page1 = await t.client.get('/api/products?pageSize=5&page=1');
    const page3 = await t.client.get('/api/products?pageSize=5&page=3');
    expect(page1.body.items).toHaveLength(5);
    expect(page3.body.items).toHaveLength(2);
    expect(page3.body).toMatchObject({ page: 3, pageSize: 5, total: 12 });
    const beyond = await t.client.get('/api/products?page=99');
    expect(beyond.body.items).toEqual([]);
    const none = await t.client.get('/api/products?category=no-such-category');
    expect(none.body).toMatchObject({ items: [], total: 0 });
  });

  it.each([
    'page=0',
    'page=-1',
    'page=abc',
    'pageSize=101',
    'pageSize=0',
    'page=1.5',
    'category=Not%20A%20Slug',
    `category=${'x'.repeat(51)}`,
  ])('400s a bad query: %s', async (query) => {
    const res = await t.client.get(`/api/products?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /api/products/:id', () => {
  it('shows one product with its stock and counts its views', async () => {
    const list = await t.client.get('/api/products?pageSize=1');
    const first = list.body.items[0];
    const res = await t.client.get(`/api/products/${first.id}`);
    expect(res.status).toBe(200);
    const views = res.body.views;
    expect(views).toBeGreaterThanOrEqual(1);
    expect(res.body).toEqual({ ...first, views });
    const again = await t.client.get(`/api/products/${first.id}`);
    expect(again.body.views).toBe(views + 1);
  });

  it('404s an unknown id and 400s a malformed one', async () => {
    const unknown = await t.client.get('/api/products/999999');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({
      code: 'PRODUCT_NOT_FOUND',
      details: { productId: 999999 },
    });
    for (const bad of ['abc', '0', '-1', '1.5', '99999999999', '1e3']) {
      const res = await t.client.get(`/api/products/${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('GET /api/categories', () => {
  it('lists the categories', async () => {
    const res = await t.client.get('/api/categories');
    expect(res.status).toBe(200);
    expect(res.body.items.map((c: { slug: string }) => c.slug).sort()).toEqual([
      'books',
      'electronics',
      'games',
      'kitchen',
    ]);
  });
});
