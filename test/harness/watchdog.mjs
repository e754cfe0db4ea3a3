// Runs one server process on behalf of a test process and makes sure neither the server
// nor its data dir outlives that process.
//
// Started by service.ts as `node watchdog.mjs <json spec>` with these file descriptors:
//   0  lifeline from the parent. Lines "stop", "kill" and "release" are commands.
//      End-of-file without "release" means the parent died (even by SIGKILL): the server
//      is killed and its data dir removed.
//   1,2  inherited by the server, so the parent reads the server's own output.
//   3  status to the parent: one JSON object per line ({event: "spawn" | "exit" | "error"}).
// The watchdog outlives its server (e.g. after a simulated crash) until the parent releases
// it, so a data dir kept for restart() is still cleaned up if the parent dies meanwhile.
// Plain JavaScript on purpose: it runs with process.execPath, without a TypeScript loader.
import { spawn } from 'node:child_process';
import { rmSync, writeSync } from 'node:fs';

const spec = JSON.parse(process.argv[2] ?? '{}');
const stopTimeoutMs = spec.stopTimeoutMs ?? 5_000;
let serverGone = false;
let afterServerGone = () => {};

function report(status) {
  try {
    writeSync(3, `${JSON.stringify(status)}\n`);
  } catch {
    // The parent is gone; nobody is listening.
  }
}

const server = spawn(spec.command, spec.args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (server.pid !== undefined) report({ event: 'spawn', pid: server.pid });

function onServerGone(status) {
  if (serverGone) return;
  serverGone = true;
  report(status);
  afterServerGone();
}
server.once('error', (error) => onServerGone({ event: 'error', message: error.message }));
server.once('exit', (code, signal) => onServerGone({ event: 'exit', code, signal }));

/** Runs `then` once the server has exited, killing it first if needed. */
function whenServerGone(then) {
  afterServerGone = then;
  if (serverGone) then();
  else server.kill('SIGKILL');
}

let stopping = false;
function stopGracefully() {
  if (stopping || serverGone) return;
  stopping = true;
  server.kill(spec.stopSignal ?? 'SIGTERM');
  setTimeout(() => server.kill('SIGKILL'), stopTimeoutMs).unref();
}

let released = false;
function release() {
  released = true;
  whenServerGone(() => process.exit(0));
}

function onParentGone() {
  if (released) return;
  whenServerGone(() => {
    if (spec.cleanupDir) rmSync(spec.cleanupDir, { recursive: true, force: true, maxRetries: 3 });
    process.exit(0);
  });
}

let pending = '';
process.stdin.on('data', (chunk) => {
  pending += chunk.toString();
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    if (line === 'stop') stopGracefully();
    else if (line === 'kill' && !serverGone) server.kill('SIGKILL');
    else if (line === 'release') release();
  }
});
process.stdin.once('end', onParentGone);
process.stdin.once('error', onParentGone);

// Ctrl-C reaches the whole process group: stop the server, then wait for the parent to
// release us or die, as always.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stopGracefully);
