import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface EnsureBinaryOptions {
  /** Executable name looked up on PATH, e.g. `redis-server`. */
  command: string;
  /** Debian/Ubuntu package that provides it, e.g. `redis-server` or `etcd-server`. */
  debianPackage: string;
  /** Environment variable that points the tests at an existing server instead (named in the error). */
  alternativeEnv?: string;
  /** May we run apt-get? Default: we are root or have passwordless sudo, and apt-get exists. */
  canInstall?: boolean;
  /** Finds the executable when it is not on PATH (e.g. PostgreSQL's versioned bin dir). Default: PATH only. */
  locate?: () => string | undefined;
}

/** A required executable is missing and could not be installed. */
export class MissingBinaryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingBinaryError';
    // The message says everything; a stack trace into the harness would only bury it.
    this.stack = `${this.name}: ${message}`;
  }
}

/**
 * Makes sure `command` is on PATH, installing its Debian package when allowed, and returns
 * its path. Otherwise throws a MissingBinaryError whose message is one line saying what to install.
 */
export async function ensureBinary(options: EnsureBinaryOptions): Promise<string> {
  const find = options.locate ?? (() => findOnPath(options.command));
  const found = find();
  if (found !== undefined) return found;

  const canInstall = options.canInstall ?? canInstallPackages();
  if (!canInstall) throw new MissingBinaryError(missingBinaryMessage(options));

  process.stderr.write(
    `girder tests: ${options.command} not found, installing ${options.debianPackage} with apt-get\n`,
  );
  try {
    await aptGet(['update']);
    await aptGet(['install', '-y', '--no-install-recommends', options.debianPackage]);
  } catch (error) {
    throw new Error(
      `${missingBinaryMessage(options)} (automatic install failed: ${oneLine(error)})`,
    );
  }
  const installed = find();
  if (installed === undefined) {
    throw new MissingBinaryError(
      `${missingBinaryMessage(options)} (installed ${options.debianPackage} but ${options.command} is still not on PATH)`,
    );
  }
  return installed;
}

export function missingBinaryMessage(options: EnsureBinaryOptions): string {
  const alternative =
    options.alternativeEnv === undefined
      ? ''
      : ` or set ${options.alternativeEnv} to an existing server`;
  return `girder tests need ${options.command}: install it with "sudo apt-get install ${options.debianPackage}" (Debian/Ubuntu)${alternative}`;
}

/** Absolute path of an executable `command` on PATH, or undefined. */
export function findOnPath(command: string): string | undefined {
  const candidates = command.includes('/')
    ? [command]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  return candidates.find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const isRoot = (): boolean => process.getuid?.() === 0;

function canInstallPackages(): boolean {
  if (findOnPath('apt-get') === undefined) return false;
  if (isRoot()) return true;
  if (findOnPath('sudo') === undefined) return false;
  // -n: fail instead of prompting, so a password-protected sudo means "not allowed".
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0;
}

let aptUpdate: Promise<void> | undefined;

/** Runs apt-get non-interactively (through `sudo -n` unless root); `update` runs once per process. */
function aptGet(args: string[]): Promise<void> {
  if (args[0] === 'update') {
    aptUpdate ??= runAptGet(args);
    return aptUpdate;
  }
  return runAptGet(args);
}

function runAptGet(args: string[]): Promise<void> {
  // sudo drops most of the environment, so DEBIAN_FRONTEND goes through `env`.
  const argv = ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', ...args];
  const [command, ...rest] = isRoot() ? argv : ['sudo', '-n', ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4_000);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`apt-get ${args[0]} exited with ${code}: ${lastLine(output)}`));
    });
  });
}

function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  );
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').trim();
}
