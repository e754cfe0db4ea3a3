// etcd's lock recipe: every waiter puts its own key under one directory per lock, and
// the key with the lowest create revision holds the lock. A waiter watches only the key
// created just before its own, so a release wakes exactly one waiter (no thundering
// herd) and waiters are served in arrival order. The holder's create revision is its
// fence: etcd revisions only grow, so fences strictly increase per lock, forever (as
// long as the cluster keeps its data).
import type { IKeyValue, Namespace } from 'etcd3';

/** @internal Where one lock's waiters live. */
export interface LockDir {
  /** `<prefix>/<encoded key>/`, relative to the client's namespace. */
  readonly path: string;
  /** The same with the client's namespace prefix: raw RPCs ignore namespaces. */
  readonly raw: Buffer;
  /** End of the directory's key range (exclusive). */
  readonly rawEnd: Buffer;
}

/** @internal One waiter's key: its token names it, its create revision orders it. */
export interface QueueEntry {
  readonly dir: LockDir;
  /** The raw key (namespace included). */
  readonly raw: Buffer;
  /** Create revision: the place in the queue, and the fence once it holds the lock. */
  readonly revision: number;
}

/** @internal A key ahead of ours, and the revision at which we saw it. */
interface Ahead {
  readonly raw: Buffer;
  readonly seenAt: number;
}

/**
 * @internal
 * The directory of `key` under `prefix`. The key is URI-encoded so `a` and `a/b` never
 * share a range (`/` becomes `%2F`).
 */
export function lockDir(client: Namespace, prefix: string, key: string): LockDir {
  const path = `${prefix}/${encodeURIComponent(key)}/`;
  const raw = Buffer.concat([client.prefix, Buffer.from(path)]);
  const rawEnd = Buffer.from(raw);
  // The directory ends in '/', so bumping that byte ('/' -> '0') ends the range.
  rawEnd[rawEnd.length - 1]! += 1;
  return { path, raw, rawEnd };
}

/** @internal What joining the queue found. */
export interface Joined {
  readonly entry: QueueEntry;
  /** The waiter just ahead, if any: the lock is ours when there is none. */
  readonly ahead: Ahead | undefined;
}

/**
 * @internal
 * Put our key under `leaseId` and read, in the same transaction, the key just ahead of
 * it: one round trip. Reads in a transaction see its own writes, so the two newest keys
 * of the directory are ours and our predecessor.
 */
export async function joinQueue(
  client: Namespace,
  dir: LockDir,
  token: string,
  leaseId: string,
): Promise<Joined> {
  const raw = Buffer.concat([dir.raw, Buffer.from(token)]);
  const reply = await client.kv.txn({
    success: [
      { request_put: { key: raw, value: Buffer.alloc(0), lease: leaseId } },
      {
        request_range: {
          key: dir.raw,
          range_end: dir.rawEnd,
          sort_target: 'Create',
          sort_order: 'Descend',
          limit: 2,
          keys_only: true,
        },
      },
    ],
  });
  const revision = Number(reply.header.revision);
  const kvs = reply.responses[1]?.response_range.kvs ?? [];
  const before = kvs.find((kv) => Number(kv.create_revision) < revision);
  return {
    entry: { dir, raw, revision },
    ahead: before === undefined ? undefined : { raw: before.key, seenAt: revision },
  };
}

/**
 * @internal
 * One attempt that leaves nothing behind when the lock is busy: put our key only if the
 * directory is empty (a compare over the whole range). Resolves undefined when busy.
 */
export async function enterIfFree(
  client: Namespace,
  dir: LockDir,
  token: string,
  leaseId: string,
): Promise<QueueEntry | undefined> {
  const raw = Buffer.concat([dir.raw, Buffer.from(token)]);
  const reply = await client.kv.txn({
    compare: [
      {
        key: dir.raw,
        range_end: dir.rawEnd,
        target: 'Create',
        result: 'Equal',
        create_revision: 0,
      },
    ],
    success: [{ request_put: { key: raw, value: Buffer.alloc(0), lease: leaseId } }],
    failure: [],
  });
  if (!reply.succeeded) return undefined;
  return { dir, raw, revision: Number(reply.header.revision) };
}

/** @internal Our key vanished while we waited (its lease expired): the place is lost. */
export class PlaceLostError extends Error {}

/**
 * @internal
 * Wait until no key older than ours is left. Watches only the key just ahead; when it
 * goes, looks again (a waiter ahead may have left while an older one still holds).
 * `onBusy` runs each time a key ahead is found; `bounded` wraps each request (a
 * deadline, and settling at once when the wait is stopped). Rejects with `signal.reason`
 * when `signal` aborts, and with {@link PlaceLostError} when our own key is gone.
 */
export async function waitForTurn(
  client: Namespace,
  joined: Joined,
  signal: AbortSignal,
  onBusy: () => void,
  bounded: <T>(request: () => Promise<T>) => Promise<T>,
): Promise<void> {
  const { entry } = joined;
  let ahead = joined.ahead;
  while (ahead !== undefined) {
    onBusy();
    await deletion(client, ahead, signal);
    ahead = await bounded(() => lookAhead(client, entry));
  }
}

/** The key just ahead of `entry` now, or undefined when it leads. */
async function lookAhead(client: Namespace, entry: QueueEntry): Promise<Ahead | undefined> {
  const reply = await client.kv.txn({
    success: [
      { request_range: { key: entry.raw, count_only: true } },
      {
        request_range: {
          key: entry.dir.raw,
          range_end: entry.dir.rawEnd,
          max_create_revision: entry.revision - 1,
          sort_target: 'Create',
          sort_order: 'Descend',
          limit: 1,
          keys_only: true,
        },
      },
    ],
  });
  if (Number(reply.responses[0]?.response_range.count ?? 0) === 0) {
    throw new PlaceLostError('the waiting key is gone');
  }
  const kv: IKeyValue | undefined = reply.responses[1]?.response_range.kvs[0];
  return kv === undefined ? undefined : { raw: kv.key, seenAt: Number(reply.header.revision) };
}

/**
 * Resolve once `ahead` is deleted. The watch starts just after the revision at which
 * the key was seen, so a deletion in between is replayed, never missed. A watch error
 * (e.g. that revision was compacted) resolves too: the caller looks again.
 */
function deletion(client: Namespace, ahead: Ahead, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const relative = ahead.raw.subarray(client.prefix.length);
  const watcher = client
    .watch()
    .key(relative)
    .startRevision(String(ahead.seenAt + 1))
    .only('delete')
    .watcher();
  return new Promise<void>((resolve, reject) => {
    const done = (settle: () => void) => {
      signal.removeEventListener('abort', onAbort);
      watcher.removeAllListeners();
      // Swallow a late error; cancelling is best effort (the stream may be down).
      watcher.on('error', () => {});
      watcher.cancel().catch(() => {});
      settle();
    };
    const onAbort = () => done(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    watcher.on('delete', () => done(resolve));
    watcher.on('error', () => done(resolve));
  });
}
