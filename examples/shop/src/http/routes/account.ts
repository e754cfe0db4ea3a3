// Routes of a signed-in user: profile, orders, paying.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../../errors.js';
import type { RouteContext } from '../context.js';
import { presentOrder, presentUser } from '../present.js';
import { orderBody, orderNoParam } from '../schemas.js';
import { parse } from '../validation.js';

/** The signed-in user's id (the auth plugin ran before every route here). */
const userId = (request: FastifyRequest) => request.auth!.sub;

export async function accountRoutes(app: FastifyInstance, { services }: RouteContext) {
  const { users, orders, payments } = services;

  app.get('/api/users/profile', async (request) => {
    const user = await users.get(userId(request));
    if (!user) throw notFound('USER_NOT_FOUND', 'this account no longer exists');
    return presentUser(user);
  });

  app.post('/api/orders', async (request, reply) => {
    const body = parse(orderBody, request.body, 'order');
    const { order, created } = await orders.place(userId(request), body.requestId, body.items);
    return reply.code(created ? 201 : 200).send(presentOrder(order));
  });

  app.get('/api/orders', async (request) => ({
    items: (await orders.list(userId(request))).map((o) => presentOrder(o)),
  }));

  app.get('/api/orders/:orderNo', async (request) => {
    const { orderNo } = parse(orderNoParam, request.params, 'order number');
    const order = await orders.get(orderNo, userId(request));
    if (!order) throw notFound('ORDER_NOT_FOUND', `no order ${orderNo}`, { orderNo });
    return presentOrder(order, await payments.forOrder(orderNo));
  });

  app.post('/api/orders/:orderNo/cancel', async (request) => {
    const { orderNo } = parse(orderNoParam, request.params, 'order number');
    return presentOrder(await orders.cancel(userId(request), orderNo));
  });

  app.post('/api/orders/:orderNo/pay', async (request) => {
    const { orderNo } = parse(orderNoParam, request.params, 'order number');
    return payments.start(userId(request), orderNo);
  });
}
