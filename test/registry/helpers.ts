// Waiting on a discovery without sleeping: resolve when its list satisfies `check`.
import type { Discovery, Instance } from '../../src/registry/index.js';

export function until(
  discovery: Discovery,
  check: (instances: readonly Instance[]) => boolean,
  timeoutMs = 8_000,
): Promise<readonly Instance[]> {
  return new Promise((resolve, reject) => {
    if (check(discovery.instances())) {
      resolve(discovery.instances());
      return;
    }
    const timer = setTimeout(() => {
      off();
      reject(new Error(`discovery never matched; last: ${JSON.stringify(discovery.instances())}`));
    }, timeoutMs);
    const recheck = () => {
      const instances = discovery.instances();
      if (!check(instances)) return;
      clearTimeout(timer);
      off();
      resolve(instances);
    };
    // A re-listing that finds the same instances emits only `fresh`, not `changed`, and
    // a check may look at `stale` too: re-check on both.
    const offChanged = discovery.events.on('changed', recheck);
    const offFresh = discovery.events.on('fresh', recheck);
    const off = () => {
      offChanged();
      offFresh();
    };
  });
}

export const ids = (instances: readonly Instance[]) => instances.map((i) => i.id);

/** Resolve on the next emission of `event`. */
export function nextEvent<T>(
  source: { once(event: never, listener: (payload: T) => void): () => void },
  event: string,
  timeoutMs = 8_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event`)), timeoutMs);
    source.once(event as never, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}
