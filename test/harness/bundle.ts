// Child-process entries bundled once with esbuild, so each child is a plain `node` start.
// `node --import tsx entry.ts` compiles every imported source file in each child (about
// 2 s of CPU for girder/mq); a bundle loads in a fraction of that, which is what matters
// when a test starts several children on a busy 2-core machine.
import { rmSync } from 'node:fs';
import { mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

let dir: Promise<string> | undefined;
const bundles = new Map<string, Promise<string>>();

/** One temp dir per test process, removed when it exits; bare imports resolve through its link. */
function bundleDir(): Promise<string> {
  dir ??= (async () => {
    const made = await mkdtemp(join(tmpdir(), 'girder-bundle-'));
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    await symlink(NODE_MODULES, join(made, 'node_modules'), 'dir');
    return made;
  })();
  return dir;
}

/**
 * The path of `entry` (a TypeScript file) bundled as one ES module, built on first use
 * and shared by later calls in this process. Packages stay external (resolved from the
 * repository's node_modules); the entry must not locate files relative to its own path.
 *
 * @example
 * ```ts
 * const child = spawn(process.execPath, [await bundledEntry(WORKER), ...args]);
 * ```
 */
export function bundledEntry(entry: string): Promise<string> {
  let bundle = bundles.get(entry);
  if (bundle === undefined) {
    const name = `${bundles.size}-${basename(entry, '.ts')}.mjs`;
    bundle = (async () => {
      const outfile = join(await bundleDir(), name);
      await build({
        entryPoints: [entry],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'error',
      });
      return outfile;
    })();
    bundles.set(entry, bundle);
  }
  return bundle;
}
