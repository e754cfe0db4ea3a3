// Child entry that runs one infrastructure server (etcd, redis-server, postgres) for the
// cluster launcher, and takes it down with the launcher: when the IPC channel closes
// (the launcher stopped, crashed or was SIGKILLed) or a SIGTERM arrives, the server gets
// its stop signal (SIGKILL after a grace period) and its throwaway data dir is removed.
// The spec comes as JSON in SHOP_GUARD_SPEC.
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { superviseChild } from './child.js';

export interface GuardSpec {
  command: string;
  args: string[];
  /** Graceful stop signal (PostgreSQL: SIGINT, a "fast" shutdown). */
  stopSignal: NodeJS.Signals;
  /** Removed once the server has exited. */
  dataDir: string;
  /** Grace period before SIGKILL. */
  stopTimeoutMs: number;
}

const spec = JSON.parse(process.env.SHOP_GUARD_SPEC ?? '') as GuardSpec;
const server = spawn(spec.command, spec.args, { stdio: ['ignore', 'inherit', 'inherit'] });
const exited = new Promise<void>((resolve) => server.once('close', () => resolve()));
const cleanUp = () => rm(spec.dataDir, { recursive: true, force: true, maxRetries: 3 });

let stopping = false;
const child = superviseChild({
  async stop() {
    stopping = true;
    if (server.exitCode === null && server.signalCode === null) {
      server.kill(spec.stopSignal);
      const force = setTimeout(() => server.kill('SIGKILL'), spec.stopTimeoutMs);
      await exited;
      clearTimeout(force);
    }
    await cleanUp();
  },
  stopTimeoutMs: spec.stopTimeoutMs + 2_000,
});

server.once('spawn', () => child.ready({ pid: server.pid }));
server.once('error', (err) => console.error(`cannot run ${spec.command}: ${err.message}`));
// The server ended on its own (a crash, a bad flag): nothing to guard any more.
void exited.then(async () => {
  if (stopping) return;
  await cleanUp();
  process.exit(server.exitCode === 0 ? 0 : 1);
});
