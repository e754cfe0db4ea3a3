import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

// A resolve hook that fails any attempt to load pino, registered before the module loads.
const hook = `export async function resolve(specifier, context, next) {
  if (specifier === 'pino' || specifier.startsWith('pino/')) throw new Error('pino was loaded');
  return next(specifier, context);
}`;
const register = `import { register } from 'node:module';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;

async function runWithoutPino(script: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      `data:text/javascript,${encodeURIComponent(register)}`,
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: root },
  );
  return stdout;
}

describe('pino is an optional peer dependency', () => {
  it('the hook really blocks pino', async () => {
    await expect(runWithoutPino("await import('pino');")).rejects.toThrow('pino was loaded');
  });

  it('girder/logger loads and logs without loading pino', async () => {
    const stdout = await runWithoutPino(`
      const { consoleLogger, pinoLogger } = await import('./src/logger/index.ts');
      consoleLogger().info('loaded', { pinoLogger: typeof pinoLogger });
    `);
    expect(JSON.parse(stdout)).toMatchObject({ msg: 'loaded', pinoLogger: 'function' });
  });
});
