import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = fileURLToPath(new URL('./src/', import.meta.url));

export default defineConfig({
  resolve: {
    // `girder/<module>` resolves to the module's public entry point, as it does for users;
    // the example shop imports only these.
    alias: [{ find: /^girder\/([a-z-]+)$/, replacement: `${src}$1/index.ts` }],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/shop/test/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most files wait on servers, TTLs and child processes rather than on the CPU, so on a
    // 2-core CI machine three files at a time finish sooner than vitest's default of one
    // (cores - 1). Tests use the injectable clock or poll with deadlines, never fixed
    // sleeps, so they hold under this load.
    maxWorkers: 3,
    minWorkers: 1,
    reporters: ['default'],
  },
});
