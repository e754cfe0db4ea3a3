// `npm run shop -- --cluster` on the built package: a missing server binary stops it
// before anything starts, with the package to install and the variable to set.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RUNNER = join(ROOT, 'examples/shop/scripts/run.mjs');
const run = promisify(execFile);

describe('npm run shop -- --cluster', () => {
  it('names the missing binary, its package and its variable, and exits 1', async () => {
    const failed = await run(process.execPath, [RUNNER, '--cluster'], {
      cwd: ROOT,
      // No PATH: etcd is nowhere to be found; the other two are given.
      env: {
        PATH: '/nonexistent',
        REDIS_URL: 'redis://127.0.0.1:1',
        DATABASE_URL: 'postgres://127.0.0.1:1/shop',
      },
    }).then(
      () => undefined,
      (err: { code: number; stderr: string; stdout: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(
      'The shop cannot start in cluster mode:\n  etcd is not installed: install it (Debian/Ubuntu: sudo apt-get install etcd-server) or set ETCD_ENDPOINTS to a running server',
    );
    expect(failed?.stdout).not.toContain('is running at');
  }, 180_000);

  it('refuses --memory with --cluster', async () => {
    const failed = await run(process.execPath, [RUNNER, '--cluster', '--memory'], {
      cwd: ROOT,
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain('--memory and --cluster do not mix');
  }, 180_000);
});
