// registerEtcdResolver: a grpc-js 1.14 resolver over any girder Registry. Each channel
// on `<scheme>:///<service>` gets one RegistryResolver, which owns one Discovery. The
// discovery pushes changes (a watch on etcd), so resolution is a read of its cache;
// re-resolution requests from the channel (sent whenever a connection drops) are
// rate-limited so a flapping server cannot turn into a stream of listener calls.
import { type ChannelOptions, experimental, Metadata, status } from '@grpc/grpc-js';
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '../core/index.js';
import type { Discovery, Instance, Registry } from '../registry/types.js';
import { addressKey, INSTANCES_ATTRIBUTE, toSubchannelAddress } from './attributes.js';
import { unusablePolicies } from './guard.js';
import { assertSupportedGrpc } from './version.js';

const optionsSchema = z.strictObject({
  scheme: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*$/, 'must be a URI scheme (lower case letters, digits, + . -)')
    .default('etcd'),
  minResolveIntervalMs: z.number().int().min(0).max(3_600_000).default(1_000),
  checkPolicy: z.boolean().default(true),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).optional(),
});

/**
 * Options of {@link registerEtcdResolver}.
 *
 * @example
 * ```ts
 * registerEtcdResolver(registry, { scheme: 'etcd', minResolveIntervalMs: 1_000 });
 * ```
 */
export interface EtcdResolverOptions {
  /** URI scheme the resolver handles: targets look like `<scheme>:///<service>`. Default `etcd`. */
  scheme?: string;
  /**
   * Least time between two answers to the channel's re-resolution requests (grpc-js
   * asks again whenever a connection drops). Registry changes are pushed at once,
   * regardless. Default 1000.
   */
  minResolveIntervalMs?: number;
  /**
   * Refuse to resolve (calls fail with UNAVAILABLE naming the policy) when the channel's
   * service config lists load-balancing policies of which none is registered, instead of
   * letting grpc-js fall back to pick_first silently. Default true.
   */
  checkPolicy?: boolean;
  /** Clock for the rate limit. Default `systemClock`. */
  clock?: Clock;
  /** Name for events and logs. */
  name?: string;
}

/**
 * Events of the resolver handle.
 *
 * @example
 * ```ts
 * handle.events.on('resolved', ({ service, endpoints, stale }) => console.log(service, endpoints, stale));
 * ```
 */
export type EtcdResolverEvents = {
  /** Endpoints were handed to a channel. */
  resolved: {
    /** The resolver's name, when given. */
    name: string | undefined;
    /** Service resolved. */
    service: string;
    /** How many endpoints the channel got. */
    endpoints: number;
    /** True when they come from a discovery that cannot reach its backend. */
    stale: boolean;
  };
  /** The registry became unreachable; the last endpoints stay in use. */
  stale: {
    /** The resolver's name, when given. */
    name: string | undefined;
    /** Service concerned. */
    service: string;
    /** What the discovery reported. */
    error: unknown;
  };
  /** A resolution was refused: bad target, unusable policy, discovery failure, bad address. */
  error: {
    /** The resolver's name, when given. */
    name: string | undefined;
    /** Service concerned (empty for a target without one). */
    service: string;
    /** What went wrong. */
    error: Error;
  };
};

/**
 * What {@link registerEtcdResolver} returns. grpc-js has no way to unregister a scheme;
 * `close()` stops every discovery the resolver opened and makes later channels on the
 * scheme fail with UNAVAILABLE.
 *
 * @example
 * ```ts
 * await using resolver = registerEtcdResolver(registry);
 * console.log(resolver.scheme); // 'etcd'
 * ```
 */
export interface EtcdResolver extends AsyncDisposable {
  /** The scheme registered. */
  readonly scheme: string;
  /** Typed events. */
  readonly events: EventSource<EtcdResolverEvents>;
  /** Number of channels currently resolving through it. */
  readonly activeChannels: number;
  /** Stops every discovery; channels keep their last endpoints. */
  close(): Promise<void>;
}

type Settings = z.output<typeof optionsSchema>;

interface Shared {
  readonly registry: Registry;
  readonly settings: Settings;
  readonly events: TypedEmitter<EtcdResolverEvents>;
  readonly active: Set<RegistryResolver>;
  closed: boolean;
}

function unavailable(details: string) {
  return { code: status.UNAVAILABLE, details, metadata: new Metadata() };
}

/** One channel's resolver: follows one Discovery. */
class RegistryResolver implements experimental.Resolver {
  readonly #shared: Shared;
  readonly #listener: experimental.ResolverListener;
  readonly #service: string;
  readonly #channelOptions: Record<string, unknown>;
  #discovery: Discovery | undefined;
  #unsubscribe: Array<() => void> = [];
  #timer: TimerHandle | undefined;
  #lastReportAt = Number.NEGATIVE_INFINITY;
  #lastEndpoints: experimental.Endpoint[] = [];
  #lastInstances = new Map<string, Instance>();
  #destroyed = false;

  constructor(
    shared: Shared,
    target: experimental.GrpcUri,
    listener: experimental.ResolverListener,
    channelOptions: ChannelOptions,
  ) {
    this.#shared = shared;
    this.#listener = listener;
    this.#service = target.path.replace(/^\/+/, '');
    this.#channelOptions = channelOptions as Record<string, unknown>;
  }

  updateResolution(): void {
    this.#destroyed = false;
    if (this.#discovery === undefined && this.#refusal() === undefined) {
      this.#start();
      return; // the first answer follows the discovery's first listing
    }
    this.#requestReport();
  }

  destroy(): void {
    this.#destroyed = true;
    this.#stop();
    this.#shared.active.delete(this);
  }

  /** Closes the discovery (the handle is closing); the channel keeps what it has. */
  stopFollowing(): void {
    this.#stop();
  }

  #refusal(): string | undefined {
    if (this.#shared.closed)
      return `girder: the ${this.#shared.settings.scheme} resolver is closed`;
    if (this.#service === '' || this.#service.includes('/')) {
      return `girder: target must look like ${this.#shared.settings.scheme}:///<service>, got path "${this.#service}"`;
    }
    if (!this.#shared.settings.checkPolicy) return undefined;
    // Checked at every answer: a policy registered after the channel was built is fine.
    const names = unusablePolicies(this.#channelOptions);
    if (names === undefined) return undefined;
    return `girder: none of the load-balancing policies [${names.join(', ')}] in the service config is registered with @grpc/grpc-js (call registerBalancers() before creating the channel); refusing to fall back to pick_first`;
  }

  #start(): void {
    const { registry, events, active, settings } = this.#shared;
    active.add(this);
    let discovery: Discovery;
    try {
      discovery = registry.discover(this.#service);
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#discovery = discovery;
    this.#unsubscribe = [
      // Deferred: a backend may emit during discover(), inside updateResolution().
      discovery.events.on('changed', () => queueMicrotask(() => this.#report())),
      discovery.events.on('stale', ({ error }) =>
        events.emit('stale', { name: settings.name, service: this.#service, error }),
      ),
    ];
    discovery.ready.then(
      () => {
        if (this.#discovery === discovery) this.#report();
      },
      (err: unknown) => {
        if (this.#discovery === discovery)
          this.#fail(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }

  #stop(): void {
    if (this.#timer !== undefined) this.#shared.settings.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    const discovery = this.#discovery;
    this.#discovery = undefined;
    if (discovery) void discovery.close().catch(() => {});
  }

  /** Answers a re-resolution request: never synchronously, at most once per interval. */
  #requestReport(): void {
    if (this.#timer !== undefined) return;
    const { clock, minResolveIntervalMs } = this.#shared.settings;
    const wait = Math.max(0, this.#lastReportAt + minResolveIntervalMs - clock.now());
    if (wait === 0) {
      queueMicrotask(() => this.#report());
      return;
    }
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#report();
    }, wait);
  }

  #report(): void {
    if (this.#destroyed) return;
    const refusal = this.#refusal();
    if (refusal !== undefined) {
      this.#fail(new Error(refusal));
      return;
    }
    const discovery = this.#discovery;
    if (discovery === undefined) return;
    const { clock, name } = this.#shared.settings;
    this.#lastReportAt = clock.now();
    const instances = discovery.instances();
    // Discovery never empties its list because the backend is unreachable; should one
    // do so anyway, a stale empty answer must not take every endpoint away.
    if (!(instances.length === 0 && discovery.stale && this.#lastEndpoints.length > 0)) {
      this.#rebuild(instances);
    }
    const note = discovery.stale
      ? `${this.#service}: registry unreachable, serving the last known instances`
      : '';
    this.#listener(
      experimental.statusOrFromValue(this.#lastEndpoints),
      { [INSTANCES_ATTRIBUTE]: this.#lastInstances },
      null,
      note,
    );
    this.#shared.events.emit('resolved', {
      name,
      service: this.#service,
      endpoints: this.#lastEndpoints.length,
      stale: discovery.stale,
    });
  }

  #rebuild(instances: readonly Instance[]): void {
    const endpoints: experimental.Endpoint[] = [];
    const byAddress = new Map<string, Instance>();
    for (const instance of instances) {
      const address = toSubchannelAddress(instance.address);
      if (address === undefined) {
        this.#shared.events.emit('error', {
          name: this.#shared.settings.name,
          service: this.#service,
          error: new Error(
            `instance ${instance.id} has an address grpc cannot dial: "${instance.address}"`,
          ),
        });
        continue;
      }
      const key = addressKey(address);
      if (byAddress.has(key)) continue; // two registrations of one address: one endpoint
      byAddress.set(key, instance);
      endpoints.push({ addresses: [address] });
    }
    this.#lastEndpoints = endpoints;
    this.#lastInstances = byAddress;
  }

  #fail(error: Error): void {
    this.#shared.events.emit('error', {
      name: this.#shared.settings.name,
      service: this.#service,
      error,
    });
    // Not synchronously with updateResolution: grpc-js forbids it.
    queueMicrotask(() => {
      if (this.#destroyed) return;
      const failure = unavailable(error.message);
      // An errored service config makes grpc-js fail calls with our message (rather than
      // fall back to its default policy) and retry resolution with backoff.
      this.#listener(
        experimental.statusOrFromError<experimental.Endpoint[]>(failure),
        {},
        experimental.statusOrFromError(failure),
        error.message,
      );
    });
  }
}

/**
 * Registers a grpc-js resolver for `<scheme>:///<service>` targets (default scheme
 * `etcd`) on any girder {@link Registry} (`etcdRegistry`, `memoryRegistry`, ...). Each
 * channel follows the service's live discovery: instances added or removed reach the
 * channel at once; re-resolution requests are rate-limited; during a registry outage the
 * last endpoints stay in use. Each endpoint's weight, id and metadata go to girder's
 * load-balancing policies (see `registerBalancers`).
 *
 * Throws `GrpcUnsupportedError` (`GRPC_UNSUPPORTED`) when the installed @grpc/grpc-js is
 * older than 1.14. Registering the same scheme again replaces the previous resolver for
 * channels created afterwards.
 *
 * @example
 * ```ts
 * import { credentials } from '@grpc/grpc-js';
 * import { registerBalancers, registerEtcdResolver, girderChannelOptions } from 'girder/grpc';
 * import { etcdRegistry } from 'girder/registry';
 *
 * registerEtcdResolver(etcdRegistry(etcd));
 * registerBalancers();
 * const client = new OrdersClient('etcd:///orders', credentials.createInsecure(), girderChannelOptions('girder_swrr'));
 * ```
 */
export function registerEtcdResolver(
  registry: Registry,
  opts: EtcdResolverOptions = {},
): EtcdResolver {
  const settings = parseOptions('registerEtcdResolver', optionsSchema, opts);
  if (
    typeof registry !== 'object' ||
    registry === null ||
    typeof (registry as Registry).discover !== 'function'
  ) {
    throw new InvalidArgumentError('registry', 'must be a girder Registry (with discover())');
  }
  assertSupportedGrpc();
  const shared: Shared = {
    registry,
    settings,
    events: new TypedEmitter<EtcdResolverEvents>(),
    active: new Set(),
    closed: false,
  };
  class Resolver extends RegistryResolver {
    constructor(
      target: experimental.GrpcUri,
      listener: experimental.ResolverListener,
      options: ChannelOptions,
    ) {
      super(shared, target, listener, options);
    }
    static getDefaultAuthority(target: experimental.GrpcUri): string {
      return target.path.replace(/^\/+/, '');
    }
  }
  experimental.registerResolver(settings.scheme, Resolver);
  const close = async () => {
    shared.closed = true;
    for (const resolver of shared.active) resolver.stopFollowing();
    shared.active.clear();
  };
  return {
    scheme: settings.scheme,
    events: shared.events,
    get activeChannels() {
      return shared.active.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
