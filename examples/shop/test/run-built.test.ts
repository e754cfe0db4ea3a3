// `npm run shop` runs the built package: the runner builds what is out of date, then the
// built shop (examples/shop/dist/main.js) starts under plain Node, with `girder/*`
// resolving to the package's own dist/ through package.json `exports`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RUNNER = join(ROOT, 'examples/shop/scripts/run.mjs');
const run = promisify(execFile);

/** Resolves with the child's output once `pattern` appears in it; rejects if the child exits first. */
function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        resolve(match);
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`the shop exited (${code}) before printing ${pattern}:\n${output}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', onExit);
  });
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('npm run shop (the built package)', () => {
  it('is the runner script', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.shop).toBe('node examples/shop/scripts/run.mjs');
  });

  it('builds, serves the home page and the products API, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [RUNNER, '--memory'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SHOP_SMS: 'mock', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const [, url] = await waitForOutput(child, /girder example shop is running at (http:\S+)/);

    // The banner is the one `tsx examples/shop/src/main.ts` printed.
    const home = await fetch(`${url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toContain('text/html');
    expect(await home.text()).toContain('<html');
    const products = await fetch(`${url}/api/products`);
    expect(products.status).toBe(200);
    expect(products.headers.get('content-type')).toContain('application/json');

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 180_000);

  it('resolves girder/* from the built shop to the package dist/, not to sources', async () => {
    // After the test above the build exists; resolve as the built main.js would.
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', "console.log(import.meta.resolve('girder/core'))"],
      { cwd: join(ROOT, 'examples/shop/dist') },
    );
    expect(fileURLToPath(stdout.trim())).toBe(join(ROOT, 'dist/core/index.js'));
  });
});
