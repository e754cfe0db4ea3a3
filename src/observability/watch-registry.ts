// Metrics of girder/registry: a registry's registrations (lease losses, re-registrations,
// errors) and discoveries (instance-count and stale gauges per service).
import type { EventSource } from '../core/index.js';
import type { RegistryBackend, RegistryEvents } from '../registry/index.js';
import { type Scope, subscribe } from './scope.js';
import { type Bag, isFn } from './shape.js';

/** @internal The girder/registry kinds of block. */
export type RegistryBlockKind = 'registry';

/** @internal Which girder/registry block `block` is, if any. */
export function registryKindOf(block: unknown): RegistryBlockKind | undefined {
  if (typeof block !== 'object' || block === null) return undefined;
  const b = block as Bag;
  const events = b.events as Bag | undefined;
  if (typeof events !== 'object' || events === null || !isFn(events.on)) return undefined;
  if (isFn(b.register) && isFn(b.discover) && (b.kind === 'memory' || b.kind === 'etcd')) {
    return 'registry';
  }
  return undefined;
}

/** @internal Map a registry's events to `<prefix>registry_*`. */
export function watchRegistry(scope: Scope, registry: RegistryBackend): () => void {
  const events = scope.counter(
    'registry_registration_events_total',
    'Registration events, by kind (registered, deregistered, lease_lost, reregistered, error).',
    ['kind'],
  );
  const series = (kind: string) => events.series({ kind });
  const registered = series('registered');
  const deregistered = series('deregistered');
  const leaseLost = series('lease_lost');
  const reregistered = series('reregistered');
  const errors = series('error');
  const instances = scope.gauge(
    'registry_discovery_instances',
    'Instances a discovery lists, by service.',
    ['service'],
  );
  const stale = scope.gauge(
    'registry_discovery_stale',
    'Whether a discovery serves a stale list (backend unreachable), by service: 1 or 0.',
    ['service'],
  );
  return subscribe(registry.events as EventSource<RegistryEvents>, {
    registered: () => {
      registered.value++;
    },
    deregistered: () => {
      deregistered.value++;
    },
    leaseLost: () => {
      leaseLost.value++;
    },
    reregistered: () => {
      reregistered.value++;
    },
    registrationError: () => {
      errors.value++;
    },
    changed: (e: RegistryEvents['changed']) => {
      instances.set(scope.labels({ service: e.service }), e.count);
    },
    stale: (e: RegistryEvents['stale']) => {
      stale.set(scope.labels({ service: e.service }), 1);
    },
    fresh: (e: RegistryEvents['fresh']) => {
      stale.set(scope.labels({ service: e.service }), 0);
    },
  });
}
