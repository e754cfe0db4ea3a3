// girder-migrate spawned as a real process against two databases of a real PostgreSQL.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProgress } from '../../src/migrator/cli-progress.js';
import { createOrders, type DbPair, postgresPair, stopServer } from './db.js';

const cli = fileURLToPath(new URL('../../src/migrator/cli.ts', import.meta.url));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', cli, ...args],
      { timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}

describe('girder-migrate (PostgreSQL)', () => {
  let dbs: DbPair;
  let base: string[];
  beforeAll(async () => {
    dbs = await postgresPair();
    await createOrders(dbs.source);
    await createOrders(dbs.target);
    const rows = Array.from({ length: 500 }, (_, i) => ({
      id: i + 1,
      status: 'paid',
      total: i,
      version: 1,
    }));
    await dbs.source.insertInto('orders').values(rows).execute();
    await dbs.target.insertInto('orders').values(rows.slice(0, 490)).execute();
    await dbs.target
      .updateTable('orders')
      .set({ status: 'lost', version: 0 })
      .where('id', '=', 7)
      .execute();
    await dbs.target
      .insertInto('orders')
      .values({ id: 9999, status: 'ghost', total: 1, version: 1 })
      .execute();
    const urls = dbs.urls as { source: string; target: string };
    base = ['--source', urls.source, '--target', urls.target, '--table', 'orders', '--key', 'id'];
  }, 120_000);
  afterAll(async () => {
    await dbs.close();
    await stopServer();
  });

  it('validate reports the differences and exits 1; fix repairs them; validate then exits 0', async () => {
    const first = await run(['validate', ...base, '--chunk-size', '100', '--json']);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({
      rowsChecked: 500,
      missing: 10,
      extra: 1,
      changed: 1,
      differences: 12,
    });
    expect(first.stderr).toMatch(/progress/); // plain lines: not a terminal
    const fixed = await run(['fix', ...base, '--version', 'version', '--chunk-size', '100']);
    expect(fixed.stdout).toMatch(/copied 11, deleted 1, skipped 0, failed 0/);
    expect(fixed.code).toBe(0);
    const again = await run(['validate', ...base, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ differences: 0 });
    expect(again.code).toBe(0);
    const status = await run(['status', ...base, '--json']);
    expect(JSON.parse(status.stdout)).toEqual({
      table: 'orders',
      sourceRows: 500,
      targetRows: 500,
      phase: null,
      repairLog: null,
    });
  }, 120_000);

  it('usage errors exit 2 with the usage text', async () => {
    const missing = await run(['validate', '--table', 'orders']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--source is required/);
    const unknown = await run(['explode', ...base]);
    expect(unknown.code).toBe(2);
    const fixWithoutVersion = await run(['fix', ...base]);
    expect(fixWithoutVersion.stderr).toMatch(/--version/);
  }, 120_000);

  it('draws a bar with an ETA on a terminal', () => {
    const line = formatProgress(
      {
        runId: 'r',
        name: 'n',
        rowsDone: 250,
        chunksDone: 3,
        estimatedRows: 1000,
        etaMs: 90_000,
        rowsPerSecond: 50,
        chunkSize: 100,
        differences: 2,
      },
      true,
      20,
    );
    expect(line).toContain('[#####---------------]  25%');
    expect(line).toContain('ETA 1m30s');
  });
});
