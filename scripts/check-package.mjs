// Pack the package as npm would publish it, then lint the tarball offline with
// publint (package.json / exports correctness) and @arethetypeswrong/cli (types
// resolve for ESM and CJS consumers under node16 resolution).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const outDir = '.tmp/pack';
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const run = (cmd, args) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', outDir]));
const tarball = join(outDir, packed[0].filename);
console.log(
  `packed ${tarball} (${packed[0].entryCount} files, ${(packed[0].size / 1024).toFixed(1)} KiB)`,
);

// node10 resolution predates `exports` subpaths; girder supports Node >= 20 only.
execFileSync('npx', ['publint', 'run', tarball, '--strict'], { stdio: 'inherit' });
execFileSync('npx', ['attw', tarball, '--profile', 'node16'], { stdio: 'inherit' });
