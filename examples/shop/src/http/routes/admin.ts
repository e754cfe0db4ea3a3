// Admin routes. Who may call them is decided by the girder/jwt authorizer (role
// `admin` on `/api/admin/**`), checked by the auth plugin before these handlers run.
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import type { RouteContext } from '../context.js';
import { presentProduct } from '../present.js';
import { idParam, newCategoryBody, newProductBody, stockBody } from '../schemas.js';
import { parse } from '../validation.js';

export async function adminRoutes(app: FastifyInstance, { services }: RouteContext) {
  const { catalog, inventory } = services;

  app.post('/api/admin/categories', async (request, reply) => {
    const body = parse(newCategoryBody, request.body, 'category');
    return reply.code(201).send(await catalog.createCategory(body));
  });

  app.post('/api/admin/products', async (request, reply) => {
    const { stock, ...body } = parse(newProductBody, request.body, 'product');
    const product = await catalog.createProduct(body);
    const available = await inventory.setStock(product.id, stock);
    return reply.code(201).send(presentProduct(product, available));
  });

  app.put('/api/admin/products/:id/stock', async (request) => {
    const { id } = parse(idParam, request.params, 'product id');
    const { stock } = parse(stockBody, request.body, 'stock');
    const product = await catalog.get(id);
    if (!product) throw notFound('PRODUCT_NOT_FOUND', `no product ${id}`, { productId: id });
    return presentProduct(product, await inventory.setStock(id, stock));
  });
}
