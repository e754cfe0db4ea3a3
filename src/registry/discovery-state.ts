// The cache behind every Discovery: the instance table, the sorted snapshot that
// `instances()` returns, the stale flag and the events. Backends feed it; it decides
// whether anything changed, so listeners never hear about a no-op.
import { TypedEmitter } from '../core/index.js';
import { sameInstance } from './instance.js';
import type { Discovery, DiscoveryEvents, Instance, RegistryEvents } from './types.js';

/** @internal */
export class DiscoveryState implements Discovery {
  readonly service: string;
  readonly ready: Promise<void>;
  readonly events = new TypedEmitter<DiscoveryEvents>();
  readonly #table = new Map<string, Instance>();
  #snapshot: readonly Instance[] = Object.freeze([]);
  #stale = false;
  #closed = false;
  #markReady!: () => void;
  readonly #registryEvents: TypedEmitter<RegistryEvents>;
  readonly #onClose: () => Promise<void>;

  constructor(
    service: string,
    registryEvents: TypedEmitter<RegistryEvents>,
    onClose: () => Promise<void>,
  ) {
    this.service = service;
    this.#registryEvents = registryEvents;
    this.#onClose = onClose;
    this.ready = new Promise((resolve) => {
      this.#markReady = resolve;
    });
  }

  get stale(): boolean {
    return this.#stale;
  }

  get closed(): boolean {
    return this.#closed;
  }

  instances(): readonly Instance[] {
    return this.#snapshot;
  }

  /** Replace the whole table (a full listing); marks the discovery ready. */
  replaceAll(instances: Iterable<Instance>): void {
    if (this.#closed) return;
    const next = new Map<string, Instance>();
    for (const i of instances) next.set(i.id, i);
    let changed = next.size !== this.#table.size;
    if (!changed) {
      for (const [id, i] of next) {
        const old = this.#table.get(id);
        if (old === undefined || !sameInstance(old, i)) {
          changed = true;
          break;
        }
      }
    }
    if (changed) {
      this.#table.clear();
      for (const [id, i] of next) this.#table.set(id, i);
    }
    this.#markReady();
    if (changed) this.#publish();
  }

  /** Apply a batch of puts (instances) and deletes (ids), then publish once. */
  apply(puts: readonly Instance[], deletes: readonly string[]): void {
    if (this.#closed) return;
    let changed = false;
    for (const i of puts) {
      const old = this.#table.get(i.id);
      if (old !== undefined && sameInstance(old, i)) continue;
      this.#table.set(i.id, i);
      changed = true;
    }
    for (const id of deletes) changed = this.#table.delete(id) || changed;
    if (changed) this.#publish();
  }

  markStale(error: unknown): void {
    if (this.#closed || this.#stale) return;
    this.#stale = true;
    this.events.emit('stale', { service: this.service, error });
    this.#registryEvents.emit('stale', { service: this.service, error });
  }

  markFresh(): void {
    if (this.#closed || !this.#stale) return;
    this.#stale = false;
    this.events.emit('fresh', { service: this.service });
    this.#registryEvents.emit('fresh', { service: this.service });
  }

  #publish(): void {
    const list = [...this.#table.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#snapshot = Object.freeze(list);
    this.events.emit('changed', { service: this.service, instances: this.#snapshot });
    this.#registryEvents.emit('changed', { service: this.service, count: list.length });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A discovery closed before its first listing must not leave `await ready` hanging.
    this.#markReady();
    await this.#onClose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
