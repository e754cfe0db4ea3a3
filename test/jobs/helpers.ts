import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { EventMap, EventSource } from '../../src/core/index.js';

/** The next `event` whose payload passes `match` (default: any). */
export function nextEvent<E extends EventMap, K extends keyof E>(
  events: EventSource<E>,
  event: K,
  match: (payload: E[K]) => boolean = () => true,
): Promise<E[K]> {
  return new Promise((resolve) => {
    const off = events.on(event, (payload) => {
      if (!match(payload)) return;
      off();
      resolve(payload);
    });
  });
}

/** A promise with its resolve function, for jobs the test finishes by hand. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

let tables = 0;
/** A fresh table name per test. */
export const tableName = (base = 'jobs') => `${base}_${process.pid}_${++tables}`;

/** Resolves when `signal` aborts, with its reason. */
export const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });

/** Worker processes printing one JSON object per line, collected in arrival order. */
export function workerLines<L>() {
  const lines: L[] = [];
  const children: ChildProcess[] = [];
  const waiters: (() => void)[] = [];
  return {
    lines,
    children,
    /**
     * Start `script` (a bundle from `bundledEntry`, or a `.ts` file run with tsx) with
     * `args`; its stdout lines join `lines`.
     */
    spawn(script: string, args: string[]): ChildProcess {
      const entry = script.endsWith('.ts') ? ['--import', 'tsx', script] : [script];
      const child = spawn(process.execPath, [...entry, ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        lines.push(JSON.parse(line) as L);
        for (const wake of waiters.splice(0)) wake();
      });
      return child;
    },
    /** Resolves once `predicate` holds (checked after every new line). */
    async until(predicate: () => boolean): Promise<void> {
      while (!predicate()) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    killAll(): void {
      for (const child of children) child.kill('SIGKILL');
    },
  };
}
