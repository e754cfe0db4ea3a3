// `workerId`: lease a number in [0, 2^bits) that no other live process holds, for
// snowflake ids. On etcd each id is a key created only if absent, under a lease of its
// own; the lease is renewed like a registration's. Once the lease is gone (or could not
// be renewed for a whole TTL) the id is dropped at once and a new one leased, possibly a
// different number.
import type { Etcd3, Namespace } from 'etcd3';
import { z } from 'zod';
import {
  checkEtcdClient,
  grantLease,
  isEtcdClient,
  isLeaseGone,
  renewLease,
  revokeLease,
  revokeQuietly,
} from '../core/etcd/index.js';
import {
  type Backoff,
  type Clock,
  clockSchema,
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  type TimerHandle,
  TypedEmitter,
  withTimeout,
} from '../core/index.js';
import { NoFreeWorkerIdError, RegistryClosedError } from './errors.js';
import { defaultRegistryRetry, type EtcdSource, etcdSourceOf } from './etcd.js';
import type { RegistryBackend } from './types.js';

/**
 * Events of a {@link WorkerId}.
 *
 * @example
 * ```ts
 * worker.events.on('lost', ({ id }) => console.warn(`worker id ${id} lost; leasing another`));
 * ```
 */
export type WorkerIdEvents = {
  /** An id was leased (first time, or after a loss). */
  acquired: {
    /** The worker id. */
    id: number;
  };
  /** The id's lease is gone or could not be renewed for a whole TTL: it must not be used. */
  lost: {
    /** The worker id. */
    id: number;
    /** The underlying error. */
    error: unknown;
  };
  /** A renewal or acquisition attempt failed; it is retried. */
  error: {
    /** The underlying error. */
    error: unknown;
  };
};

/**
 * A leased worker id, from {@link workerId}.
 *
 * @example
 * ```ts
 * const worker = await workerId(etcd, { bits: 10 });
 * const ids = snowflake({ workerId: worker });
 * ```
 */
export interface WorkerId extends AsyncDisposable {
  /** The id held now. After `lost` and until `acquired` it is the old id, and `held` is false. */
  readonly id: number;
  /**
   * True while the lease is known to be valid: acquired, and renewed less than a TTL ago
   * (by the local clock, so a process whose event loop stalled past the TTL reads false
   * at once, before any keepalive reply tells it so).
   */
  readonly held: boolean;
  /** The width of the id, in bits. */
  readonly bits: number;
  /** Typed events. */
  readonly events: EventSource<WorkerIdEvents>;
  /** Stops renewing and gives the id back. */
  close(): Promise<void>;
}

/**
 * Options of {@link workerId}.
 *
 * @example
 * ```ts
 * const options: WorkerIdOptions = { bits: 10, prefix: 'shop/workers', leaseTtlS: 10 };
 * ```
 */
export interface WorkerIdOptions {
  /** Name for metrics and logs. Default `'worker-id'`. */
  name?: string;
  /** Ids are in `[0, 2^bits)`. 1 to 16. Default 10 (the classic snowflake layout). */
  bits?: number;
  /**
   * Key prefix: id `n` is the key `<prefix>/<n>`. Default `'girder/worker-id'`, or
   * `<registry prefix>/_worker-id` when given an etcd registry.
   */
  prefix?: string;
  /** Lease TTL in whole seconds: how long a crashed process keeps its id. Default 10. */
  leaseTtlS?: number;
  /** Keepalive interval. Default a third of the TTL. */
  keepaliveMs?: number;
  /** Longest wait for one etcd request. Default 2 000 ms. */
  requestTimeoutMs?: number;
  /** Delays between attempts after a failure. Default exponential 100 ms to 5 s, full jitter. */
  retry?: Backoff;
  /** Clock for keepalives and retries. Default `systemClock`. */
  clock?: Clock;
}

const schema = z
  .strictObject({
    name: z.string().min(1).max(256).default('worker-id'),
    bits: z.number().int().min(1).max(16).default(10),
    prefix: z
      .string()
      .min(1)
      .max(512)
      .refine((p) => !p.endsWith('/'), 'must not end with "/" (one is added)')
      .optional(),
    leaseTtlS: z.number().int().min(1).max(86_400).default(10),
    keepaliveMs: z.number().int().min(1).optional(),
    requestTimeoutMs: z.number().int().min(1).max(600_000).default(2_000),
    retry: z
      .custom<Backoff>(
        (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
        { message: 'must be a Backoff' },
      )
      .optional(),
    clock: clockSchema.default(systemClock),
  })
  .refine((o) => o.keepaliveMs === undefined || o.keepaliveMs < o.leaseTtlS * 1_000, {
    path: ['keepaliveMs'],
    message: 'must be below leaseTtlS in ms',
  });

type Settings = z.output<typeof schema> & { prefix: string; keepaliveMs: number; retry: Backoff };

/** Leases granted for one acquisition before its error is reported. */
const MAX_LEASE_ATTEMPTS = 3;

// Ids handed out by memory registries, per registry object.
const memoryIds = new WeakMap<RegistryBackend, Set<number>>();

/** Shuffle 0..n-1 starting from a random offset, so processes do not all race for id 0. */
function candidates(size: number, taken: Set<number>): number[] {
  const start = Math.floor(Math.random() * size);
  const list: number[] = [];
  for (let k = 0; k < size; k++) {
    const id = (start + k) % size;
    if (!taken.has(id)) list.push(id);
  }
  return list;
}

class EtcdWorkerId implements WorkerId {
  readonly events = new TypedEmitter<WorkerIdEvents>();
  id = -1;
  #held = false;
  #leaseId = '';
  #renewedAt = 0;
  #timer: TimerHandle | undefined;
  #closed = false;
  #attempt = 0;
  #previousDelay = 0;

  constructor(
    readonly client: Namespace,
    readonly settings: Settings,
  ) {}

  get bits(): number {
    return this.settings.bits;
  }

  get held(): boolean {
    const { clock, leaseTtlS } = this.settings;
    return this.#held && clock.now() - this.#renewedAt < leaseTtlS * 1_000;
  }

  #bounded<T>(run: () => Promise<T>): Promise<T> {
    const { requestTimeoutMs: timeoutMs, clock } = this.settings;
    return withTimeout(run, { timeoutMs, clock });
  }

  /**
   * One acquisition: a lease, then create-if-absent on free ids until one sticks. On a
   * loaded machine the fresh lease can expire before the create lands (etcd then refuses
   * the put: "lease not found"); that is no reason to fail, so a new lease is granted and
   * the scan continues, a few times at most.
   */
  async acquire(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#acquireUnderNewLease();
        return;
      } catch (error) {
        if (!isLeaseGone(error) || attempt >= MAX_LEASE_ATTEMPTS || this.#closed) throw error;
      }
    }
  }

  async #acquireUnderNewLease(): Promise<void> {
    const { client, settings } = this;
    const size = 2 ** settings.bits;
    const startedAt = settings.clock.now();
    const { id: leaseId } = await this.#bounded(() => grantLease(client, settings.leaseTtlS));
    try {
      const listing = await this.#bounded(() =>
        client.getAll().prefix(`${settings.prefix}/`).keys(),
      );
      const taken = new Set(listing.map((k) => Number(k.slice(settings.prefix.length + 1))));
      for (const id of candidates(size, taken)) {
        const key = `${settings.prefix}/${id}`;
        const reply = await this.#bounded(() =>
          client
            .if(key, 'Create', '==', 0)
            .then(client.put(key).value(String(id)).lease(leaseId))
            .commit(),
        );
        if (!reply.succeeded) continue;
        if (this.#closed) {
          await revokeLease(client, leaseId, settings.requestTimeoutMs, settings.clock).catch(
            () => {},
          );
          throw new RegistryClosedError('worker id');
        }
        this.id = id;
        this.#held = true;
        this.#leaseId = leaseId;
        this.#renewedAt = startedAt;
        this.#attempt = 0;
        this.#previousDelay = 0;
        this.events.emit('acquired', { id });
        this.#scheduleRenewal();
        return;
      }
      throw new NoFreeWorkerIdError(size);
    } catch (error) {
      revokeQuietly(client, leaseId, settings.requestTimeoutMs, settings.clock);
      throw error;
    }
  }

  /**
   * The next keepalive is due `keepaliveMs` after the last renewal (or the grant) was
   * sent, not after it came back: a slow round trip on a loaded machine must not eat
   * into the lease's TTL unnoticed.
   */
  #scheduleRenewal(): void {
    const { keepaliveMs, clock } = this.settings;
    this.#schedule(Math.max(0, keepaliveMs - (clock.now() - this.#renewedAt)));
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#timer = this.settings.clock.setTimeout(() => {
      this.#timer = undefined;
      void (this.#held ? this.#renew() : this.#reacquire());
    }, ms);
  }

  #retryDelay(): number {
    this.#attempt++;
    this.#previousDelay = this.settings.retry.delayMs(this.#attempt, this.#previousDelay);
    return this.#previousDelay;
  }

  async #renew(): Promise<void> {
    const { client, settings } = this;
    const sentAt = settings.clock.now();
    try {
      const alive = await renewLease(
        client,
        this.#leaseId,
        settings.requestTimeoutMs,
        settings.clock,
      );
      if (this.#closed) return;
      if (alive) {
        this.#renewedAt = sentAt;
        this.#attempt = 0;
        this.#previousDelay = 0;
        this.#scheduleRenewal();
        return;
      }
      this.#lose(new Error(`etcd lease ${this.#leaseId} is gone`));
    } catch (error) {
      if (this.#closed) return;
      this.events.emit('error', { error });
      if (settings.clock.now() - this.#renewedAt >= settings.leaseTtlS * 1_000) {
        this.#lose(error);
        return;
      }
      this.#schedule(Math.min(this.#retryDelay(), settings.keepaliveMs));
    }
  }

  #lose(error: unknown): void {
    this.#held = false;
    this.events.emit('lost', { id: this.id, error });
    this.#attempt = 0;
    this.#previousDelay = 0;
    void this.#reacquire();
  }

  async #reacquire(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.acquire();
    } catch (error) {
      if (this.#closed) return;
      this.events.emit('error', { error });
      this.#schedule(this.#retryDelay());
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.settings.clock.clearTimeout(this.#timer);
    const wasHeld = this.#held;
    this.#held = false;
    if (wasHeld) {
      await revokeLease(
        this.client,
        this.#leaseId,
        this.settings.requestTimeoutMs,
        this.settings.clock,
      ).catch((error) => this.events.emit('error', { error }));
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function memoryWorkerId(registry: RegistryBackend, bits: number): WorkerId {
  let taken = memoryIds.get(registry);
  if (taken === undefined) {
    taken = new Set();
    memoryIds.set(registry, taken);
  }
  const size = 2 ** bits;
  const [id] = candidates(size, taken);
  if (id === undefined) throw new NoFreeWorkerIdError(size);
  taken.add(id);
  const used = taken;
  let held = true;
  const worker: WorkerId = {
    id,
    get held() {
      return held;
    },
    bits,
    events: new TypedEmitter<WorkerIdEvents>(),
    async close() {
      if (!held) return;
      held = false;
      used.delete(id);
    },
    [Symbol.asyncDispose]() {
      return worker.close();
    },
  };
  return worker;
}

/**
 * Lease a worker id in `[0, 2^bits)` that no other live holder has, and keep it renewed.
 *
 * - On etcd (an etcd3 client, or an `etcdRegistry`): id `n` is the key `<prefix>/<n>`,
 *   created only if absent (one transaction) under a lease of `leaseTtlS`, renewed by a
 *   keepalive. A crashed holder's id frees once its lease expires.
 * - When the lease is gone, or no keepalive succeeded for a whole TTL, `held` turns false
 *   and `lost` fires, then another id is leased with backoff (it may be a different
 *   number) and `acquired` fires. A {@link snowflake} on this worker refuses to issue
 *   ids while `held` is false.
 * - On a `memoryRegistry` ids are unique per registry object (one process).
 *
 * @throws InvalidOptionsError naming each bad option.
 * @throws InvalidArgumentError when `source` is neither an etcd client nor a registry.
 * @throws NoFreeWorkerIdError when every id is held.
 *
 * @example
 * ```ts
 * import { Etcd3 } from 'etcd3';
 * import { snowflake, workerId } from 'girder/registry';
 *
 * const etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
 * const worker = await workerId(etcd, { bits: 10, prefix: 'shop/workers' });
 * worker.events.on('lost', ({ id }) => console.warn(`worker id ${id} lost`));
 * const ids = snowflake({ workerId: worker });
 * console.log(await ids.next());
 * await worker.close();
 * ```
 */
export async function workerId(
  source: Etcd3 | Namespace | RegistryBackend,
  options: WorkerIdOptions = {},
): Promise<WorkerId> {
  const parsed = parseOptions('workerId', schema, options);
  const fromRegistry = (source as { [etcdSourceOf]?: EtcdSource })?.[etcdSourceOf];
  let client: Namespace;
  let prefix = parsed.prefix;
  if (fromRegistry !== undefined) {
    client = fromRegistry.client;
    prefix ??= `${fromRegistry.prefix}/_worker-id`;
  } else if (isEtcdClient(source)) {
    client = checkEtcdClient(source, 'source');
  } else if ((source as RegistryBackend | null)?.kind === 'memory') {
    return memoryWorkerId(source as RegistryBackend, parsed.bits);
  } else {
    throw new InvalidArgumentError(
      'source',
      'must be an etcd3 client, an etcdRegistry or a memoryRegistry',
    );
  }
  const settings: Settings = {
    ...parsed,
    prefix: prefix ?? 'girder/worker-id',
    keepaliveMs: parsed.keepaliveMs ?? Math.floor((parsed.leaseTtlS * 1_000) / 3),
    retry: parsed.retry ?? defaultRegistryRetry(),
  };
  const worker = new EtcdWorkerId(client, settings);
  await worker.acquire();
  return worker;
}
