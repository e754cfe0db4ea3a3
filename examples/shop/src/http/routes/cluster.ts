// The ops page's cluster panel API, admins only (the `admin` role's rule on
// `/api/admin/**`, checked here as migration.ts does, since this scope sits outside the
// main API's auth scope):
//   GET  /api/admin/cluster                      instances, lease state, SWRR split, breakers
//   POST /api/admin/cluster/instances/:id/kill   { signal?: 'SIGTERM' | 'SIGKILL' }
//   POST /api/admin/cluster/instances/:id/weight { weight }
//   POST /api/admin/cluster/services/:role/scale-up
// Mounted only when the services run over gRPC.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Authorizer, TokenMissingError, type TokenService } from 'girder/jwt';
import { z } from 'zod';
import { ClusterActionError, type ClusterControl } from '../../cluster/control.js';
import { ShopError } from '../../errors.js';
import type { ClusterOps } from '../../observe/ops-cluster.js';
import { parse } from '../validation.js';

/** Where the panel's routes live. */
export const CLUSTER_PREFIX = '/api/admin/cluster';

export interface ClusterRouteParts {
  view: ClusterOps;
  /** Undefined: the panel shows the instances but offers no actions. */
  control: ClusterControl | undefined;
  tokens: TokenService;
  authorizer: Authorizer;
}

const killBody = z.strictObject({ signal: z.enum(['SIGTERM', 'SIGKILL']).default('SIGTERM') });
const weightBody = z.strictObject({ weight: z.number().int() });
const idParams = z.strictObject({ id: z.string().min(1).max(100) });
const roleParams = z.strictObject({ role: z.string().min(1).max(100) });

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ')
    ? header.slice('Bearer '.length).trim()
    : undefined;
}

export async function clusterRoutes(app: FastifyInstance, parts: ClusterRouteParts) {
  // Auth errors go to the shop's error handler: 401 without a valid token, 403 for non-admins.
  app.addHook('onRequest', async (request) => {
    const token = bearer(request);
    if (token === undefined) throw new TokenMissingError();
    const claims = await parts.tokens.verifyAccess(token, {
      userAgent: request.headers['user-agent'],
    });
    const path = request.url.split('?', 1)[0] ?? request.url;
    await parts.authorizer.authorize(claims.sub, request.method, path);
  });

  const act = async <T>(run: (control: ClusterControl) => Promise<T>): Promise<T> => {
    if (parts.control === undefined) {
      throw new ShopError(409, 'NO_CLUSTER_CONTROL', 'this shop cannot change its cluster');
    }
    try {
      return await run(parts.control);
    } catch (err) {
      if (err instanceof ClusterActionError) {
        throw new ShopError(err.status, 'CLUSTER_ACTION_REFUSED', err.message);
      }
      throw err;
    }
  };

  app.get(CLUSTER_PREFIX, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(parts.view.snapshot()),
  );
  app.post(`${CLUSTER_PREFIX}/instances/:id/kill`, async (request) => {
    const { id } = parse(idParams, request.params, 'instance');
    const { signal } = parse(killBody, request.body ?? {}, 'kill');
    return act((c) => c.kill(id, signal));
  });
  app.post(`${CLUSTER_PREFIX}/instances/:id/weight`, async (request) => {
    const { id } = parse(idParams, request.params, 'instance');
    const { weight } = parse(weightBody, request.body, 'weight');
    return act(async (c) => ({ id, weight: await c.setWeight(id, weight) }));
  });
  app.post(`${CLUSTER_PREFIX}/services/:role/scale-up`, async (request) => {
    const { role } = parse(roleParams, request.params, 'service');
    return act((c) => c.scaleUp(role));
  });
}
