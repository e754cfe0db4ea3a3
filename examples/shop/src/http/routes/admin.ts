// Admin routes. Who may call them is decided by the girder/jwt authorizer (role
// `admin` on `/api/admin/**`), checked by the auth plugin before these handlers run.
// Every write invalidates the catalog cache entries it changes before answering.
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import type { RouteContext } from '../context.js';
import { presentProduct } from '../present.js';
import {
  idParam,
  newCategoryBody,
  newProductBody,
  productChangesBody,
  stockBody,
} from '../schemas.js';
import { parse } from '../validation.js';

export async function adminRoutes(app: FastifyInstance, { services, reads }: RouteContext) {
  const { catalog, inventory } = services;

  app.post('/api/admin/categories', async (request, reply) => {
    const body = parse(newCategoryBody, request.body, 'category');
    const category = await catalog.createCategory(body);
    await reads.categoriesChanged();
    return reply.code(201).send(category);
  });

  app.post('/api/admin/products', async (request, reply) => {
    const { stock, ...body } = parse(newProductBody, request.body, 'product');
    const product = await catalog.createProduct(body);
    const available = await inventory.setStock(product.id, stock);
    // A "not found" remembered for this id, and every list page (totals, last page).
    await Promise.all([reads.productsChanged([product.id]), reads.listsChanged()]);
    return reply.code(201).send(presentProduct(product, available));
  });

  app.patch('/api/admin/products/:id', async (request) => {
    const { id } = parse(idParam, request.params, 'product id');
    const changes = parse(productChangesBody, request.body, 'product changes');
    const product = await catalog.updateProduct(id, changes);
    if (!product) throw notFound('PRODUCT_NOT_FOUND', `no product ${id}`, { productId: id });
    await reads.productsChanged([id]);
    const stock = await inventory.stockOf([id]);
    return presentProduct(product, stock.get(id) ?? 0);
  });

  app.put('/api/admin/products/:id/stock', async (request) => {
    const { id } = parse(idParam, request.params, 'product id');
    const { stock } = parse(stockBody, request.body, 'stock');
    const product = await catalog.get(id);
    if (!product) throw notFound('PRODUCT_NOT_FOUND', `no product ${id}`, { productId: id });
    const available = await inventory.setStock(id, stock);
    await reads.productsChanged([id]);
    return presentProduct(product, available);
  });
}
