// Builds what the shop runs on, when it is out of date: the library's `dist/` (girder's
// own tsup config, JavaScript only: running needs no .d.ts, and `npm run build` still
// makes the full package) and the shop itself, file by file, into examples/shop/dist/.
// "Out of date" = a source file is newer than the oldest output it feeds. Two builds
// started at once (two terminals, parallel tests) take turns on a lock directory.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SHOP_SRC = join(ROOT, 'examples/shop/src');
export const SHOP_DIST = join(ROOT, 'examples/shop/dist');
export const SHOP_MAIN = join(SHOP_DIST, 'main.js');
const LIB_DIST = join(ROOT, 'dist');
const LOCK = join(ROOT, '.tmp/shop-build.lock');

/** Newest modification time (ms) of any file under `path` (a file or a directory); 0 if none. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = stat.mtimeMs; // a deleted or renamed file changes its directory's time
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

/** Modification time of `path`, or -Infinity when it does not exist. */
function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Number.NEGATIVE_INFINITY;
  }
}

/** The library's entry files (one per `exports` subpath), as the shop imports them. */
function libraryEntries() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return Object.keys(pkg.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => join(LIB_DIST, subpath.slice(2), 'index.js'));
}

export function libraryIsStale() {
  const built = Math.min(...libraryEntries().map(mtime));
  const sources = Math.max(
    newest(join(ROOT, 'src')),
    newest(join(ROOT, 'package.json')),
    newest(join(ROOT, 'tsup.config.ts')),
  );
  return sources > built;
}

export function shopIsStale() {
  return newest(SHOP_SRC) > mtime(SHOP_MAIN);
}

function pidIsAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Takes the build lock, waiting for another process's build; a dead holder's lock is taken over. */
async function lock() {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return () => rmSync(LOCK, { recursive: true, force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    } catch {}
    // No pid yet: the holder is between mkdir and write; give it a moment.
    if (Number.isInteger(holder) && holder > 0 && !pidIsAlive(holder)) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * Builds the library and the shop if their sources changed since the last build.
 * `log` receives one line per build step. Resolves to what was built.
 */
export async function buildShop({ log = (line) => console.log(line) } = {}) {
  if (!libraryIsStale() && !shopIsStale()) return { library: false, shop: false };
  const unlock = await lock();
  try {
    // Checked again under the lock: another process may just have built it.
    const library = libraryIsStale();
    const shop = shopIsStale();
    if (!library && !shop) return { library, shop };
    const { build } = await import('tsup');
    const previousCwd = process.cwd();
    process.chdir(ROOT); // tsup.config.ts names its entries relative to the root
    try {
      if (library) {
        log('building girder (dist/) ...');
        await build({ config: join(ROOT, 'tsup.config.ts'), dts: false, silent: true });
      }
      if (shop) {
        log('building the shop (examples/shop/dist/) ...');
        await build({
          config: false,
          entry: ['examples/shop/src/**/*.ts'],
          outDir: 'examples/shop/dist',
          // One output file per source file, so paths relative to a module
          // (`../../public`, `../.data`) mean the same from dist/ as from src/.
          bundle: false,
          format: ['esm'],
          platform: 'node',
          target: 'node20',
          sourcemap: true,
          clean: true,
          silent: true,
        });
      }
    } finally {
      process.chdir(previousCwd);
    }
    return { library, shop };
  } finally {
    unlock();
  }
}
