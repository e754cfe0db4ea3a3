// The child's side of supervision: answer the supervisor's requests, report facts, and
// go down with the parent. When the IPC channel closes (the parent stopped, crashed or
// was SIGKILLed: the kernel closes its end either way) the child stops itself, so no
// instance outlives the cluster that started it.
import {
  type ChildMessage,
  type InstanceFacts,
  isRequestMessage,
  type RequestMessage,
} from './protocol.js';

export interface ChildOptions {
  /** Answers a request from the supervisor (e.g. "set weight"); its result goes back as the reply. */
  onRequest?: (body: unknown) => unknown;
  /** Graceful stop: runs when the parent goes away or a SIGTERM/SIGINT arrives. */
  stop: () => Promise<void> | void;
  /** How long `stop` may take before the process exits anyway. Default 5 000 ms. */
  stopTimeoutMs?: number;
}

export interface SupervisedChild {
  /** True when this process was started by a supervisor (it has an IPC channel). */
  readonly supervised: boolean;
  /** Tells the supervisor this instance is serving, with facts for its banner. */
  ready(facts: InstanceFacts): void;
  /** Updates the facts the supervisor shows (e.g. a new weight). */
  facts(facts: InstanceFacts): void;
}

export function superviseChild(options: ChildOptions): SupervisedChild {
  const post = (message: ChildMessage) => {
    if (process.connected) process.send?.(message);
  };
  let stopping = false;
  const shutdown = (code: number) => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(code), options.stopTimeoutMs ?? 5_000);
    force.unref();
    Promise.resolve()
      .then(options.stop)
      .then(
        () => process.exit(code),
        (err: unknown) => {
          console.error('error while stopping:', err);
          process.exit(1);
        },
      );
  };
  process.on('disconnect', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  process.on('SIGINT', () => shutdown(0));
  process.on('message', (message: unknown) => {
    if (!isRequestMessage(message)) return;
    void answer(message);
  });
  const answer = async ({ id, body }: RequestMessage) => {
    try {
      const value = await options.onRequest?.(body);
      post({ cluster: 'reply', id, ok: true, value: value ?? null });
    } catch (err) {
      post({ cluster: 'reply', id, ok: false, error: (err as Error)?.message ?? String(err) });
    }
  };
  return {
    supervised: typeof process.send === 'function',
    ready: (facts) => post({ cluster: 'ready', facts }),
    facts: (facts) => post({ cluster: 'facts', facts }),
  };
}
