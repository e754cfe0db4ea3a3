// One instance on etcd: its key under a lease of its own, the keepalive loop on the
// registry's clock, and re-registration with backoff once the lease is gone.
//
// States: `live` (lease renewed on schedule) -> `lost` (etcd said the lease is gone, or
// no keepalive succeeded for a whole TTL) -> re-grant + put with backoff -> `live`.
// `gone` is final (deregistered or registry closed).
import type { Namespace } from 'etcd3';
import { grantLease, renewLease, revokeLease, revokeQuietly } from '../core/etcd/index.js';
import {
  type Backoff,
  type Clock,
  sleep,
  type TimerHandle,
  TypedEmitter,
  withTimeout,
} from '../core/index.js';
import { RegistryClosedError } from './errors.js';
import { checkDrainMs, checkUpdate, encodeInstance, freezeInstance } from './instance.js';
import type { Instance, Registration, RegistrationEvents, RegistryEvents } from './types.js';

/** @internal Settings shared by every registration of one registry. */
export interface RegistrationSettings {
  readonly client: Namespace;
  readonly prefix: string;
  readonly leaseTtlS: number;
  readonly keepaliveMs: number;
  readonly requestTimeoutMs: number;
  readonly retry: Backoff;
  readonly clock: Clock;
  readonly events: TypedEmitter<RegistryEvents>;
}

/** @internal The key of an instance: `<prefix>/<service>/<id>`. */
export function instanceKey(prefix: string, instance: Instance): string {
  return `${prefix}/${instance.service}/${instance.id}`;
}

/** @internal */
export class EtcdRegistration implements Registration {
  readonly events = new TypedEmitter<RegistrationEvents>();
  #instance: Instance;
  #leaseId = '';
  #state: 'live' | 'lost' | 'gone' = 'live';
  /** When a keepalive (or the grant) last succeeded, on the registry clock. */
  #renewedAt = 0;
  #lostAt = 0;
  #timer: TimerHandle | undefined;
  #attempt = 0;
  #previousDelay = 0;
  readonly #settings: RegistrationSettings;
  readonly #onGone: (r: EtcdRegistration) => void;

  constructor(
    instance: Instance,
    settings: RegistrationSettings,
    onGone: (r: EtcdRegistration) => void,
  ) {
    this.#instance = instance;
    this.#settings = settings;
    this.#onGone = onGone;
  }

  get instance(): Instance {
    return this.#instance;
  }

  #bounded<T>(run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { requestTimeoutMs: timeoutMs, clock } = this.#settings;
    return withTimeout(run, { timeoutMs, clock, signal });
  }

  /** Grant a lease and write the key under it; the first registration and every re-registration. */
  async #writeUnderNewLease(signal?: AbortSignal): Promise<void> {
    const { client, leaseTtlS, prefix, clock } = this.#settings;
    const startedAt = clock.now();
    const { id: leaseId } = await this.#bounded(() => grantLease(client, leaseTtlS), signal);
    try {
      await this.#bounded(
        () =>
          client
            .put(instanceKey(prefix, this.#instance))
            .value(encodeInstance(this.#instance))
            .lease(leaseId)
            .exec(),
        signal,
      );
    } catch (error) {
      this.#revokeQuietly(leaseId);
      throw error;
    }
    if (this.#state === 'gone') {
      // Deregistered while we were writing: take the new lease (and key) away again.
      this.#revokeQuietly(leaseId);
      return;
    }
    const previous = this.#leaseId;
    this.#leaseId = leaseId;
    this.#renewedAt = startedAt;
    // After an outage the old lease may still exist; the key now belongs to the new one.
    if (previous !== '' && previous !== leaseId) this.#revokeQuietly(previous);
  }

  #revokeQuietly(leaseId: string): void {
    const { client, requestTimeoutMs, clock } = this.#settings;
    revokeQuietly(client, leaseId, requestTimeoutMs, clock);
  }

  /** First registration: errors go to the caller. */
  async start(signal?: AbortSignal): Promise<void> {
    await this.#writeUnderNewLease(signal);
    this.#scheduleRenewal();
  }

  /** Next keepalive `keepaliveMs` after the last renewal (or grant) was sent. */
  #scheduleRenewal(): void {
    const { keepaliveMs, clock } = this.#settings;
    this.#schedule(Math.max(0, keepaliveMs - (clock.now() - this.#renewedAt)));
  }

  #schedule(ms: number): void {
    if (this.#state === 'gone') return;
    this.#timer = this.#settings.clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, ms);
  }

  #retryDelay(): number {
    this.#attempt++;
    this.#previousDelay = this.#settings.retry.delayMs(this.#attempt, this.#previousDelay);
    return this.#previousDelay;
  }

  #resetRetry(): void {
    this.#attempt = 0;
    this.#previousDelay = 0;
  }

  async #tick(): Promise<void> {
    if (this.#state === 'gone') return;
    if (this.#state === 'lost') return this.#reregister();
    const { client, requestTimeoutMs, clock, leaseTtlS, keepaliveMs } = this.#settings;
    const sentAt = clock.now();
    try {
      const alive = await renewLease(client, this.#leaseId, requestTimeoutMs, clock);
      if (this.#state !== 'live') return;
      if (alive) {
        this.#renewedAt = sentAt;
        this.#resetRetry();
        this.#scheduleRenewal();
        return;
      }
      this.#lose(new Error(`etcd lease ${this.#leaseId} is gone`));
    } catch (error) {
      if (this.#state !== 'live') return;
      this.#emitError(error);
      // No renewal for a whole TTL: etcd has (or will have) dropped the key.
      if (clock.now() - this.#renewedAt >= leaseTtlS * 1_000) {
        this.#lose(error);
        return;
      }
      this.#schedule(Math.min(this.#retryDelay(), keepaliveMs));
    }
  }

  #lose(error: unknown): void {
    this.#state = 'lost';
    this.#lostAt = this.#settings.clock.now();
    this.#resetRetry();
    const payload = { service: this.#instance.service, id: this.#instance.id, error };
    this.events.emit('leaseLost', payload);
    this.#settings.events.emit('leaseLost', payload);
    void this.#reregister();
  }

  async #reregister(): Promise<void> {
    try {
      await this.#writeUnderNewLease();
    } catch (error) {
      if (this.#state !== 'lost') return;
      this.#emitError(error);
      this.#schedule(this.#retryDelay());
      return;
    }
    if (this.#state !== 'lost') return;
    this.#state = 'live';
    this.#resetRetry();
    const payload = {
      service: this.#instance.service,
      id: this.#instance.id,
      downMs: Math.max(0, this.#settings.clock.now() - this.#lostAt),
    };
    this.events.emit('reregistered', payload);
    this.#settings.events.emit('reregistered', payload);
    this.#scheduleRenewal();
  }

  #emitError(error: unknown): void {
    const payload = { service: this.#instance.service, id: this.#instance.id, error };
    this.events.emit('error', payload);
    this.#settings.events.emit('registrationError', payload);
  }

  async update(metadata: Record<string, string>, opts?: { weight?: number }): Promise<void> {
    const checked = checkUpdate(metadata, opts);
    if (this.#state === 'gone') throw new RegistryClosedError('registration');
    this.#instance = freezeInstance({
      ...this.#instance,
      metadata: checked.metadata,
      weight: checked.weight ?? this.#instance.weight,
    });
    // While lost, the re-registration writes the new value; nothing to put now.
    if (this.#state === 'lost') return;
    const { client, prefix } = this.#settings;
    await this.#bounded(() =>
      client
        .put(instanceKey(prefix, this.#instance))
        .value(encodeInstance(this.#instance))
        .lease(this.#leaseId)
        .exec(),
    );
  }

  async deregister(opts?: { drainMs?: number }): Promise<void> {
    const drainMs = checkDrainMs(opts);
    if (this.#state === 'gone') return;
    await this.leave();
    if (drainMs > 0) await sleep(drainMs, { clock: this.#settings.clock });
  }

  /**
   * Stop renewing and revoke the lease, which deletes the key. When etcd cannot be
   * reached the key stays until its lease expires (at most one TTL); that is reported
   * as an `error` event, not thrown, since nothing better can be done.
   */
  async leave(): Promise<void> {
    if (this.#state === 'gone') return;
    this.#state = 'gone';
    const { clock, client, requestTimeoutMs } = this.#settings;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    try {
      await revokeLease(client, this.#leaseId, requestTimeoutMs, clock);
    } catch (error) {
      this.#emitError(error);
    }
    this.#onGone(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.deregister();
  }
}
