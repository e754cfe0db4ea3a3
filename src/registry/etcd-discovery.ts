// Discovery on etcd: list the service's keys once, then watch from the listing's
// revision + 1, so no change between the two is missed. Whenever the watch breaks
// (connection lost, or etcd compacted the revision we need), we drop it, list again and
// watch again: one recovery path for every failure. Until a listing succeeds the last
// list is served and marked stale; it is never emptied because etcd is unreachable.
import type { IKeyValue, IWatchResponse, Namespace, Watcher } from 'etcd3';
import {
  type Backoff,
  type Clock,
  type TimerHandle,
  type TypedEmitter,
  withTimeout,
} from '../core/index.js';
import { DiscoveryState } from './discovery-state.js';
import { decodeInstance } from './instance.js';
import type { Instance, RegistryEvents } from './types.js';

/** @internal Settings shared by every discovery of one registry. */
export interface DiscoverySettings {
  readonly client: Namespace;
  readonly prefix: string;
  readonly requestTimeoutMs: number;
  readonly retry: Backoff;
  readonly clock: Clock;
  readonly events: TypedEmitter<RegistryEvents>;
}

/** @internal */
export class EtcdDiscovery extends DiscoveryState {
  readonly #settings: DiscoverySettings;
  readonly #dir: string;
  #watcher: Watcher | undefined;
  #timer: TimerHandle | undefined;
  #attempt = 0;
  #previousDelay = 0;
  #syncing = false;

  constructor(service: string, settings: DiscoverySettings, onClose: (d: EtcdDiscovery) => void) {
    super(service, settings.events, async () => {
      this.#stopWatching();
      if (this.#timer !== undefined) settings.clock.clearTimeout(this.#timer);
      onClose(this);
    });
    this.#settings = settings;
    this.#dir = `${settings.prefix}/${service}/`;
  }

  /** Start the first listing (the constructor does not, so `ready` has a listener first). */
  start(): void {
    void this.#sync();
  }

  #instanceOf(kv: IKeyValue): Instance | undefined {
    const key = kv.key.toString();
    if (!key.startsWith(this.#dir)) return undefined;
    const id = key.slice(this.#dir.length);
    if (id === '' || id.includes('/')) return undefined;
    return decodeInstance(this.service, id, kv.value.toString());
  }

  async #sync(): Promise<void> {
    if (this.closed || this.#syncing) return;
    this.#syncing = true;
    this.#stopWatching();
    const { client, requestTimeoutMs: timeoutMs, clock } = this.#settings;
    try {
      const reply = await withTimeout(() => client.getAll().prefix(this.#dir).exec(), {
        timeoutMs,
        clock,
      });
      if (this.closed) return;
      const instances: Instance[] = [];
      for (const kv of reply.kvs) {
        const instance = this.#instanceOf(kv);
        if (instance !== undefined) instances.push(instance);
      }
      this.replaceAll(instances);
      this.#watchFrom(BigInt(reply.header.revision) + 1n);
      this.#attempt = 0;
      this.#previousDelay = 0;
      this.markFresh();
    } catch (error) {
      if (this.closed) return;
      this.markStale(error);
      this.#retryLater();
    } finally {
      this.#syncing = false;
    }
  }

  #retryLater(): void {
    this.#attempt++;
    this.#previousDelay = this.#settings.retry.delayMs(this.#attempt, this.#previousDelay);
    this.#timer = this.#settings.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#sync();
    }, this.#previousDelay);
  }

  #watchFrom(revision: bigint): void {
    const watcher = this.#settings.client
      .watch()
      .prefix(this.#dir)
      .startRevision(revision.toString())
      .watcher();
    this.#watcher = watcher;
    watcher.on('data', (response: IWatchResponse) => {
      if (this.#watcher !== watcher) return;
      const puts: Instance[] = [];
      const deletes: string[] = [];
      for (const event of response.events) {
        const key = event.kv.key.toString();
        if (!key.startsWith(this.#dir)) continue;
        if (event.type === 'Delete') deletes.push(key.slice(this.#dir.length));
        else {
          const instance = this.#instanceOf(event.kv);
          // A value that is not an instance hides nothing: drop any previous one.
          if (instance === undefined) deletes.push(key.slice(this.#dir.length));
          else puts.push(instance);
        }
      }
      this.apply(puts, deletes);
    });
    // Lost connection: serve the last list as stale, list again when etcd answers.
    watcher.on('disconnected', (error: unknown) => {
      if (this.#watcher !== watcher) return;
      this.markStale(error);
      this.#stopWatching();
      this.#retryLater();
    });
    // Canceled by etcd (typically: the revision we resume from was compacted away):
    // a fresh listing is the only way to be sure of the state.
    watcher.on('error', () => {
      if (this.#watcher !== watcher) return;
      this.#stopWatching();
      void this.#sync();
    });
  }

  #stopWatching(): void {
    const watcher = this.#watcher;
    if (watcher === undefined) return;
    this.#watcher = undefined;
    watcher.cancel().catch(() => {});
  }
}
