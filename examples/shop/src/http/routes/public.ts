// Routes anyone may call: sign-up and the catalog.
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import type { RouteContext } from '../context.js';
import { presentProduct, presentUser } from '../present.js';
import { idParam, productQuery, signupBody } from '../schemas.js';
import { parse } from '../validation.js';

export async function publicRoutes(app: FastifyInstance, { services, counters }: RouteContext) {
  const { users, catalog, inventory } = services;

  app.post('/api/users/signup', async (request, reply) => {
    const body = parse(signupBody, request.body, 'sign-up');
    const user = await users.signup(body.email, body.password);
    counters.signups.inc();
    return reply.code(201).send(presentUser(user));
  });

  app.get('/api/categories', async () => ({ items: await catalog.categories() }));

  app.get('/api/products', async (request) => {
    const query = parse(productQuery, request.query, 'query');
    const page = await catalog.list(query);
    const stock = await inventory.stockOf(page.items.map((p) => p.id));
    return { ...page, items: page.items.map((p) => presentProduct(p, stock.get(p.id) ?? 0)) };
  });

  app.get('/api/products/:id', async (request) => {
    const { id } = parse(idParam, request.params, 'product id');
    const product = await catalog.get(id);
    if (!product) throw notFound('PRODUCT_NOT_FOUND', `no product ${id}`, { productId: id });
    const stock = await inventory.stockOf([id]);
    return presentProduct(product, stock.get(id) ?? 0);
  });
}
