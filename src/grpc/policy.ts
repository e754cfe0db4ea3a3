// A grpc-js 1.14 load-balancing policy around any girder Picker. The shape follows
// grpc-js's own round_robin: one pick_first leaf (LeafLoadBalancer) per endpoint keeps
// that endpoint connected and reconnects with backoff; the policy hands the girder
// picker the READY leaves and turns its choice into the leaf's pick result, with
// call-started / call-ended hooks feeding `start()` / `report()`.
import {
  type ChannelOptions,
  connectivityState,
  experimental,
  Metadata,
  status,
} from '@grpc/grpc-js';
import type { CallReport, Picker } from '../balancer/types.js';
import type { Clock } from '../core/index.js';
import type { Instance } from '../registry/types.js';
import { addressKey, INSTANCES_ATTRIBUTE } from './attributes.js';

/**
 * The instance a girder picker sees inside a grpc-js policy: the registry's instance
 * (or one made up from the address when the resolver is not girder's), plus its leaf.
 *
 * @internal
 */
export interface EndpointTarget extends Instance {
  /** The leaf balancer connected to this endpoint. */
  readonly leaf: experimental.LeafLoadBalancer;
}

/**
 * How one registered policy behaves, after option parsing.
 *
 * @internal
 */
export interface PolicySettings {
  readonly policy: string;
  readonly createPicker: (config: PolicyConfig) => Picker<EndpointTarget>;
  /** Metadata key whose value becomes `ctx.key`; undefined when the picker takes no key. */
  readonly hashHeader: string | undefined;
  readonly failureCodes: ReadonlySet<number>;
  readonly clock: Clock;
}

/**
 * A policy's config from the service config, e.g. `{ girder_hash: { hashHeader: 'x-user' } }`.
 *
 * @internal
 */
export interface PolicyConfig {
  readonly hashHeader?: string;
}

const { READY, CONNECTING, TRANSIENT_FAILURE, IDLE } = connectivityState;
const COMPLETE = experimental.PickResultType.COMPLETE;

interface Child {
  readonly key: string;
  readonly leaf: experimental.LeafLoadBalancer;
  target: EndpointTarget;
  wasReady: boolean;
}

function sameInstance(a: Instance, b: Instance): boolean {
  if (
    a.id !== b.id ||
    a.weight !== b.weight ||
    a.service !== b.service ||
    a.address !== b.address
  ) {
    return false;
  }
  const ka = Object.keys(a.metadata);
  if (ka.length !== Object.keys(b.metadata).length) return false;
  return ka.every((k) => a.metadata[k] === b.metadata[k]);
}

/** The grpc-js picker handed to the channel: the girder picker over READY leaves. */
class GirderGrpcPicker implements experimental.Picker {
  readonly #picker: Picker<EndpointTarget>;
  readonly #settings: PolicySettings;
  readonly #header: string | undefined;

  constructor(
    picker: Picker<EndpointTarget>,
    settings: PolicySettings,
    header: string | undefined,
  ) {
    this.#picker = picker;
    this.#settings = settings;
    this.#header = header;
  }

  pick(args: experimental.PickArgs): experimental.PickResult {
    let target: EndpointTarget | undefined;
    if (this.#header === undefined) {
      target = this.#picker.pick();
    } else {
      const value = args.metadata.get(this.#header)[0];
      target = this.#picker.pick(value === undefined ? undefined : { key: String(value) });
    }
    if (target === undefined) {
      return {
        pickResultType: experimental.PickResultType.TRANSIENT_FAILURE,
        subchannel: null,
        status: {
          code: status.UNAVAILABLE,
          details: `${this.#settings.policy}: no instance available`,
          metadata: new Metadata(),
        },
        onCallStarted: null,
        onCallEnded: null,
      };
    }
    const inner = target.leaf.getPicker().pick(args);
    if (inner.pickResultType !== COMPLETE) return inner;
    return new TrackedPick(inner, target, this.#picker, this.#settings);
  }
}

/** A COMPLETE pick whose hooks time the call and report it to the girder picker. */
class TrackedPick implements experimental.PickResult {
  readonly pickResultType = COMPLETE;
  readonly subchannel: experimental.PickResult['subchannel'];
  readonly status = null;
  readonly onCallStarted: () => void;
  readonly onCallEnded: (code: number, details: string, metadata: Metadata) => void;

  constructor(
    inner: experimental.PickResult,
    target: EndpointTarget,
    picker: Picker<EndpointTarget>,
    settings: PolicySettings,
  ) {
    this.subchannel = inner.subchannel;
    let startedAt = 0;
    this.onCallStarted = () => {
      startedAt = settings.clock.now();
      picker.start?.(target);
      inner.onCallStarted?.();
    };
    this.onCallEnded = (code, details, metadata) => {
      inner.onCallEnded?.(code, details, metadata);
      const report: CallReport = {
        ok: !settings.failureCodes.has(code),
        latencyMs: Math.max(0, settings.clock.now() - startedAt),
      };
      picker.report(target, report);
    };
  }
}

/**
 * The load balancer grpc-js instantiates per channel for a girder policy.
 *
 * @internal
 */
export class PickerLoadBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper;
  readonly #childHelper: experimental.ChannelControlHelper;
  readonly #settings: PolicySettings;
  readonly #configType: abstract new (
    ...args: never[]
  ) => experimental.TypedLoadBalancingConfig;
  readonly #children = new Map<string, Child>();
  #picker: Picker<EndpointTarget> | undefined;
  #header: string | undefined;
  #readyKeys = '';
  #paused = false;
  #lastError: string | null = null;
  #state: connectivityState = IDLE;

  constructor(
    helper: experimental.ChannelControlHelper,
    settings: PolicySettings,
    configType: abstract new (...args: never[]) => experimental.TypedLoadBalancingConfig,
  ) {
    this.#helper = helper;
    this.#settings = settings;
    this.#configType = configType;
    this.#childHelper = experimental.createChildChannelControlHelper(helper, {
      updateState: (_state, _picker, errorMessage) => {
        if (errorMessage) this.#lastError = errorMessage;
        this.#recompute();
      },
    });
  }

  updateAddressList(
    endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    lbConfig: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
    resolutionNote: string,
  ): boolean {
    if (!(lbConfig instanceof this.#configType)) return false;
    const config = (lbConfig as unknown as { config: PolicyConfig }).config;
    if (this.#picker === undefined) this.#picker = this.#settings.createPicker(config);
    this.#header = config.hashHeader ?? this.#settings.hashHeader;
    if (!endpoints.ok) {
      // Keep serving the endpoints we have: a failed resolution is not a dead server.
      if (this.#children.size === 0) {
        this.#publish(
          TRANSIENT_FAILURE,
          new experimental.UnavailablePicker(endpoints.error),
          endpoints.error.details,
        );
      }
      return true;
    }
    const { [INSTANCES_ATTRIBUTE]: side, ...childOptions } = options as Record<string, unknown>;
    const instances = side instanceof Map ? (side as Map<string, Instance>) : undefined;
    const seen = new Set<string>();
    const created: Child[] = [];
    this.#paused = true;
    for (const endpoint of endpoints.value) {
      const first = endpoint.addresses[0];
      if (first === undefined) continue;
      const key = addressKey(first);
      if (seen.has(key)) continue;
      seen.add(key);
      const registered = instances?.get(key);
      let child = this.#children.get(key);
      if (child === undefined) {
        const leaf = new experimental.LeafLoadBalancer(
          endpoint,
          this.#childHelper,
          childOptions,
          resolutionNote,
        );
        child = { key, leaf, target: makeTarget(key, registered, leaf), wasReady: false };
        this.#children.set(key, child);
        created.push(child);
      } else {
        child.leaf.updateEndpoint(endpoint, childOptions);
        if (registered !== undefined && !sameInstance(child.target, registered)) {
          child.target = makeTarget(key, registered, child.leaf);
          this.#readyKeys = ''; // weight or metadata changed: hand the picker the new targets
        }
      }
    }
    for (const [key, child] of this.#children) {
      if (!seen.has(key)) {
        child.leaf.destroy();
        this.#children.delete(key);
      }
    }
    for (const child of created) child.leaf.startConnecting();
    this.#paused = false;
    if (this.#children.size === 0) {
      const message = `${this.#settings.policy}: no addresses resolved${resolutionNote ? ` (${resolutionNote})` : ''}`;
      this.#picker.update([]);
      this.#readyKeys = '';
      this.#publish(
        TRANSIENT_FAILURE,
        new experimental.UnavailablePicker({ details: message }),
        message,
      );
      return true;
    }
    this.#recompute();
    return true;
  }

  exitIdle(): void {
    for (const child of this.#children.values()) {
      if (child.leaf.getConnectivityState() === IDLE) child.leaf.exitIdle();
    }
  }

  resetBackoff(): void {
    // The leaves own their backoff; grpc-js gives them no reset hook.
  }

  destroy(): void {
    for (const child of this.#children.values()) child.leaf.destroy();
    this.#children.clear();
    this.#picker?.update([]);
    this.#readyKeys = '';
  }

  getTypeName(): string {
    return this.#settings.policy;
  }

  #recompute(): void {
    if (this.#paused || this.#picker === undefined) return;
    const ready: EndpointTarget[] = [];
    let connecting = 0;
    let failing = 0;
    let lostOne = false;
    for (const child of this.#children.values()) {
      const state = child.leaf.getConnectivityState();
      if (state === READY) ready.push(child.target);
      else if (state === CONNECTING) connecting++;
      else if (state === TRANSIENT_FAILURE) failing++;
      if (child.wasReady && state !== READY) lostOne = true;
      child.wasReady = state === READY;
    }
    // A connection dropped: the server may be gone from the registry; ask the resolver
    // (it rate-limits these requests).
    if (lostOne) this.#helper.requestReresolution();
    const keys = ready.map((t) => t.address).join(',');
    if (keys !== this.#readyKeys) {
      this.#picker.update(ready);
      this.#readyKeys = keys;
    }
    if (ready.length > 0) {
      this.#publish(READY, new GirderGrpcPicker(this.#picker, this.#settings, this.#header), null);
    } else if (connecting > 0) {
      this.#publish(CONNECTING, new experimental.QueuePicker(this), null);
    } else if (failing > 0) {
      const message = `${this.#settings.policy}: no connection established; last error: ${this.#lastError}`;
      this.#publish(
        TRANSIENT_FAILURE,
        new experimental.UnavailablePicker({ details: message }),
        message,
      );
    } else {
      this.#publish(IDLE, new experimental.QueuePicker(this), null);
    }
    // Like round_robin, keep every endpoint connected.
    for (const child of this.#children.values()) {
      if (child.leaf.getConnectivityState() === IDLE) child.leaf.exitIdle();
    }
  }

  #publish(
    state: connectivityState,
    picker: experimental.Picker,
    errorMessage: string | null,
  ): void {
    this.#state = state;
    this.#helper.updateState(state, picker, errorMessage);
  }

  /** Current aggregate state (tests and debugging). */
  get state(): connectivityState {
    return this.#state;
  }
}

function makeTarget(
  key: string,
  registered: Instance | undefined,
  leaf: experimental.LeafLoadBalancer,
): EndpointTarget {
  if (registered === undefined) {
    return { service: '', id: key, address: key, metadata: {}, weight: 1, leaf };
  }
  return {
    service: registered.service,
    id: registered.id,
    address: key,
    metadata: registered.metadata,
    weight: registered.weight,
    leaf,
  };
}
