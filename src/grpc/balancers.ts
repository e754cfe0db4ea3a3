// registerBalancers / registerPickerPolicy: turn girder pickers into grpc-js policies
// selected by service config (`loadBalancingConfig: [{ girder_swrr: {} }]`).
import { experimental, status } from '@grpc/grpc-js';
import { z } from 'zod';
import * as balancer from '../balancer/index.js';
import type { Picker } from '../balancer/types.js';
import {
  clockSchema,
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type { Instance } from '../registry/types.js';
import {
  type EndpointTarget,
  PickerLoadBalancer,
  type PolicyConfig,
  type PolicySettings,
} from './policy.js';
import { assertSupportedGrpc } from './version.js';

/** Status codes that count as the server's failure by default (CANCELLED, a caller's choice, does not). */
const DEFAULT_FAILURE_CODES = [
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
];

/**
 * Default metadata key read for hash-keyed policies (`girder_hash`).
 *
 * @example
 * ```ts
 * const metadata = new Metadata();
 * metadata.set(DEFAULT_HASH_HEADER, `cart:${userId}`);
 * ```
 */
export const DEFAULT_HASH_HEADER = 'x-girder-hash-key';

const POLICY_NAME = /^[a-z][a-z0-9_]*$/;
const headerSchema = z
  .string()
  .regex(/^[0-9a-z_.-]+$/, 'must be a lower-case gRPC metadata key')
  .refine((h) => !h.endsWith('-bin'), 'must not be a binary (-bin) key');

const commonSchema = {
  hashHeader: headerSchema.default(DEFAULT_HASH_HEADER),
  failureCodes: z.array(z.number().int().min(0).max(16)).min(1).optional(),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).optional(),
};

/**
 * Events of a policy registration.
 *
 * @example
 * ```ts
 * balancers.events.on('pickerCreated', ({ policy, picker }) => pickers.set(policy, picker));
 * ```
 */
export type BalancerPolicyEvents = {
  /** A channel started using the policy and got its own picker (one per channel). */
  pickerCreated: {
    /** The registration's name, when given. */
    name: string | undefined;
    /** Policy name, e.g. `girder_swrr`. */
    policy: string;
    /** The channel's picker: read its `stats()`, watch its `events`. */
    picker: Picker<Instance>;
  };
};

/**
 * What {@link registerBalancers} and {@link registerPickerPolicy} return.
 *
 * @example
 * ```ts
 * const balancers = registerBalancers();
 * console.log(balancers.policies); // ['girder_swrr', 'girder_rr', ...]
 * ```
 */
export interface BalancerPolicies {
  /** The policy names registered with grpc-js. */
  readonly policies: readonly string[];
  /** Typed events. */
  readonly events: EventSource<BalancerPolicyEvents>;
}

const pickerPolicySchema = z.strictObject({
  keyed: z.boolean().default(false),
  ...commonSchema,
});

/**
 * Options of {@link registerPickerPolicy}.
 *
 * @example
 * ```ts
 * registerPickerPolicy('my_policy', () => myPicker(), { keyed: true, hashHeader: 'x-user-id' });
 * ```
 */
export interface PickerPolicyOptions {
  /** The picker uses `ctx.key`: read it from the `hashHeader` metadata of each call. Default false. */
  keyed?: boolean;
  /** Metadata key holding the affinity key for keyed pickers. Default `x-girder-hash-key`. A service config may override it per channel with `{ policy: { hashHeader } }`. */
  hashHeader?: string;
  /** gRPC status codes reported to the picker as failures. Default UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, DATA_LOSS. */
  failureCodes?: number[];
  /** Clock timing each call for `report()`. Default `systemClock`. */
  clock?: import('../core/index.js').Clock;
  /** Name for events. */
  name?: string;
}

interface Registration {
  policy: string;
  create: () => Picker<EndpointTarget>;
  keyed: boolean;
}

function register(
  registrations: Registration[],
  settings: z.output<typeof pickerPolicySchema>,
): BalancerPolicies {
  assertSupportedGrpc();
  const events = new TypedEmitter<BalancerPolicyEvents>();
  const failureCodes = new Set(settings.failureCodes ?? DEFAULT_FAILURE_CODES);
  for (const { policy, create, keyed } of registrations) {
    const configSchema = keyed
      ? z.strictObject({ hashHeader: headerSchema.optional() })
      : z.strictObject({});
    class Config implements experimental.TypedLoadBalancingConfig {
      readonly config: PolicyConfig;
      constructor(config: PolicyConfig) {
        this.config = config;
      }
      getLoadBalancerName(): string {
        return policy;
      }
      toJsonObject(): object {
        return { [policy]: { ...this.config } };
      }
      static createFromJson(obj: unknown): Config {
        const parsed = configSchema.safeParse(obj ?? {});
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw new Error(
            `invalid config: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
          );
        }
        return new Config(parsed.data);
      }
    }
    const policySettings: PolicySettings = {
      policy,
      createPicker: () => {
        const picker = create();
        events.emit('pickerCreated', {
          name: settings.name,
          policy,
          picker: picker as Picker<Instance>,
        });
        return picker;
      },
      hashHeader: keyed ? settings.hashHeader : undefined,
      failureCodes,
      clock: settings.clock,
    };
    class Balancer extends PickerLoadBalancer {
      constructor(helper: experimental.ChannelControlHelper) {
        super(helper, policySettings, Config);
      }
    }
    experimental.registerLoadBalancerType(policy, Balancer, Config);
  }
  return { policies: registrations.map((r) => r.policy), events };
}

/**
 * Registers any {@link Picker} factory as a grpc-js load-balancing policy. The factory
 * is called once per channel; the picker sees the channel's READY endpoints (with the
 * weight, id and metadata the girder resolver found in the registry) and gets
 * `start()`/`report()` for every call it routed. Throws `GrpcUnsupportedError` on a
 * grpc-js older than 1.14.
 *
 * @example
 * ```ts
 * import { smoothWeightedRoundRobin } from 'girder/balancer';
 *
 * registerPickerPolicy('orders_swrr', () => smoothWeightedRoundRobin({ failurePenalty: 0.3 }));
 * const options = girderChannelOptions('orders_swrr');
 * ```
 */
export function registerPickerPolicy<T extends Instance>(
  policy: string,
  createPicker: () => Picker<T>,
  opts: PickerPolicyOptions = {},
): BalancerPolicies {
  const settings = parseOptions('registerPickerPolicy', pickerPolicySchema, opts);
  if (typeof policy !== 'string' || !POLICY_NAME.test(policy)) {
    throw new InvalidArgumentError('policy', 'must match /^[a-z][a-z0-9_]*$/');
  }
  if (typeof createPicker !== 'function') {
    throw new InvalidArgumentError('createPicker', 'must be a function returning a Picker');
  }
  return register(
    [
      {
        policy,
        create: createPicker as unknown as () => Picker<EndpointTarget>,
        keyed: settings.keyed,
      },
    ],
    settings,
  );
}

/** girder/balancer factories and the policy names they get. */
const BUILT_IN: ReadonlyArray<{ policy: string; factory: string; keyed: boolean }> = [
  { policy: 'girder_swrr', factory: 'smoothWeightedRoundRobin', keyed: false },
  { policy: 'girder_rr', factory: 'roundRobin', keyed: false },
  { policy: 'girder_random', factory: 'random', keyed: false },
  { policy: 'girder_weighted_random', factory: 'weightedRandom', keyed: false },
  { policy: 'girder_p2c', factory: 'p2cEwma', keyed: false },
  { policy: 'girder_hash', factory: 'consistentHash', keyed: true },
  { policy: 'girder_least_active', factory: 'leastActive', keyed: false },
];

const balancersSchema = z.strictObject({
  pickerOptions: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
  ...commonSchema,
});

/**
 * Options of {@link registerBalancers}.
 *
 * @example
 * ```ts
 * registerBalancers({ hashHeader: 'x-user-id', pickerOptions: { girder_hash: { boundedLoad: 1.25 } } });
 * ```
 */
export interface BalancersOptions {
  /** Options passed to each policy's picker factory, by policy name. Default none. */
  pickerOptions?: Record<string, Record<string, unknown>>;
  /** Metadata key holding `girder_hash`'s key. Default `x-girder-hash-key`. */
  hashHeader?: string;
  /** gRPC status codes reported to pickers as failures. Default UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNAVAILABLE, DATA_LOSS. */
  failureCodes?: number[];
  /** Clock timing each call for `report()`. Default `systemClock`. */
  clock?: import('../core/index.js').Clock;
  /** Name for events. */
  name?: string;
}

/**
 * Registers every girder/balancer picker as a grpc-js load-balancing policy:
 * `girder_swrr` (smooth weighted round robin), `girder_rr`, `girder_random`,
 * `girder_weighted_random`, `girder_p2c` (EWMA), `girder_hash` (consistent hash with
 * bounded loads, keyed by the `hashHeader` metadata) and `girder_least_active`. Select
 * one per channel with {@link girderChannelOptions} (or a service config
 * `loadBalancingConfig: [{ girder_swrr: {} }]`). Call it before creating channels.
 * Throws `GrpcUnsupportedError` on a grpc-js older than 1.14.
 *
 * @example
 * ```ts
 * import { registerBalancers, girderChannelOptions } from 'girder/grpc';
 *
 * registerBalancers();
 * const client = new OrdersClient('etcd:///orders', credentials.createInsecure(), girderChannelOptions('girder_swrr'));
 * ```
 */
export function registerBalancers(opts: BalancersOptions = {}): BalancerPolicies {
  const settings = parseOptions('registerBalancers', balancersSchema, opts);
  const factories = balancer as unknown as Record<string, unknown>;
  const available = BUILT_IN.filter(({ factory }) => typeof factories[factory] === 'function');
  for (const policy of Object.keys(settings.pickerOptions)) {
    if (!available.some((a) => a.policy === policy)) {
      throw new InvalidArgumentError('pickerOptions', `unknown policy "${policy}"`);
    }
  }
  const registrations: Registration[] = available.map(({ policy, factory, keyed }) => {
    const create = factories[factory] as (
      options: Record<string, unknown>,
    ) => Picker<EndpointTarget>;
    const options = settings.pickerOptions[policy] ?? {};
    create(options); // refuse bad picker options now, not at the first channel
    return { policy, keyed, create: () => create(options) };
  });
  return register(registrations, { ...settings, keyed: false });
}

/**
 * Names of the policies {@link registerBalancers} registers (those whose picker exists
 * in girder/balancer).
 *
 * @example
 * ```ts
 * console.log(builtInPolicies()); // ['girder_swrr', 'girder_rr', ..., 'girder_least_active']
 * ```
 */
export function builtInPolicies(): string[] {
  const factories = balancer as unknown as Record<string, unknown>;
  return BUILT_IN.filter(({ factory }) => typeof factories[factory] === 'function').map(
    (b) => b.policy,
  );
}
