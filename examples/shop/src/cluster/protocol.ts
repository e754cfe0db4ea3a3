// The messages a supervised child and its supervisor exchange over Node's IPC channel.
// Every message carries `cluster` so stray messages (from a library in the child, say)
// are told apart.

/** What a child reports about itself: free-form facts for the banner and the ops page. */
export type InstanceFacts = Record<string, string | number | boolean | undefined>;

/** Child -> supervisor. */
export type ChildMessage =
  | { cluster: 'ready'; facts: InstanceFacts }
  | { cluster: 'facts'; facts: InstanceFacts }
  | { cluster: 'reply'; id: number; ok: true; value: unknown }
  | { cluster: 'reply'; id: number; ok: false; error: string };

/** Supervisor -> child: a request the child answers with a `reply` of the same id. */
export interface RequestMessage {
  cluster: 'request';
  id: number;
  body: unknown;
}

export function isChildMessage(message: unknown): message is ChildMessage {
  return (
    typeof message === 'object' &&
    message !== null &&
    typeof (message as { cluster?: unknown }).cluster === 'string'
  );
}

export function isRequestMessage(message: unknown): message is RequestMessage {
  return isChildMessage(message) && (message as { cluster: string }).cluster === 'request';
}
