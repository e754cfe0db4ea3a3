import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from '../../src/logger/index.js';
import {
  dualWrite,
  fixer,
  memoryPhaseStore,
  migrationControl,
  migrationControlPlugin,
  PhaseGateError,
  validator,
} from '../../src/migrator/index.js';
import { pglitePair, usePair } from './db.js';

describe('migrationControl (PGlite)', () => {
  const fx = usePair(pglitePair, 'ctl');

  async function setup() {
    const table = await fx.freshTable();
    const dbs = fx.dbs;
    const common = { source: dbs.source, target: dbs.target, table, key: 'id' };
    const phaseStore = memoryPhaseStore({ name: table });
    const logger = memoryLogger();
    const control = migrationControl({
      phaseStore,
      validator: validator({
        ...common,
        columns: ['status', 'total', 'note', 'version'],
        chunkSize: 10,
      }),
      fixer: fixer({ ...common, version: 'version', primary: phaseStore }),
      logger,
    });
    const writer = dualWrite({ ...common, version: 'version', phase: phaseStore });
    return { table, phaseStore, control, logger, writer };
  }
  const gateReason = async (p: Promise<unknown>) => {
    const error = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PhaseGateError);
    expect(error).toMatchObject({ code: 'MIGRATOR_GATE_CLOSED' });
    return (error as PhaseGateError).reason;
  };

  it('walks the four phases only through a clean validation each time', async () => {
    const { control, logger, writer, table } = await setup();
    const switched: string[] = [];
    control.events.on('switched', (e) => switched.push(`${e.from}->${e.to}${e.forced ? '!' : ''}`));
    // Rows written before dual write started exist only on the source.
    for (let id = 1; id <= 25; id++) await writer.write.insert({ id, status: 'old', total: id });
    await control.switchPhase('source-first', { by: 'test' });
    expect(await gateReason(control.switchPhase('target-first'))).toBe('not-validated');
    expect((await control.status()).gate).toEqual({
      next: 'target-first',
      open: false,
      reason: 'not-validated',
    });

    await control.startValidation();
    await expect(control.startValidation()).rejects.toMatchObject({ code: 'MIGRATOR_BUSY' });
    expect(await gateReason(control.switchPhase('target-first'))).toBe('validation-running');
    const dirty = await control.waitForValidation();
    expect(dirty).toMatchObject({ status: 'done', missing: 25, differences: 25 });
    expect(control.diffCounts()).toEqual({ missing: 25, extra: 0, changed: 0, differences: 25 });
    expect(await gateReason(control.switchPhase('target-first'))).toBe('differences');

    expect(await control.fix()).toMatchObject({ copied: 25, failed: 0 });
    await control.startValidation();
    expect(await control.waitForValidation()).toMatchObject({ differences: 0 });
    expect((await control.status()).gate).toEqual({ next: 'target-first', open: true });
    await control.switchPhase('target-first');
    // The earlier validation no longer counts once the phase moved.
    expect(await gateReason(control.switchPhase('target-only'))).toBe('not-validated');
    await writer.write.update(3, { status: 'new' });
    await control.startValidation();
    await control.waitForValidation();
    await control.switchPhase('target-only');
    expect(await gateReason(control.switchPhase('target-first'))).toBe('stale-source');
    expect(switched).toEqual([
      'source-only->source-first',
      'source-first->target-first',
      'target-first->target-only',
    ]);
    expect(logger.entries.filter((e) => e.msg === 'migration phase switch')).toHaveLength(3);
    expect(
      logger.entries.filter((e) => e.msg === 'migration phase switch refused').length,
    ).toBeGreaterThan(0);
    expect(table).toBeTruthy();
  });

  it('one step at a time unless forced; forced switches are logged as such', async () => {
    const { control, logger } = await setup();
    expect(await gateReason(control.switchPhase('target-first'))).toBe('not-adjacent');
    const status = await control.switchPhase('target-only', { force: true, by: 'ops' });
    expect(status.phase).toBe('target-only');
    expect(logger.entries.find((e) => e.msg.includes('forced'))?.fields).toMatchObject({
      from: 'source-only',
      to: 'target-only',
      forced: true,
      by: 'ops',
      gate: 'not-adjacent',
    });
    await control.switchPhase('target-first', { force: true });
    await control.switchPhase('source-first'); // one step back from target-first is free
    await expect(control.switchPhase('sideways' as never)).rejects.toMatchObject({
      code: 'MIGRATOR_INVALID_PHASE',
    });
  });

  it('stopValidation stops a run, which never opens the gate', async () => {
    const { control, writer, phaseStore } = await setup();
    await phaseStore.set('source-first');
    for (let id = 1; id <= 40; id++) await writer.write.insert({ id, status: 'x', total: id });
    await control.startValidation();
    const stopped = await control.stopValidation();
    expect(stopped?.status === 'stopped' || stopped?.status === 'done').toBe(true);
    if (stopped?.status === 'stopped') {
      expect(await gateReason(control.switchPhase('target-first'))).toBe('not-validated');
    }
    expect(await control.stopValidation()).toBeUndefined();
  });

  it('HTTP routes: guarded by authorize, gate refusals answer 409 with the reason', async () => {
    const { control } = await setup();
    const app = Fastify();
    await app.register(
      migrationControlPlugin({
        control,
        authorize: (req) => req.headers['x-admin'] === 'yes',
        actor: () => 'http-admin',
      }),
      { prefix: '/admin/migration' },
    );
    const admin = { 'x-admin': 'yes' };
    expect((await app.inject({ url: '/admin/migration/status' })).statusCode).toBe(403);
    const status = await app.inject({ url: '/admin/migration/status', headers: admin });
    expect(status.json()).toMatchObject({
      phase: 'source-only',
      gate: { next: 'source-first', open: true },
    });
    const moved = await app.inject({
      method: 'POST',
      url: '/admin/migration/phase',
      headers: admin,
      payload: { to: 'source-first' },
    });
    expect(moved.json()).toMatchObject({ phase: 'source-first' });
    const refused = await app.inject({
      method: 'POST',
      url: '/admin/migration/phase',
      headers: admin,
      payload: { to: 'target-first' },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'MIGRATOR_GATE_CLOSED', reason: 'not-validated' });
    const bad = await app.inject({
      method: 'POST',
      url: '/admin/migration/phase',
      headers: admin,
      payload: { to: 'nope' },
    });
    expect(bad.statusCode).toBe(400);
    const started = await app.inject({
      method: 'POST',
      url: '/admin/migration/validation',
      headers: admin,
    });
    expect(started.json()).toHaveProperty('runId');
    await control.waitForValidation();
    expect(
      (await app.inject({ url: '/admin/migration/diffs', headers: admin })).json(),
    ).toMatchObject({
      counts: { differences: 0 },
    });
    expect(
      (await app.inject({ method: 'POST', url: '/admin/migration/fix', headers: admin })).json(),
    ).toMatchObject({ failed: 0 });
    const forward = await app.inject({
      method: 'POST',
      url: '/admin/migration/phase',
      headers: admin,
      payload: { to: 'target-first' },
    });
    expect(forward.json()).toMatchObject({ phase: 'target-first' });
    await app.close();
  });
});
