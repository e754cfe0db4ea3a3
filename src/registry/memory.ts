// The embedded registry: one in-process table per `memoryRegistry()`. Discoveries are
// told about every change synchronously, so a test sees a registration at once.
import { z } from 'zod';
import {
  type Clock,
  checkSignal,
  clockSchema,
  parseOptions,
  sleep,
  systemClock,
  TypedEmitter,
  throwIfAborted,
} from '../core/index.js';
import { DiscoveryState } from './discovery-state.js';
import { RegistryClosedError } from './errors.js';
import {
  checkDrainMs,
  checkService,
  checkUpdate,
  freezeInstance,
  instanceFromSpec,
} from './instance.js';
import type {
  Discovery,
  Instance,
  InstanceSpec,
  Registration,
  RegistrationEvents,
  RegistryBackend,
  RegistryEvents,
} from './types.js';

/**
 * Options of {@link memoryRegistry}.
 *
 * @example
 * ```ts
 * import { type MemoryRegistryOptions, memoryRegistry } from 'girder/registry';
 *
 * const options: MemoryRegistryOptions = { name: 'local' };
 * const registry = memoryRegistry(options);
 * ```
 */
export interface MemoryRegistryOptions {
  /** Name for metrics and logs. Default `'registry'`. */
  name?: string;
  /** Clock for `deregister`'s drain wait. Default `systemClock`. */
  clock?: Clock;
  /**
   * The table to share with other memory registries (several in-process services, each
   * closing its own registry). Default: a new table of its own.
   */
  store?: MemoryRegistryStore;
}

/**
 * An in-process instance table that several {@link memoryRegistry} objects can share.
 *
 * @example
 * ```ts
 * import { memoryRegistry, memoryRegistryStore } from 'girder/registry';
 *
 * const store = memoryRegistryStore();
 * const orders = memoryRegistry({ store });
 * const gateway = memoryRegistry({ store }); // discovers what `orders` registers
 * ```
 */
export interface MemoryRegistryStore {
  /** Always `'memory-registry-store'`. */
  readonly kind: 'memory-registry-store';
}

/**
 * A new, empty {@link MemoryRegistryStore}.
 *
 * @example
 * ```ts
 * import { memoryRegistry, memoryRegistryStore } from 'girder/registry';
 *
 * const store = memoryRegistryStore();
 * const a = memoryRegistry({ store });
 * const b = memoryRegistry({ store });
 * ```
 */
export function memoryRegistryStore(): MemoryRegistryStore {
  return new MemoryTable();
}

const schema = z.strictObject({
  name: z.string().min(1).max(256).default('registry'),
  clock: clockSchema.default(systemClock),
  store: z
    .custom<MemoryRegistryStore>((v) => v instanceof MemoryTable, {
      message: 'must come from memoryRegistryStore()',
    })
    .optional(),
});

interface Slot {
  instance: Instance;
  /** The registration that wrote it: an older one's deregister leaves a newer one alone. */
  readonly owner: MemoryRegistration;
}

class MemoryRegistration implements Registration {
  readonly events = new TypedEmitter<RegistrationEvents>();
  instance: Instance;
  #gone = false;

  constructor(
    instance: Instance,
    readonly table: MemoryTable,
    readonly clock: Clock,
    readonly onGone: (registration: MemoryRegistration) => void,
  ) {
    this.instance = instance;
  }

  async update(metadata: Record<string, string>, opts?: { weight?: number }): Promise<void> {
    const checked = checkUpdate(metadata, opts);
    if (this.#gone) throw new RegistryClosedError('registration');
    this.instance = freezeInstance({
      ...this.instance,
      metadata: checked.metadata,
      weight: checked.weight ?? this.instance.weight,
    });
    this.table.put(this);
  }

  async deregister(opts?: { drainMs?: number }): Promise<void> {
    const drainMs = checkDrainMs(opts);
    if (this.#gone) return;
    this.#gone = true;
    this.onGone(this);
    this.table.remove(this);
    if (drainMs > 0) await sleep(drainMs, { clock: this.clock });
  }

  /** Leave at once, without a drain (registry close). */
  leave(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.onGone(this);
    this.table.remove(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.deregister();
  }
}

class MemoryTable implements MemoryRegistryStore {
  readonly kind = 'memory-registry-store';
  readonly services = new Map<string, Map<string, Slot>>();
  readonly discoveries = new Map<string, Set<DiscoveryState>>();

  put(owner: MemoryRegistration): void {
    const { service, id } = owner.instance;
    let slots = this.services.get(service);
    if (slots === undefined) {
      slots = new Map();
      this.services.set(service, slots);
    }
    slots.set(id, { instance: owner.instance, owner });
    for (const d of this.discoveries.get(service) ?? []) d.apply([owner.instance], []);
  }

  remove(owner: MemoryRegistration): void {
    const { service, id } = owner.instance;
    const slots = this.services.get(service);
    if (slots?.get(id)?.owner !== owner) return;
    slots.delete(id);
    if (slots.size === 0) this.services.delete(service);
    for (const d of this.discoveries.get(service) ?? []) d.apply([], [id]);
  }

  list(service: string): Instance[] {
    return [...(this.services.get(service)?.values() ?? [])].map((s) => s.instance);
  }
}

/**
 * A {@link RegistryBackend} in process memory: the embedded default and the test double
 * of `etcdRegistry`. Registrations never lose a lease (there is none), discovery is
 * never stale, and `ready` resolves at once.
 *
 * Registering an id that is already registered replaces it (last writer wins, as on
 * etcd); the older registration's `deregister` then leaves the newer entry alone.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { memoryRegistry } from 'girder/registry';
 *
 * const registry = memoryRegistry();
 * const reg = await registry.register({ service: 'orders', address: '127.0.0.1:50051', weight: 2 });
 * const discovery = registry.discover('orders');
 * await discovery.ready;
 * console.log(discovery.instances()); // [{ service: 'orders', id: ..., weight: 2, ... }]
 * await reg.deregister({ drainMs: 1_000 });
 * await registry.close();
 * ```
 */
export function memoryRegistry(options: MemoryRegistryOptions = {}): RegistryBackend {
  const parsed = parseOptions('memoryRegistry', schema, options);
  const { name, clock } = parsed;
  const table = (parsed.store as MemoryTable | undefined) ?? new MemoryTable();
  const events = new TypedEmitter<RegistryEvents>();
  const registrations = new Set<MemoryRegistration>();
  const mine = new Set<DiscoveryState>();
  const onGone = (r: MemoryRegistration) => {
    registrations.delete(r);
    events.emit('deregistered', { service: r.instance.service, id: r.instance.id });
  };
  let closed = false;

  const registry: RegistryBackend = {
    kind: 'memory',
    name,
    events,
    async register(spec: InstanceSpec, opts?: { signal?: AbortSignal }): Promise<Registration> {
      const signal = checkSignal(opts?.signal, 'opts.signal');
      const instance = instanceFromSpec(spec);
      throwIfAborted(signal);
      if (closed) throw new RegistryClosedError();
      const registration = new MemoryRegistration(instance, table, clock, onGone);
      registrations.add(registration);
      events.emit('registered', { service: instance.service, id: instance.id });
      table.put(registration);
      return registration;
    },
    discover(service: string): Discovery {
      const checked = checkService(service);
      if (closed) throw new RegistryClosedError();
      let set = table.discoveries.get(checked);
      if (set === undefined) {
        set = new Set();
        table.discoveries.set(checked, set);
      }
      const discoveries = set;
      const discovery = new DiscoveryState(checked, events, async () => {
        discoveries.delete(discovery);
        mine.delete(discovery);
      });
      discoveries.add(discovery);
      mine.add(discovery);
      discovery.replaceAll(table.list(checked));
      return discovery;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const r of [...registrations]) r.leave();
      await Promise.all([...mine].map((d) => d.close()));
    },
    [Symbol.asyncDispose]() {
      return registry.close();
    },
  };
  return registry;
}
