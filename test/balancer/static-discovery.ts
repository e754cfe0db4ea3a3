import { TypedEmitter } from '../../src/core/index.js';
import type { Discovery, DiscoveryEvents, Instance } from '../../src/registry/types.js';

/** A Discovery over a list the test sets, emitting `changed` like a real one. */
export function staticDiscovery(service: string, initial: Instance[]) {
  let list = initial;
  const events = new TypedEmitter<DiscoveryEvents>();
  const discovery: Discovery & { set(instances: Instance[]): void } = {
    service,
    ready: Promise.resolve(),
    stale: false,
    events,
    instances: () => list,
    set(instances) {
      list = instances;
      events.emit('changed', { service, instances });
    },
    async close() {},
    async [Symbol.asyncDispose]() {},
  };
  return discovery;
}
