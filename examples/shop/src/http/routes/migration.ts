// The live-migration demo's admin API: girder/migrator's control plugin under
// /api/admin/migration (status, gated phase switch, validation start/stop, diffs, fix).
// The plugin asks its `authorize` hook on every request; the hook applies the shop's own
// admin check: a valid access token whose subject the authorizer lets through for this
// method and path (the `admin` role's rule on `/api/admin/**`).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authorizer, TokenService } from 'girder/jwt';
import { type MigrationControl, migrationControlPlugin } from 'girder/migrator';

/** Where the control's routes live. */
export const MIGRATION_PREFIX = '/api/admin/migration';

export interface MigrationRouteParts {
  control: MigrationControl;
  tokens: TokenService;
  authorizer: Authorizer;
}

const bearer = (request: FastifyRequest) => {
  const header = request.headers.authorization;
  return typeof header === 'string' && header.startsWith('Bearer ')
    ? header.slice('Bearer '.length).trim()
    : undefined;
};

/** Who is asking, when the request carries a valid token (for the switch log). */
const subjects = new WeakMap<FastifyRequest, string>();

export async function migrationRoutes(app: FastifyInstance, parts: MigrationRouteParts) {
  const authorize = async (request: FastifyRequest) => {
    const token = bearer(request);
    if (token === undefined) return false;
    try {
      const claims = await parts.tokens.verifyAccess(token, {
        userAgent: request.headers['user-agent'],
      });
      const path = request.url.split('?', 1)[0] ?? request.url;
      await parts.authorizer.authorize(claims.sub, request.method, path);
      subjects.set(request, claims.sub);
      return true;
    } catch {
      return false;
    }
  };
  await app.register(
    migrationControlPlugin({
      control: parts.control,
      authorize,
      actor: (request) => subjects.get(request),
    }),
    { prefix: MIGRATION_PREFIX },
  );
}
