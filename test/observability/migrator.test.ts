// girder/migrator in Prometheus and OpenTelemetry, from real runs on PGlite: the phase
// gauge and switches, dual writes and failed second writes, fixer outcomes, and a
// validator's rows, chunks, differences, progress and differing-chunk spans.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fixer,
  memoryPhaseStore,
  migrationControl,
  PhaseGateError,
  validator,
} from '../../src/migrator/index.js';
import { metrics, tracing } from '../../src/observability/index.js';
import { allRows, insertOrders, pglitePair, usePair } from '../migrator/db.js';
import { nonZero, series } from './helpers.js';

const fx = usePair(pglitePair, 'obs_orders');
const freshTable = () => fx.freshTable();
const put = fx.put;

/** A control over a fresh table whose source holds `rows` orders the target lacks. */
async function controlled(name: string, rows: number) {
  const table = await freshTable();
  const sides = { source: fx.dbs.source, target: fx.dbs.target, table, key: 'id' };
  await insertOrders(
    fx.dbs.source,
    table,
    Array.from({ length: rows }, (_, i) => ({ id: i + 1 })),
  );
  const phaseStore = memoryPhaseStore({ name });
  const control = migrationControl({
    phaseStore,
    validator: validator({ ...sides, columns: ['status', 'total'], name }),
    fixer: fixer({ ...sides, version: 'version', primary: phaseStore }),
    name,
  });
  return { control, phaseStore };
}

describe('metrics: girder/migrator', () => {
  it('shows the current phase (one series per phase) and counts switches', async () => {
    const store = memoryPhaseStore({ initial: 'source-only', name: 'orders' });
    const registry = new Registry();
    metrics({ registry }).watch(store);
    expect(await series(registry, 'girder_migrator_phase')).toEqual({
      'name=orders,phase=source-only': 1,
      'name=orders,phase=source-first': 0,
      'name=orders,phase=target-first': 0,
      'name=orders,phase=target-only': 0,
    });
    await store.set('source-first');
    await store.set('target-first');
    expect(await nonZero(registry, 'girder_migrator_phase')).toEqual({
      'name=orders,phase=target-first': 1,
    });
    expect(await nonZero(registry, 'girder_migrator_phase_switches_total')).toEqual({
      'name=orders,origin=local': 2,
    });
    await store.close();
  });

  it('counts writes by side in charge, failed second writes and repair-log failures', async () => {
    const table = await freshTable();
    const store = memoryPhaseStore({ initial: 'source-first' });
    const w = fx.writer(table, { phase: store, repairLog: { db: fx.dbs.source }, name: 'orders' });
    const registry = new Registry();
    metrics({ registry }).watch(w);
    await w.write.insert({ id: 1, status: 'new', total: 1 });
    await w.write.update(1, { status: 'paid' });
    // The target table goes away: the second write fails, the request still succeeds.
    await sql.raw(`ALTER TABLE ${table} RENAME TO ${table}_away`).execute(fx.dbs.target);
    await w.write.insert({ id: 2, status: 'new', total: 1 });
    await store.set('target-first');
    await sql.raw(`ALTER TABLE ${table}_away RENAME TO ${table}`).execute(fx.dbs.target);
    await w.write.insert({ id: 3, status: 'new', total: 1 });
    expect(await nonZero(registry, 'girder_migrator_dual_writes_total')).toEqual({
      'name=orders,op=insert,side=source': 2,
      'name=orders,op=update,side=source': 1,
      'name=orders,op=insert,side=target': 1,
    });
    expect(await nonZero(registry, 'girder_migrator_dual_write_duration_seconds')).toEqual({
      'name=orders': 4,
    });
    expect(await nonZero(registry, 'girder_migrator_dual_write_secondary_failures_total')).toEqual({
      'name=orders,op=insert,side=target': 1,
    });
    expect(await nonZero(registry, 'girder_migrator_dual_write_repair_log_failures_total')).toEqual(
      {},
    );
    expect((await allRows(fx.dbs.source, table)).map((r) => Number(r.id))).toEqual([1, 2, 3]);
    await store.close();
  });

  it('counts repair-log failures when the log is gone too', async () => {
    const table = await freshTable();
    const store = memoryPhaseStore({ initial: 'source-first' });
    const w = fx.writer(table, {
      phase: store,
      repairLog: { db: fx.dbs.source, table: 'no_such_repair_log' },
      name: 'lost',
    });
    const registry = new Registry();
    metrics({ registry }).watch(w);
    await sql.raw(`DROP TABLE ${table}`).execute(fx.dbs.target);
    await w.write.insert({ id: 1, status: 'new', total: 1 });
    expect(await nonZero(registry, 'girder_migrator_dual_write_secondary_failures_total')).toEqual({
      'name=lost,op=insert,side=target': 1,
    });
    expect(await nonZero(registry, 'girder_migrator_dual_write_repair_log_failures_total')).toEqual(
      { 'name=lost': 1 },
    );
    await store.close();
  });

  it('counts fixer outcomes: fixed, skipped and failed', async () => {
    const table = await freshTable();
    await put('source', table, 1, 'missing-on-target');
    await put('source', table, 2, 'same');
    await put('target', table, 2, 'same');
    const f = fixer({
      source: fx.dbs.source,
      target: fx.dbs.target,
      table,
      key: 'id',
      version: 'version',
      primary: 'source',
      name: 'orders',
    });
    const registry = new Registry();
    metrics({ registry }).watch(f);
    const seen = { fixed: 0, skipped: 0, failed: 0 };
    f.events.on('fixed', () => seen.fixed++);
    f.events.on('skipped', () => seen.skipped++);
    f.events.on('failed', () => seen.failed++);
    const diff = (id: number) => ({ table, key: { id }, kind: 'changed' as const });
    await f.fixAll([diff(1), diff(2), diff(99)]);
    await sql.raw(`DROP TABLE ${table}`).execute(fx.dbs.target);
    const summary = await f.fixAll([diff(1)]);
    expect(summary).toMatchObject({ failed: 1 });
    // Keys 1 and 2 are copied from the side in charge, key 99 is absent on both
    // (skipped); then key 1 fails with the target table gone.
    expect(seen).toEqual({ fixed: 2, skipped: 1, failed: 1 });
    expect(await nonZero(registry, 'girder_migrator_fixes_total')).toEqual({
      'name=orders,outcome=fixed': 2,
      'name=orders,outcome=skipped': 1,
      'name=orders,outcome=failed': 1,
    });
    expect(await nonZero(registry, 'girder_migrator_fix_duration_seconds')).toEqual({
      'name=orders': 2,
    });
  });

  it('counts a validation: rows, chunks, diffs by kind, chunk durations, progress, runs', async () => {
    const table = await freshTable();
    await insertOrders(
      fx.dbs.source,
      table,
      [1, 2, 3, 4].map((id) => ({ id, status: 'ok' })),
    );
    await put('target', table, 1, 'ok');
    await put('target', table, 2, 'changed');
    await put('target', table, 4, 'ok');
    const check = validator({
      source: fx.dbs.source,
      target: fx.dbs.target,
      table,
      key: 'id',
      columns: ['status', 'total'],
      name: 'orders',
    });
    const registry = new Registry();
    metrics({ registry }).watch(check);
    const result = await check.start().result;
    expect(result).toMatchObject({ status: 'done', missing: 1, changed: 1, extra: 0 });
    expect(await nonZero(registry, 'girder_migrator_validation_rows_checked_total')).toEqual({
      'name=orders': result.rowsChecked,
    });
    expect(result.rowsChecked).toBe(4);
    expect(await nonZero(registry, 'girder_migrator_validation_chunks_total')).toEqual({
      'name=orders,result=differing': result.differingChunks,
      ...(result.chunks > result.differingChunks
        ? { 'name=orders,result=matched': result.chunks - result.differingChunks }
        : {}),
    });
    expect(await nonZero(registry, 'girder_migrator_validation_diffs_total')).toEqual({
      'kind=missing,name=orders': 1,
      'kind=changed,name=orders': 1,
    });
    expect(await nonZero(registry, 'girder_migrator_validation_chunk_duration_seconds')).toEqual({
      'name=orders': result.chunks,
    });
    expect(await series(registry, 'girder_migrator_validation_progress_ratio')).toEqual({
      'name=orders': 1,
    });
    expect(await nonZero(registry, 'girder_migrator_validation_runs_total')).toEqual({
      'name=orders,status=done': 1,
    });
    await check.close();
  });

  it("counts a control's switch requests, switches by outcome, refusals by reason, running validation", async () => {
    const { control, phaseStore } = await controlled('ctl', 3);
    const registry = new Registry();
    metrics({ registry }).watch(control);
    expect(await series(registry, 'girder_migrator_validation_running')).toEqual({ 'name=ctl': 0 });
    await control.switchPhase('source-first');
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => expect.unreachable(),
        (e: unknown) => expect(e).toBeInstanceOf(PhaseGateError),
      );
    await refusal(control.switchPhase('target-first'));
    await refusal(control.switchPhase('target-only'));
    await control.startValidation();
    expect(await series(registry, 'girder_migrator_validation_running')).toEqual({ 'name=ctl': 1 });
    await refusal(control.switchPhase('target-first'));
    expect(await control.waitForValidation()).toMatchObject({ differences: 3 });
    expect(await series(registry, 'girder_migrator_validation_running')).toEqual({ 'name=ctl': 0 });
    await refusal(control.switchPhase('target-first'));
    await control.switchPhase('target-first', { force: true, by: 'ops' });
    expect(await nonZero(registry, 'girder_migrator_switch_requests_total')).toEqual({
      'name=ctl': 6,
    });
    expect(await nonZero(registry, 'girder_migrator_switches_total')).toEqual({
      'from=source-only,name=ctl,outcome=switched,to=source-first': 1,
      'from=source-first,name=ctl,outcome=refused,to=target-first': 3,
      'from=source-first,name=ctl,outcome=refused,to=target-only': 1,
      'from=source-first,name=ctl,outcome=forced,to=target-first': 1,
    });
    expect(await nonZero(registry, 'girder_migrator_switch_refusals_total')).toEqual({
      'name=ctl,reason=not-validated': 1,
      'name=ctl,reason=not-adjacent': 1,
      'name=ctl,reason=validation-running': 1,
      'name=ctl,reason=differences': 1,
    });
    await control.close();
    await phaseStore.close();
  });
});

describe('tracing: girder/migrator', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  const tracer = trace.getTracer('girder-migrator-test');
  afterAll(() => provider.shutdown());

  it('makes a span per differing chunk only, and events for switches and failed second writes', async () => {
    const table = await freshTable();
    await insertOrders(
      fx.dbs.source,
      table,
      [1, 2].map((id) => ({ id, status: 'ok' })),
    );
    await put('target', table, 1, 'ok');
    const check = validator({
      source: fx.dbs.source,
      target: fx.dbs.target,
      table,
      key: 'id',
      columns: ['status', 'total'],
      name: 'orders',
    });
    const store = memoryPhaseStore({ initial: 'source-first', name: 'orders' });
    const w = fx.writer(table, { phase: store, name: 'orders' });
    const t = tracing({ tracer, redis: false });
    t.watch(check);
    t.watch(store);
    t.watch(w);
    const result = await check.start().result;
    const chunkSpans = exporter
      .getFinishedSpans()
      .filter((s) => s.name === 'girder.migrator.chunk');
    expect(chunkSpans).toHaveLength(result.differingChunks);
    expect(chunkSpans[0]?.attributes).toMatchObject({
      'girder.name': 'orders',
      'girder.migrator.differences': 1,
    });
    await sql.raw(`DROP TABLE ${table}`).execute(fx.dbs.target);
    await tracer.startActiveSpan('request', async (span) => {
      await w.write.insert({ id: 3, status: 'new', total: 1 });
      await store.set('target-first');
      span.end();
    });
    const request = exporter.getFinishedSpans().find((s) => s.name === 'request');
    expect(request?.events.map((e) => e.name)).toEqual([
      'girder.migrator.secondary_failed',
      'girder.migrator.phase_changed',
    ]);
    expect(trace.getActiveSpan()).toBeUndefined();
    await check.close();
    await store.close();
  });

  it('makes a span per decided switch, with outcome and reason, and events for validations', async () => {
    exporter.reset();
    const { control, phaseStore } = await controlled('ctl_traced', 2);
    const t = tracing({ tracer, redis: false });
    t.watch(control);
    await control.switchPhase('source-first', { by: 'ops' });
    await control.switchPhase('target-first').catch(() => undefined);
    await tracer.startActiveSpan('admin', async (span) => {
      await control.startValidation();
      await control.waitForValidation();
      span.end();
    });
    await control.switchPhase('target-first', { force: true });
    const switches = exporter.getFinishedSpans().filter((s) => s.name === 'girder.migrator.switch');
    expect(switches.map((s) => [s.attributes['girder.migrator.outcome'], s.status.code])).toEqual([
      ['switched', SpanStatusCode.OK],
      ['refused', SpanStatusCode.ERROR],
      ['forced', SpanStatusCode.OK],
    ]);
    expect(switches[0]?.attributes).toMatchObject({
      'girder.name': 'ctl_traced',
      'girder.migrator.from': 'source-only',
      'girder.migrator.to': 'source-first',
      'girder.migrator.by': 'ops',
    });
    expect(switches[1]?.attributes).toMatchObject({ 'girder.migrator.reason': 'not-validated' });
    expect(switches[2]?.attributes).toMatchObject({ 'girder.migrator.gate': 'differences' });
    const admin = exporter.getFinishedSpans().find((s) => s.name === 'admin');
    expect(admin?.events.map((e) => e.name)).toEqual([
      'girder.migrator.validation_started',
      'girder.migrator.validation_finished',
    ]);
    expect(admin?.events[1]?.attributes).toMatchObject({ 'girder.migrator.differences': 2 });
    await control.close();
    await phaseStore.close();
  });
});
