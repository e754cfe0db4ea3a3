import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogTail } from './log-tail.js';
import { freePorts } from './ports.js';
import { type Killable, killAllOnExit } from './reaper.js';
import { describeExit, onStatus, type WatchdogStatus } from './watchdog-status.js';

/** How to run one kind of server; redis.ts and etcd.ts each provide one. */
export interface ServiceDefinition {
  /** Name used in errors, e.g. `redis-server`. */
  name: string;
  /** Executable to run. */
  command: string;
  /** How many free loopback ports the server needs; the first one is `port`. */
  portCount: number;
  /** Command-line arguments for these ports and this data dir. */
  args(ports: number[], dataDir: string): string[];
  /** One readiness probe; must resolve false (not hang) while the server is not ready. */
  isReady(ports: number[]): Promise<boolean>;
  /** One-time setup of a fresh data dir before the first start (e.g. initdb). */
  prepare?(dataDir: string): Promise<void>;
  /** Signal for a graceful stop. Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
}

export interface ServiceOptions {
  /** How long to wait for readiness on start and restart. Default 15 000 ms. */
  readyTimeoutMs?: number;
  /** Grace period between SIGTERM and SIGKILL on stop(). Default 5 000 ms. */
  stopTimeoutMs?: number;
  /** Extra command-line arguments appended to the defaults. */
  extraArgs?: string[];
  /** How many output lines to keep for error messages. Default 30. */
  logLines?: number;
}

/** A running (or crashed, after kill()) throwaway server. */
export interface ServiceHandle {
  readonly name: string;
  /** Main port (the client port). */
  readonly port: number;
  readonly ports: readonly number[];
  /** Throwaway data dir; removed by stop(). */
  readonly dataDir: string;
  /** Server process id while it runs. */
  readonly pid: number | undefined;
  readonly isRunning: boolean;
  /** Last output lines of the server. */
  logs(): string[];
  /** Graceful shutdown, then removes the data dir. Idempotent; the handle is done afterwards. */
  stop(): Promise<void>;
  /** SIGKILL, simulating a crash. Keeps ports and data dir for restart(). */
  kill(): Promise<void>;
  /** Stops the server if it runs and starts it again on the same ports and data dir. */
  restart(): Promise<void>;
}

/** Start failure: names the service and carries its last output lines. */
export class ServiceStartError extends Error {
  constructor(
    readonly service: string,
    reason: string,
    readonly logs: string[],
  ) {
    const tail = logs.length > 0 ? `. Last output:\n${logs.map((l) => `  ${l}`).join('\n')}` : '';
    super(`${service} ${reason}${tail}`);
    this.name = 'ServiceStartError';
  }
}

const DEFAULT_READY_TIMEOUT_MS = 15_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 25;
const PORT_ATTEMPTS = 3;
const WATCHDOG = fileURLToPath(new URL('./watchdog.mjs', import.meta.url));

/**
 * Starts a server on free loopback ports with a fresh data dir and waits until it is ready.
 * If a port was taken between picking and binding it, retries with fresh ports.
 */
export async function startService(
  definition: ServiceDefinition,
  options: ServiceOptions = {},
): Promise<ServiceHandle> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(definition.portCount);
    const dataDir = mkdtempSync(join(tmpdir(), `girder-${definition.name}-`));
    const service = new ManagedService(definition, options, ports, dataDir);
    try {
      await definition.prepare?.(dataDir);
      await service.start();
      return service;
    } catch (error) {
      await service.stop();
      const portTaken = service.logs().some((line) => /address already in use/i.test(line));
      if (!portTaken || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

/**
 * One server and its data dir. Each server process runs under its own watchdog, which
 * stays alive after the server exits (crash, kill()) until released by restart() or
 * stop(), so the data dir is never orphaned.
 */
class ManagedService implements ServiceHandle, Killable {
  private watchdog: ChildProcess | undefined;
  private serverPid: number | undefined;
  private running = false;
  private exited: Promise<WatchdogStatus> = Promise.resolve({ event: 'exit' });
  private stopped = false;
  private readonly tail: LogTail;

  constructor(
    private readonly definition: ServiceDefinition,
    private readonly options: ServiceOptions,
    readonly ports: readonly number[],
    readonly dataDir: string,
  ) {
    this.tail = new LogTail(options.logLines ?? 30);
    killAllOnExit.add(this);
  }

  get name(): string {
    return this.definition.name;
  }

  get port(): number {
    return this.ports[0]!;
  }

  get pid(): number | undefined {
    return this.serverPid;
  }

  get isRunning(): boolean {
    return this.running;
  }

  logs(): string[] {
    return this.tail.lines();
  }

  async start(): Promise<void> {
    const spec = {
      command: this.definition.command,
      args: [
        ...this.definition.args([...this.ports], this.dataDir),
        ...(this.options.extraArgs ?? []),
      ],
      cleanupDir: this.dataDir,
      stopTimeoutMs: this.stopTimeoutMs,
      stopSignal: this.definition.stopSignal,
    };
    const watchdog = spawn(process.execPath, [WATCHDOG, JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.watchdog = watchdog;
    for (const stream of watchdog.stdio) stream?.on('error', () => {});
    for (const stream of [watchdog.stdout, watchdog.stderr]) {
      stream?.on('data', (chunk: Buffer) => this.tail.push(chunk.toString()));
    }

    let onSpawn: (status: WatchdogStatus) => void = () => {};
    const spawned = new Promise<WatchdogStatus>((resolve) => {
      onSpawn = resolve;
    });
    this.exited = new Promise<WatchdogStatus>((resolve) => {
      const onGone = (status: WatchdogStatus): void => {
        this.running = false;
        this.serverPid = undefined;
        resolve(status);
      };
      onStatus(watchdog, (status) => (status.event === 'spawn' ? onSpawn : onGone)(status));
      // Only if the watchdog itself died; normally the exit status arrives first.
      watchdog.once('close', () => onGone({ event: 'exit', code: null, signal: null }));
    });

    const first = await Promise.race([spawned, this.exited]);
    if (first.event !== 'spawn') throw this.startError(describeExit(first));
    this.serverPid = first.pid;
    this.running = true;
    await this.waitUntilReady();
    // Once ready, a forgotten server must not keep the test process alive; the reaper and
    // the watchdog kill it when this process ends.
    watchdog.unref();
    for (const stream of watchdog.stdio) if (stream instanceof Socket) stream.unref();
  }

  private async waitUntilReady(): Promise<void> {
    const timeoutMs = this.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const exited = this.exited;
    let exit: WatchdogStatus | undefined;
    void exited.then((s) => {
      exit = s;
    });
    for (;;) {
      const ready = await this.definition.isReady([...this.ports]).catch(() => false);
      if (exit) throw this.startError(`${describeExit(exit)} before it was ready`);
      if (ready) return;
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        await this.kill();
        throw this.startError(`did not become ready within ${timeoutMs} ms`);
      }
      await Promise.race([delay(Math.min(POLL_INTERVAL_MS, remaining)), exited]);
    }
  }

  private startError(reason: string): ServiceStartError {
    return new ServiceStartError(this.name, `${reason} (port ${this.port})`, this.logs());
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.terminate('stop');
    await rm(this.dataDir, { recursive: true, force: true, maxRetries: 3 });
    await this.release();
    killAllOnExit.delete(this);
  }

  async kill(): Promise<void> {
    await this.terminate('kill');
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`${this.name} was stopped; start a new one`);
    await this.terminate('stop');
    await this.release();
    this.tail.clear();
    await this.start();
  }

  /**
   * Synchronous last resort for process exit and signals. The watchdog is left alive: as
   * the server's parent it reaps it (no zombie), then sees our pipe close and exits.
   */
  killNow(): void {
    if (this.serverPid !== undefined) trySignal(this.serverPid, 'SIGKILL');
    rmSync(this.dataDir, { recursive: true, force: true, maxRetries: 3 });
  }

  private get stopTimeoutMs(): number {
    return this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  }

  /** Asks the watchdog to stop or kill the server and waits until the server is gone. */
  private async terminate(command: 'stop' | 'kill'): Promise<void> {
    if (!this.running) return;
    const pid = this.serverPid;
    this.watchdog?.stdin?.write(`${command}\n`);
    // Backstop in case the watchdog is stuck; this timer also keeps the event loop alive.
    const backstop = setTimeout(() => {
      if (pid !== undefined) trySignal(pid, 'SIGKILL');
    }, this.stopTimeoutMs + 2_000);
    try {
      await this.exited;
    } finally {
      clearTimeout(backstop);
    }
  }

  /** Lets the current watchdog exit (it keeps the data dir) and waits until it has. */
  private async release(): Promise<void> {
    const watchdog = this.watchdog;
    this.watchdog = undefined;
    if (watchdog === undefined || watchdog.exitCode !== null || watchdog.signalCode !== null) {
      return;
    }
    const closed = new Promise((resolve) => watchdog.once('close', resolve));
    watchdog.stdin?.end('release\n');
    const backstop = setTimeout(() => watchdog.kill('SIGKILL'), 2_000);
    try {
      await closed;
    } finally {
      clearTimeout(backstop);
    }
  }
}

function trySignal(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
