import { defineConfig } from 'tsup';
import pkg from './package.json' with { type: 'json' };

/** One build entry per public subpath in package.json `exports`. */
const entry = {
  ...Object.fromEntries(
    Object.keys(pkg.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => [`${subpath.slice(2)}/index`, `src/${subpath.slice(2)}/index.ts`]),
  ),
  // The `girder-migrate` command (package.json `bin`).
  'migrator/cli': 'src/migrator/cli.ts',
};

export default defineConfig({
  entry,
  format: ['esm', 'cjs'],
  // @internal declarations stay out of the published types.
  dts: { compilerOptions: { stripInternal: true } },
  sourcemap: true,
  clean: true,
  splitting: true,
  treeshake: true,
  target: 'node20',
  outDir: 'dist',
  external: [/^[^./]/],
});
