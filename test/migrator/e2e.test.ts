// End to end on real PostgreSQL: 8 writers (7 in this process, 1 a child process) run
// through all four phases; the child is SIGKILLed once mid-migration and replaced; the
// validator and fixer run between switches and every forward switch goes through the
// gate. At the end the target holds exactly every acknowledged write.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  createPhaseTable,
  dualWrite,
  fixer,
  migrationControl,
  type Phase,
  sqlPhaseStore,
  validator,
} from '../../src/migrator/index.js';
import { bundledEntry } from '../harness/bundle.js';
import { allRows, postgresPair, usePair } from './db.js';
import { writerLoop } from './fixtures/e2e-loop.js';

const childScript = fileURLToPath(new URL('./fixtures/e2e-writer.ts', import.meta.url));
type Model = Map<number, { status: string; total: number } | null>;

describe('migration end to end (PostgreSQL)', () => {
  const fx = usePair(postgresPair, 'orders');

  it('8 writers through phases 1→4 with a SIGKILL: 0 divergent rows', async () => {
    const dbs = fx.dbs;
    const table = await fx.freshTable();
    await createPhaseTable(dbs.source);
    const urls = dbs.urls as { source: string; target: string };
    const model: Model = new Map();
    const apply = (line: string) => {
      const [word, op, id, status, total] = line.split(' ');
      if (word !== 'ack') return;
      model.set(
        Number(id),
        op === 'delete' ? null : { status: status as string, total: Number(total) },
      );
    };

    const phase = await sqlPhaseStore(dbs.source, { name: table, pollMs: 100 });
    const common = { source: dbs.source, target: dbs.target, table, key: 'id' };
    const control = migrationControl({
      phaseStore: phase,
      validator: validator({
        ...common,
        columns: ['status', 'total', 'note', 'version'],
        chunkSize: 500,
      }),
      fixer: fixer({
        ...common,
        version: 'version',
        primary: phase,
        repairLog: { db: dbs.source },
      }),
    });

    // Seven in-process writers, each with its own phase store instance (as separate app instances would).
    let stop = false;
    const local = await Promise.all(
      Array.from({ length: 7 }, async (_, i) => {
        const store = await sqlPhaseStore(dbs.source, { name: table, pollMs: 100 });
        const writer = dualWrite({
          ...common,
          version: 'version',
          phase: store,
          repairLog: { db: dbs.source },
        });
        return { store, loop: writerLoop(writer, i, { stopped: () => stop }, apply) };
      }),
    );

    // The eighth writer, a real process.
    const startChild = async (index: number): Promise<ChildProcess> => {
      const child = spawn(
        process.execPath,
        [await bundledEntry(childScript), urls.source, urls.target, table, String(index)],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const lines = createInterface({ input: child.stdout as NonNullable<typeof child.stdout> });
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
        lines.on('line', (line) => {
          if (line === 'ready') resolve();
          else apply(line);
        });
      });
      return child;
    };
    const stopChild = (child: ChildProcess, signal: NodeJS.Signals) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    let child = await startChild(7);

    const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
    /** Validate, fix, repeat until a full validation finds nothing (writers keep going). */
    const validateUntilClean = async () => {
      for (let attempt = 1; attempt <= 8; attempt++) {
        await control.startValidation();
        const result = await control.waitForValidation();
        if (result.differences === 0) return attempt;
        await control.fix();
      }
      throw new Error('no clean validation in 8 attempts');
    };
    const switchTo = async (to: Phase) => {
      await control.switchPhase(to);
      // Instances acting on two phases at once is the documented poll-lag window; on a
      // loaded machine a poll can come late, so wait until every in-process instance acts
      // on the new phase, then give the child process (polling every 100 ms) time too.
      while (local.some((l) => l.store.phase !== to)) await settle(20);
      await settle(300);
    };

    await settle(1_000); // phase 1: source-only
    await switchTo('source-first');
    await settle(500);
    // Kill the child mid-write; its last unacknowledged key may be half-written.
    await stopChild(child, 'SIGKILL');
    child = await startChild(8); // a fresh instance, with its own keys
    await settle(500);
    await validateUntilClean(); // backfills rows written during source-only, repairs the kill
    await switchTo('target-first');
    await settle(500);
    await validateUntilClean();
    await switchTo('target-only');
    await settle(800);
    stop = true;
    await Promise.all(local.map((l) => l.loop));
    await stopChild(child, 'SIGTERM');
    await Promise.all(local.map((l) => l.store.close()));
    await phase.close();
    await control.close();

    // The target holds exactly what was acknowledged. The killed process (keys 7xxxxxx)
    // may have had one write in flight: its key may hold that unacknowledged write.
    const target = new Map((await allRows(dbs.target, table)).map((r) => [Number(r.id), r]));
    const killed = (id: number) => Math.floor(id / 1_000_000) === 7;
    let divergent = 0;
    let killedInFlight = 0;
    const differences: string[] = [];
    const differ = (id: number, expected: unknown, row: unknown) => {
      if (killed(id)) return killedInFlight++;
      divergent++;
      differences.push(
        `${id}: acknowledged ${JSON.stringify(expected)}, target ${JSON.stringify(row)}`,
      );
    };
    for (const [id, expected] of model) {
      const row = target.get(id);
      const ok =
        expected === null
          ? row === undefined
          : row !== undefined && row.status === expected.status && row.total === expected.total;
      if (!ok) differ(id, expected, row);
    }
    for (const [id, row] of target) if (!model.has(id)) differ(id, 'nothing', row);
    if (differences.length > 0) console.log(`divergent rows:\n${differences.join('\n')}`);
    expect(killedInFlight).toBeLessThanOrEqual(1);
    expect(model.size).toBeGreaterThan(100);
    expect(divergent).toBe(0);
  }, 120_000);
});
