// Routes anyone may call: sign-up and the catalog. Catalog reads answer JSON the cache
// already holds serialized (girder/cache), so a hit costs no query and no stringify.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { notFound } from '../../errors.js';
import type { RouteContext } from '../context.js';
import { presentUser } from '../present.js';
import { idParam, productQuery, signupBody } from '../schemas.js';
import { parse } from '../validation.js';

const json = (reply: FastifyReply, body: string) =>
  reply.header('content-type', 'application/json; charset=utf-8').send(body);

export async function publicRoutes(app: FastifyInstance, context: RouteContext) {
  const { services, counters, reads, views, popular } = context;
  const { users } = services;

  app.post('/api/users/signup', async (request, reply) => {
    const body = parse(signupBody, request.body, 'sign-up');
    const user = await users.signup(body.email, body.password);
    counters.signups.inc();
    return reply.code(201).send(presentUser(user));
  });

  app.get('/api/categories', async (_request, reply) => json(reply, await reads.categoriesJson()));

  app.get('/api/products', async (request, reply) =>
    json(reply, await reads.listJson(parse(productQuery, request.query, 'query'))),
  );

  // Products ranked by units sold, recomputed by one instance every period.
  app.get('/api/products/popular', async () => {
    const ranking = (await popular.job.get()) ?? [];
    const seen = await views.of(ranking.map((e) => e.product.id));
    return {
      items: ranking.map((e, i) => ({
        rank: i + 1,
        product: e.product,
        sold: e.sold,
        views: seen.get(e.product.id) ?? 0,
      })),
    };
  });

  app.get('/api/products/:id', async (request, reply) => {
    const { id } = parse(idParam, request.params, 'product id');
    const product = await reads.productJson(id);
    if (product === undefined) {
      throw notFound('PRODUCT_NOT_FOUND', `no product ${id}`, { productId: id });
    }
    // The view count changes on every read: spliced into the cached body, not cached.
    const viewed = await views.record(id);
    return json(reply, `${product.slice(0, -1)},"views":${viewed}}`);
  });
}
