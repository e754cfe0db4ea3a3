// The bookkeeping `watch` shares between metrics and tracing: one subscription per
// (block, name), reference-counted, so watching a block twice under one name does not
// count (or trace) it twice, and it stops only when every returned function was called.

interface Held {
  count: number;
  readonly stop: () => void;
}

/** @internal The live watches of one `metrics()` or `tracing()`. */
export class WatchSet {
  readonly #held = new WeakMap<object, Map<string, Held>>();
  readonly #all = new Set<() => void>();

  /** Start (or share) the watch of `block` under `name`; returns its release function. */
  add(block: object, name: string, start: () => () => void): () => void {
    let byName = this.#held.get(block);
    if (byName === undefined) {
      byName = new Map();
      this.#held.set(block, byName);
    }
    let entry = byName.get(name);
    if (entry === undefined) {
      const stop = start();
      const names = byName;
      const held: Held = {
        count: 0,
        stop: () => {
          names.delete(name);
          this.#all.delete(held.stop);
          stop();
        },
      };
      entry = held;
      byName.set(name, held);
      this.#all.add(held.stop);
    }
    entry.count++;
    const current = entry;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--current.count === 0) current.stop();
    };
  }

  /** Stop every watch at once. */
  clear(): void {
    for (const stop of [...this.#all]) stop();
  }
}
