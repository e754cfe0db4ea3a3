import type { BusHandlers, BusMessage, CacheBus } from './types.js';

/**
 * An in-process bus: every cache given the same object hears the others' invalidations.
 * Delivery is asynchronous (a microtask later), in publish order, and never lost.
 *
 * @example
 * ```ts
 * import { cache, memoryBus } from 'girder/cache';
 *
 * const bus = memoryBus();
 * const a = cache({ bus });
 * const b = cache({ bus });
 * await a.set('k', 1); // b drops its L1 copy of 'k'
 * ```
 */
export function memoryBus(): CacheBus {
  const subscribers = new Set<BusHandlers>();
  let closed = false;
  return {
    kind: 'memory',
    publish: async (message: BusMessage) => {
      if (closed) return;
      const copy = structuredClone(message);
      await Promise.resolve();
      for (const handlers of subscribers) handlers.message(copy);
    },
    subscribe: (handlers) => {
      subscribers.add(handlers);
      return () => subscribers.delete(handlers);
    },
    close: async () => {
      closed = true;
      subscribers.clear();
    },
  };
}
