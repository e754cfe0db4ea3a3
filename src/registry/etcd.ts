// `etcdRegistry`: options, the client check, and the bookkeeping of what one registry
// object registered and discovers. The lease loop is in etcd-registration.ts, the
// list-then-watch loop in etcd-discovery.ts.
import type { Etcd3, Namespace } from 'etcd3';
import { z } from 'zod';
import { checkEtcdClient } from '../core/etcd/index.js';
import {
  type Backoff,
  type Clock,
  checkSignal,
  clockSchema,
  exponential,
  parseOptions,
  systemClock,
  TypedEmitter,
  throwIfAborted,
} from '../core/index.js';
import { RegistryClosedError } from './errors.js';
import { EtcdDiscovery } from './etcd-discovery.js';
import { EtcdRegistration } from './etcd-registration.js';
import { checkService, instanceFromSpec } from './instance.js';
import type {
  Discovery,
  InstanceSpec,
  Registration,
  RegistryBackend,
  RegistryEvents,
} from './types.js';

/**
 * Options of {@link etcdRegistry}.
 *
 * @example
 * ```ts
 * import { type EtcdRegistryOptions, etcdRegistry } from 'girder/registry';
 *
 * const options: EtcdRegistryOptions = { prefix: 'shop/services', leaseTtlS: 5 };
 * const registry = etcdRegistry(etcd, options);
 * ```
 */
export interface EtcdRegistryOptions {
  /** Name for metrics and logs. Default `'registry'`. */
  name?: string;
  /**
   * Key prefix (inside the client's namespace, if any): an instance lives at
   * `<prefix>/<service>/<id>`. Default `'girder/registry'`.
   */
  prefix?: string;
  /**
   * Lease TTL in whole seconds (etcd's unit): how long a crashed or partitioned instance
   * stays listed. Default 10. etcd may raise it to its minimum (1.5 × election timeout).
   */
  leaseTtlS?: number;
  /** How often the keepalive is sent. Default a third of the TTL. Must be below the TTL. */
  keepaliveMs?: number;
  /** Longest wait for one etcd request (grant, put, range, keepalive, revoke). Default 2 000 ms. */
  requestTimeoutMs?: number;
  /**
   * Delays between re-registration attempts and between re-listings after a failure.
   * Default exponential from 100 ms to 5 s with full jitter.
   */
  retry?: Backoff;
  /** Clock for keepalives, timeouts and retries. Default `systemClock`. */
  clock?: Clock;
}

const schema = z
  .strictObject({
    name: z.string().min(1).max(256).default('registry'),
    prefix: z
      .string()
      .min(1)
      .max(512)
      .refine((p) => !p.endsWith('/'), 'must not end with "/" (one is added)')
      .default('girder/registry'),
    leaseTtlS: z.number().int().min(1).max(86_400).default(10),
    keepaliveMs: z.number().int().min(1).optional(),
    requestTimeoutMs: z.number().int().min(1).max(600_000).default(2_000),
    retry: z
      .custom<Backoff>(
        (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
        { message: 'must be a Backoff (exponential(...), constant(...))' },
      )
      .optional(),
    clock: clockSchema.default(systemClock),
  })
  .refine((o) => o.keepaliveMs === undefined || o.keepaliveMs < o.leaseTtlS * 1_000, {
    path: ['keepaliveMs'],
    message: 'must be below leaseTtlS in ms, or the lease expires between keepalives',
  });

/** @internal Where an etcd registry lives, for `workerId(registry)`. */
export const etcdSourceOf = Symbol('girder.registry.etcdSource');

/** @internal */
export interface EtcdSource {
  readonly client: Namespace;
  readonly prefix: string;
}

/** @internal */
export const defaultRegistryRetry = (): Backoff =>
  exponential({ initialMs: 100, maxMs: 5_000, jitter: 'full' });

/**
 * A {@link RegistryBackend} on etcd.
 *
 * - `register` grants a lease of `leaseTtlS` and puts the instance as JSON at
 *   `<prefix>/<service>/<id>` under it; a keepalive renews the lease every `keepaliveMs`.
 * - When etcd answers that the lease is gone, or no keepalive succeeded for a whole
 *   TTL, the registration emits `leaseLost`, then grants a new lease and writes the key
 *   again with backoff until it succeeds, and emits `reregistered`.
 * - `discover` lists the service once, then watches from the next revision. When the
 *   watch breaks (connection lost, revision compacted) it lists again and re-watches;
 *   meanwhile the last list is served, marked `stale`, and never emptied because etcd
 *   is unreachable.
 * - `deregister` revokes the lease (deleting the key) before it waits `drainMs`.
 *
 * The client stays yours: `close()` deregisters and stops watching but never closes it.
 *
 * @throws InvalidOptionsError naming each bad option.
 * @throws InvalidArgumentError when `client` is not an etcd3 client.
 *
 * @example
 * ```ts
 * import { Etcd3 } from 'etcd3';
 * import { etcdRegistry } from 'girder/registry';
 *
 * const etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
 * const registry = etcdRegistry(etcd, { prefix: 'shop/services', leaseTtlS: 5 });
 * const reg = await registry.register({ service: 'orders', address: '10.0.0.5:50051', weight: 2 });
 * reg.events.on('leaseLost', () => console.warn('lease lost, re-registering'));
 *
 * const orders = registry.discover('orders');
 * await orders.ready;
 * console.log(orders.instances());
 *
 * await reg.deregister({ drainMs: 2_000 });
 * await registry.close();
 * ```
 */
export function etcdRegistry(
  client: Etcd3 | Namespace,
  options: EtcdRegistryOptions = {},
): RegistryBackend {
  const parsed = parseOptions('etcdRegistry', schema, options);
  const namespace = checkEtcdClient(client);
  const events = new TypedEmitter<RegistryEvents>();
  const retry = parsed.retry ?? defaultRegistryRetry();
  const keepaliveMs = parsed.keepaliveMs ?? Math.floor((parsed.leaseTtlS * 1_000) / 3);
  const shared = {
    client: namespace,
    prefix: parsed.prefix,
    requestTimeoutMs: parsed.requestTimeoutMs,
    retry,
    clock: parsed.clock,
    events,
  };
  const registrations = new Set<EtcdRegistration>();
  const discoveries = new Set<EtcdDiscovery>();
  let closed = false;

  const registry: RegistryBackend = {
    kind: 'etcd',
    name: parsed.name,
    events,
    async register(spec: InstanceSpec, opts?: { signal?: AbortSignal }): Promise<Registration> {
      const signal = checkSignal(opts?.signal, 'opts.signal');
      const instance = instanceFromSpec(spec);
      throwIfAborted(signal);
      if (closed) throw new RegistryClosedError();
      const registration = new EtcdRegistration(
        instance,
        { ...shared, leaseTtlS: parsed.leaseTtlS, keepaliveMs },
        (r) => {
          registrations.delete(r);
          events.emit('deregistered', { service: r.instance.service, id: r.instance.id });
        },
      );
      await registration.start(signal);
      if (closed) {
        await registration.leave();
        throw new RegistryClosedError();
      }
      registrations.add(registration);
      events.emit('registered', { service: instance.service, id: instance.id });
      return registration;
    },
    discover(service: string): Discovery {
      const checked = checkService(service);
      if (closed) throw new RegistryClosedError();
      const discovery = new EtcdDiscovery(checked, shared, (d) => discoveries.delete(d));
      discoveries.add(discovery);
      discovery.start();
      return discovery;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await Promise.all([
        ...[...registrations].map((r) => r.leave()),
        ...[...discoveries].map((d) => d.close()),
      ]);
    },
    [Symbol.asyncDispose]() {
      return registry.close();
    },
  };
  const source: EtcdSource = { client: namespace, prefix: parsed.prefix };
  Object.defineProperty(registry, etcdSourceOf, { value: source });
  return registry;
}
