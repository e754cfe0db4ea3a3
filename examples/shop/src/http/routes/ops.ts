// The ops page's feed: cumulative counters and histograms from the shop's registry.
// Admins only: the authorizer's rule for `/api/admin/**` applies before this runs.
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.js';

export async function opsRoutes(app: FastifyInstance, { ops }: RouteContext) {
  app.get('/api/admin/ops', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(await ops()),
  );
}
