// Manual isolation: a count of holds, each released once through its own handle.
import type { IsolationHandle } from './types.js';

/**
 * The isolations held on one breaker. `hold()` says whether it is the first (the
 * breaker becomes isolated); the last release calls `onLastRelease`.
 *
 * @internal
 */
export class Isolations {
  #held = 0;
  readonly #onLastRelease: () => void;

  constructor(onLastRelease: () => void) {
    this.#onLastRelease = onLastRelease;
  }

  /** Take one more hold; true when it is the first. */
  hold(): boolean {
    return this.#held++ === 0;
  }

  /** A handle releasing one hold, idempotently. */
  handle(): IsolationHandle {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (--this.#held === 0) this.#onLastRelease();
      },
      get released() {
        return released;
      },
    };
  }
}
