// JSON routes over a MigrationControl, for an ops page or curl. Fastify is used through
// its types only. Encapsulated (no skip-override): the `authorize` hook guards these
// routes and nothing else.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { GirderError, parseOptions } from '../core/index.js';
import type { MigrationControl } from './control-types.js';
import { fnSchema } from './shared.js';
import type { Phase } from './types.js';

/**
 * Options of {@link migrationControlPlugin}.
 *
 * @example
 * ```ts
 * const options: MigrationControlPluginOptions = {
 *   control,
 *   authorize: (request) => request.headers['x-admin-token'] === process.env.ADMIN_TOKEN,
 * };
 * ```
 */
export interface MigrationControlPluginOptions {
  /** The migration to expose. */
  control: MigrationControl;
  /**
   * Decides whether a request may use the routes (every route, reads included); false
   * answers 403. Required: phase switches must never be open to anyone by accident.
   */
  authorize: (request: FastifyRequest) => boolean | Promise<boolean>;
  /** Who asked, recorded with each switch. Default: none. */
  actor?: (request: FastifyRequest) => string | undefined;
}

const schema = z.strictObject({
  control: z.custom<MigrationControl>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as MigrationControl).switchPhase === 'function',
    { message: 'must be a MigrationControl' },
  ),
  authorize: fnSchema<MigrationControlPluginOptions['authorize']>(),
  actor: fnSchema<NonNullable<MigrationControlPluginOptions['actor']>>().optional(),
});

/** HTTP status of a girder error code. */
const statusOf = (code: string): number =>
  code === 'INVALID_ARGUMENT' || code === 'MIGRATOR_INVALID_PHASE'
    ? 400
    : code === 'MIGRATOR_GATE_CLOSED' || code === 'MIGRATOR_BUSY'
      ? 409
      : 500;

/**
 * A Fastify plugin exposing a migration's control as JSON routes (register it with a
 * `prefix`, e.g. `/admin/migrations/orders`):
 *
 * | route | does |
 * | --- | --- |
 * | `GET /status` | `status()` |
 * | `POST /phase` `{ "to": "target-first", "force": false }` | `switchPhase` (409 + `reason` when the gate refuses) |
 * | `POST /validation` | `startValidation()` (409 while one runs) |
 * | `DELETE /validation` | `stopValidation()` |
 * | `GET /diffs` | `diffCounts()` and the last validation's summary |
 * | `POST /fix` | `fix()` |
 *
 * Errors answer `{ code, message, reason? }`.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { migrationControlPlugin } from 'girder/migrator';
 *
 * const app = Fastify();
 * await app.register(migrationControlPlugin({ control, authorize: (req) => isAdmin(req) }), {
 *   prefix: '/admin/migrations/orders',
 * });
 * ```
 */
export function migrationControlPlugin(options: MigrationControlPluginOptions) {
  const o = parseOptions('migrationControlPlugin', schema, options);
  const { control } = o;
  return async function girderMigrationControl(app: FastifyInstance) {
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!(await o.authorize(request))) {
        return reply
          .code(403)
          .send({ code: 'FORBIDDEN', message: 'not allowed to control this migration' });
      }
      return undefined;
    });
    app.setErrorHandler((error: unknown, _request: FastifyRequest, reply: FastifyReply) => {
      if (error instanceof GirderError) {
        const reason = (error as { reason?: unknown }).reason;
        return reply.code(statusOf(error.code)).send({
          code: error.code,
          message: error.message,
          ...(typeof reason === 'string' ? { reason } : {}),
        });
      }
      const status = (error as { statusCode?: number }).statusCode ?? 500;
      return reply.code(status).send({
        code: status === 500 ? 'INTERNAL' : 'BAD_REQUEST',
        message: error instanceof Error ? error.message : String(error),
      });
    });
    app.get('/status', () => control.status());
    app.post('/phase', async (request: FastifyRequest) => {
      const body = (request.body ?? {}) as { to?: unknown; force?: unknown };
      return control.switchPhase(body.to as Phase, {
        force: body.force === true,
        by: o.actor?.(request),
      });
    });
    app.post('/validation', async () => ({ runId: await control.startValidation() }));
    app.delete('/validation', async () => ({ result: (await control.stopValidation()) ?? null }));
    app.get('/diffs', async () => {
      const counts = control.diffCounts();
      const status = await control.status();
      return { counts: counts ?? null, lastValidation: status.lastValidation ?? null };
    });
    app.post('/fix', () => control.fix());
  };
}
