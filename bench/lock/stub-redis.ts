/**
 * Diagnostic only: an in-process stand-in for an ioredis client that answers every
 * EVALSHA with 1 in batches (one `setImmediate` per batch, like replies arriving in one
 * socket read). Subtracting the bare loop's CPU from girder's on it leaves girder's own
 * cost per operation, free of the network stack and of ioredis, which on a loaded
 * machine are the noisiest part of a real run.
 */
type Resolve = (reply: unknown) => void;

export class StubRedis {
  readonly status = 'ready';
  #batch: Resolve[] = [];
  readonly #flush = () => {
    const batch = this.#batch;
    this.#batch = [];
    for (const resolve of batch) resolve(1);
  };

  evalsha(_sha: string, ..._args: (string | number)[]): Promise<unknown> {
    return new Promise((resolve) => {
      if (this.#batch.push(resolve) === 1) setImmediate(this.#flush);
    });
  }

  call(command: string, ..._args: (string | number)[]): Promise<unknown> {
    if (command === 'TIME') {
      const ms = Date.now();
      return Promise.resolve([String(Math.floor(ms / 1000)), String((ms % 1000) * 1000)]);
    }
    return this.evalsha('');
  }
}
