// Runs the cluster's child processes: N Node processes per role, each with its own
// environment, its output prefixed with its instance id (`[inventory#2] ...`), its pid and
// state tracked, and an IPC channel for requests (`send`) and its facts (address,
// weight). The cluster lives and dies with this process: children stop when the IPC
// channel closes (see child.ts), and `close()` / this process's exit stop them from here.
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { type InstanceFacts, isChildMessage, type RequestMessage } from './protocol.js';

/** How to start one instance of a role. */
export interface RoleDefinition {
  /** Module the child runs (an absolute path). */
  entry: string;
  /** Command-line arguments for the child. */
  args?: string[];
  /** Environment on top of this process's own. */
  env?: Record<string, string | undefined>;
}

export type InstanceState = 'starting' | 'running' | 'stopping' | 'exited';

/** One instance as the supervisor sees it (a snapshot). */
export interface InstanceInfo {
  /** `<role>#<n>`, n counting from 1 per role. */
  id: string;
  role: string;
  pid: number | undefined;
  state: InstanceState;
  /** Exit code or signal once `exited`. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** What the child last reported about itself. */
  facts: InstanceFacts;
}

export interface SupervisorOptions {
  /** Where prefixed output lines go. Default: this process's stdout. */
  output?: (line: string) => void;
  /** Node flags for the children. Default: this process's own (`process.execArgv`). */
  execArgv?: string[];
  /** How long `close()` waits after SIGTERM before SIGKILL. Default 5 000 ms. */
  stopTimeoutMs?: number;
  /** How long `send` waits for a reply. Default 5 000 ms. */
  requestTimeoutMs?: number;
}

/** Events: `exit` (an instance ended, with its info), `facts` (an instance reported new facts). */
export interface Supervisor {
  readonly events: EventEmitter<{ exit: [InstanceInfo]; facts: [InstanceInfo] }>;
  /** Starts one more instance of `role`; resolves when it reports ready, rejects if it exits first. */
  start(role: string, env?: Record<string, string | undefined>): Promise<InstanceInfo>;
  instances(): InstanceInfo[];
  instance(id: string): InstanceInfo | undefined;
  /** Sends `signal` (default SIGTERM) to an instance; false when it is not running. */
  kill(id: string, signal?: NodeJS.Signals): boolean;
  /** Resolves with the instance's exit info (at once if it already exited). */
  exited(id: string): Promise<InstanceInfo>;
  /** Sends a request over the instance's IPC channel and resolves with its reply. */
  send(id: string, body: unknown): Promise<unknown>;
  /** Stops every instance (SIGTERM, then SIGKILL after `stopTimeoutMs`). */
  close(): Promise<void>;
}

interface Instance {
  info: InstanceInfo;
  child: ChildProcess;
  exited: Promise<InstanceInfo>;
  pending: Map<number, { resolve(value: unknown): void; reject(err: Error): void }>;
  recent: string[];
}

const RECENT_LINES = 20;

export function createSupervisor(
  roles: Record<string, RoleDefinition>,
  options: SupervisorOptions = {},
): Supervisor {
  const output = options.output ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stopTimeoutMs = options.stopTimeoutMs ?? 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
  const events = new EventEmitter<{ exit: [InstanceInfo]; facts: [InstanceInfo] }>();
  const all = new Map<string, Instance>();
  const counts = new Map<string, number>();
  let nextRequest = 1;
  let closed = false;

  // Last resort: if this process exits without close() (an uncaught error, process.exit),
  // its children are killed here; if it is SIGKILLed, they see the IPC channel close.
  const killAll = () => {
    for (const { child, info } of all.values()) if (info.state !== 'exited') child.kill('SIGKILL');
  };
  process.on('exit', killAll);

  const snapshot = (instance: Instance): InstanceInfo => ({
    ...instance.info,
    facts: { ...instance.info.facts },
  });

  const find = (id: string): Instance => {
    const instance = all.get(id);
    if (instance === undefined) throw new Error(`no instance ${id}`);
    return instance;
  };

  function spawnInstance(role: string, env: Record<string, string | undefined>): Instance {
    const definition = roles[role];
    if (definition === undefined) throw new Error(`unknown role ${role}`);
    const n = (counts.get(role) ?? 0) + 1;
    counts.set(role, n);
    const id = `${role}#${n}`;
    const child = fork(definition.entry, definition.args ?? [], {
      env: { ...process.env, ...definition.env, ...env, SHOP_INSTANCE: id },
      execArgv: options.execArgv ?? process.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Its own process group: a Ctrl+C in the terminal reaches only this process, which
      // then stops the cluster in order (gateway, instances, servers), not everything at once.
      detached: true,
    });
    const instance: Instance = {
      info: {
        id,
        role,
        pid: child.pid,
        state: 'starting',
        exitCode: null,
        signal: null,
        facts: {},
      },
      child,
      exited: Promise.resolve(undefined as never),
      pending: new Map(),
      recent: [],
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
        instance.recent.push(line);
        if (instance.recent.length > RECENT_LINES) instance.recent.shift();
        output(`[${id}] ${line}`);
      });
    }
    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      if (message.cluster === 'ready' || message.cluster === 'facts') {
        Object.assign(instance.info.facts, message.facts);
        if (message.cluster === 'ready' && instance.info.state === 'starting') {
          instance.info.state = 'running';
        }
        events.emit('facts', snapshot(instance));
      } else if (message.cluster === 'reply') {
        const waiter = instance.pending.get(message.id);
        instance.pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.value);
        else waiter?.reject(new Error(`${id}: ${message.error}`));
      }
    });
    instance.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        instance.recent.push(String(err));
        // A failed spawn emits no 'exit'.
        if (child.pid === undefined) child.emit('exit', null, null);
      });
      child.once('exit', (code, signal) => {
        Object.assign(instance.info, { state: 'exited', exitCode: code, signal });
        for (const waiter of instance.pending.values()) {
          waiter.reject(new Error(`${id} exited before it replied`));
        }
        instance.pending.clear();
        const info = snapshot(instance);
        events.emit('exit', info);
        resolve(info);
      });
    });
    all.set(id, instance);
    return instance;
  }

  return {
    events,
    async start(role, env = {}) {
      if (closed) throw new Error('the supervisor is closed');
      const instance = spawnInstance(role, env);
      const ready = new Promise<InstanceInfo>((resolve) => {
        const onFacts = (info: InstanceInfo) => {
          if (info.id !== instance.info.id || info.state !== 'running') return;
          events.off('facts', onFacts);
          resolve(info);
        };
        events.on('facts', onFacts);
        void instance.exited.then(() => events.off('facts', onFacts));
      });
      const first = await Promise.race([ready, instance.exited]);
      if (first.state === 'exited') {
        const how = first.signal ?? `code ${first.exitCode}`;
        const tail = instance.recent.map((line) => `  ${line}`).join('\n');
        throw new Error(
          `${first.id} exited (${how}) before it was ready${tail ? `:\n${tail}` : ''}`,
        );
      }
      return first;
    },
    instances: () => [...all.values()].map(snapshot),
    instance: (id) => {
      const instance = all.get(id);
      return instance && snapshot(instance);
    },
    kill(id, signal = 'SIGTERM') {
      const instance = find(id);
      if (instance.info.state === 'exited') return false;
      if (signal === 'SIGTERM' || signal === 'SIGINT') instance.info.state = 'stopping';
      return instance.child.kill(signal);
    },
    exited: (id) => find(id).exited,
    send(id, body) {
      const instance = find(id);
      if (instance.info.state === 'exited' || !instance.child.connected) {
        return Promise.reject(new Error(`${id} is not running`));
      }
      const requestId = nextRequest++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          instance.pending.delete(requestId);
          reject(new Error(`${id} did not reply within ${requestTimeoutMs} ms`));
        }, requestTimeoutMs);
        instance.pending.set(requestId, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        });
        const message: RequestMessage = { cluster: 'request', id: requestId, body };
        instance.child.send(message);
      });
    },
    async close() {
      closed = true;
      const running = [...all.values()].filter(({ info }) => info.state !== 'exited');
      for (const { child, info } of running) {
        info.state = 'stopping';
        child.kill('SIGTERM');
      }
      const timer = setTimeout(killAll, stopTimeoutMs);
      await Promise.all(running.map(({ exited }) => exited));
      clearTimeout(timer);
      process.off('exit', killAll);
    },
  };
}
