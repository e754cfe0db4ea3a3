// The registry contract every backend (memory, etcd) implements, and that
// girder/balancer and girder/grpc build on.
import type { EventSource } from '../core/index.js';

/**
 * What a service instance announces when it registers.
 *
 * @example
 * ```ts
 * const spec: InstanceSpec = { service: 'orders', address: '127.0.0.1:50051', weight: 3 };
 * ```
 */
export interface InstanceSpec {
  /** Service name, e.g. `orders`. */
  service: string;
  /** Unique within the service. Default: a random id. */
  id?: string;
  /** `host:port` (gRPC) or a URL (HTTP). */
  address: string;
  /** Free-form string metadata (zone, version, ...). */
  metadata?: Record<string, string>;
  /** Relative weight for weighted balancers, a positive integer. Default 1. */
  weight?: number;
}

/**
 * A registered instance, as discovery reports it.
 *
 * @example
 * ```ts
 * for (const i of discovery.instances()) console.log(i.id, i.address, i.weight);
 * ```
 */
export interface Instance {
  /** Service name. */
  readonly service: string;
  /** Unique within the service. */
  readonly id: string;
  /** `host:port` or URL. */
  readonly address: string;
  /** String metadata. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Relative weight, >= 1. */
  readonly weight: number;
}

/**
 * Events of a registration.
 *
 * @example
 * ```ts
 * registration.events.on('leaseLost', () => console.warn('re-registering'));
 * ```
 */
export type RegistrationEvents = {
  /** The lease behind the registration is gone (etcd restarted, partition longer than the TTL). */
  leaseLost: {
    /** Service name. */
    service: string;
    /** Instance id. */
    id: string;
    /** The underlying error. */
    error: unknown;
  };
  /** A new lease was granted and the instance written again. */
  reregistered: {
    /** Service name. */
    service: string;
    /** Instance id. */
    id: string;
    /** How long the instance was missing from etcd, in ms. */
    downMs: number;
  };
  /** A keepalive or re-registration attempt failed; it will be retried. */
  error: {
    /** Service name. */
    service: string;
    /** Instance id. */
    id: string;
    /** The underlying error. */
    error: unknown;
  };
};

/**
 * One instance's place in the registry.
 *
 * @example
 * ```ts
 * const reg = await registry.register({ service: 'orders', address: '127.0.0.1:50051' });
 * await reg.update({ zone: 'b' });
 * await reg.deregister({ drainMs: 2_000 });
 * ```
 */
export interface Registration extends AsyncDisposable {
  /** The instance as registered. */
  readonly instance: Instance;
  /** Replaces the metadata, and the weight when given; discovery sees the change. */
  update(metadata: Record<string, string>, opts?: { weight?: number }): Promise<void>;
  /** Leaves the registry, then waits `drainMs` (default 0) for in-flight work. */
  deregister(opts?: { drainMs?: number }): Promise<void>;
  /** Typed events. */
  readonly events: EventSource<RegistrationEvents>;
}

/**
 * Events of a discovery.
 *
 * @example
 * ```ts
 * discovery.events.on('changed', ({ instances }) => picker.update(instances));
 * ```
 */
export type DiscoveryEvents = {
  /** The instance list changed. */
  changed: {
    /** Service name. */
    service: string;
    /** The new list, sorted by id. */
    instances: readonly Instance[];
  };
  /** The backend is unreachable: the list is kept but may be out of date. */
  stale: {
    /** Service name. */
    service: string;
    /** The underlying error. */
    error: unknown;
  };
  /** The backend is reachable again and the list is fresh. */
  fresh: {
    /** Service name. */
    service: string;
  };
};

/**
 * The live instance list of one service.
 *
 * @example
 * ```ts
 * const discovery = registry.discover('orders');
 * await discovery.ready;
 * console.log(discovery.instances());
 * ```
 */
export interface Discovery extends AsyncDisposable {
  /** Service name. */
  readonly service: string;
  /** Resolves after the first full listing. */
  readonly ready: Promise<void>;
  /** The current instances, synchronously from a cache. Never emptied because the backend is unreachable. */
  instances(): readonly Instance[];
  /** True while the backend is unreachable and the list may be out of date. */
  readonly stale: boolean;
  /** Typed events. */
  readonly events: EventSource<DiscoveryEvents>;
  /** Stops watching. */
  close(): Promise<void>;
}

/**
 * A service registry. Backends: `memoryRegistry`, `etcdRegistry`.
 *
 * @example
 * ```ts
 * const registry = memoryRegistry();
 * const reg = await registry.register({ service: 'orders', address: '127.0.0.1:50051' });
 * const discovery = registry.discover('orders');
 * ```
 */
export interface Registry extends AsyncDisposable {
  /** Registers an instance (under a lease with a keepalive on etcd). */
  register(spec: InstanceSpec, opts?: { signal?: AbortSignal }): Promise<Registration>;
  /** Watches a service's instances. */
  discover(service: string): Discovery;
  /** Deregisters everything it registered and stops every discovery. */
  close(): Promise<void>;
}

/**
 * Events of a whole registry: every registration's and discovery's events in one place,
 * which `girder/observability` turns into metrics.
 *
 * @example
 * ```ts
 * registry.events.on('leaseLost', ({ service, id }) => console.warn(`${service}/${id} lost its lease`));
 * ```
 */
export type RegistryEvents = {
  /** An instance was registered through this registry. */
  registered: {
    /** Service name. */
    service: string;
    /** Instance id. */
    id: string;
  };
  /** An instance registered through this registry left it. */
  deregistered: {
    /** Service name. */
    service: string;
    /** Instance id. */
    id: string;
  };
  /** A registration's lease is gone; it re-registers by itself. */
  leaseLost: RegistrationEvents['leaseLost'];
  /** A registration was written again under a new lease. */
  reregistered: RegistrationEvents['reregistered'];
  /** A keepalive or re-registration attempt failed; it will be retried. */
  registrationError: RegistrationEvents['error'];
  /** A discovery's instance list changed; `count` is its new length. */
  changed: {
    /** Service name. */
    service: string;
    /** Number of instances now listed. */
    count: number;
  };
  /** A discovery lost the backend and serves its last list. */
  stale: DiscoveryEvents['stale'];
  /** A discovery is fresh again. */
  fresh: DiscoveryEvents['fresh'];
};

/**
 * A {@link Registry} as the girder backends return it: with its `kind`, `name` and the
 * registry-wide {@link RegistryEvents}.
 *
 * @example
 * ```ts
 * const registry: RegistryBackend = memoryRegistry({ name: 'local' });
 * console.log(registry.kind, registry.name); // 'memory' 'local'
 * ```
 */
export interface RegistryBackend extends Registry {
  /** `'memory'` or `'etcd'`. */
  readonly kind: 'memory' | 'etcd';
  /** The `name` option, for metrics and logs. */
  readonly name: string;
  /** Every registration's and discovery's events. */
  readonly events: EventSource<RegistryEvents>;
}
