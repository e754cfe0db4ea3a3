import { GirderError } from '../core/index.js';

/**
 * The installed @grpc/grpc-js lacks the API girder/grpc is built on (the 1.14 resolver
 * and load-balancer API: `StatusOr` listeners, `LeafLoadBalancer`). Thrown at
 * registration, before anything is registered.
 *
 * @example
 * ```ts
 * try {
 *   registerBalancers();
 * } catch (err) {
 *   if (err instanceof GrpcUnsupportedError) console.error(`upgrade grpc-js: ${err.installed}`);
 * }
 * ```
 */
export class GrpcUnsupportedError extends GirderError {
  /** The installed version, or `unknown` when it could not be read. */
  readonly installed: string;
  /** The lowest supported version. */
  readonly required: string;

  constructor(installed: string, required: string, detail?: string) {
    super(
      'GRPC_UNSUPPORTED',
      `girder/grpc needs @grpc/grpc-js >= ${required} (1.x); installed: ${installed}${detail ? ` (${detail})` : ''}`,
    );
    this.installed = installed;
    this.required = required;
  }
}

/**
 * A load-balancing policy named in a service config is not registered with grpc-js.
 * grpc-js would otherwise fall back to `pick_first` without a word; girder refuses.
 *
 * @example
 * ```ts
 * try {
 *   girderChannelOptions('girder_swrr');
 * } catch (err) {
 *   if (err instanceof PolicyNotRegisteredError) registerBalancers();
 * }
 * ```
 */
export class PolicyNotRegisteredError extends GirderError {
  /** The policy that is missing. */
  readonly policy: string;

  constructor(policy: string, cause?: unknown) {
    super(
      'GRPC_POLICY_NOT_REGISTERED',
      `load-balancing policy "${policy}" is not registered with @grpc/grpc-js: call registerBalancers() (girder/grpc) before creating the channel`,
      { cause },
    );
    this.policy = policy;
  }
}
