import type { ChannelOptions } from '@grpc/grpc-js';
import { z } from 'zod';
import { InvalidArgumentError, parseOptions } from '../core/index.js';
import { PolicyNotRegisteredError } from './errors.js';
import { policyProblem } from './guard.js';

const schema = z.strictObject({
  config: z.record(z.string(), z.unknown()).default({}),
  methodConfig: z.array(z.record(z.string(), z.unknown())).optional(),
  channelOptions: z.record(z.string(), z.unknown()).default({}),
});

/**
 * Options of {@link girderChannelOptions}.
 *
 * @example
 * ```ts
 * girderChannelOptions('girder_hash', { config: { hashHeader: 'x-user-id' } });
 * ```
 */
export interface GirderChannelOptionsOptions {
  /** The policy's own config, e.g. `{ hashHeader: 'x-user-id' }` for `girder_hash`. Default `{}`. */
  config?: Record<string, unknown>;
  /** `methodConfig` entries of the service config (timeouts, retry policies). */
  methodConfig?: Array<Record<string, unknown>>;
  /** Other channel options to merge (keepalive, message sizes, ...). */
  channelOptions?: ChannelOptions;
}

/**
 * Channel options that select `policy` through the service config, after checking that
 * grpc-js knows the policy and accepts its config. Throws `PolicyNotRegisteredError`
 * (`GRPC_POLICY_NOT_REGISTERED`) when it is not registered, where grpc-js would
 * silently fall back to pick_first, and `InvalidArgumentError` when the config is refused.
 *
 * @example
 * ```ts
 * registerBalancers();
 * const client = new OrdersClient(
 *   'etcd:///orders',
 *   credentials.createInsecure(),
 *   girderChannelOptions('girder_swrr', { channelOptions: { 'grpc.keepalive_time_ms': 10_000 } }),
 * );
 * ```
 */
export function girderChannelOptions(
  policy: string,
  opts: GirderChannelOptionsOptions = {},
): ChannelOptions {
  const settings = parseOptions('girderChannelOptions', schema, opts);
  if (typeof policy !== 'string' || policy === '') {
    throw new InvalidArgumentError('policy', 'must be a non-empty policy name');
  }
  const problem = policyProblem(policy, settings.config);
  if (problem === 'unregistered') throw new PolicyNotRegisteredError(policy);
  if (problem !== undefined) {
    throw new InvalidArgumentError('config', problem.message, { cause: problem });
  }
  const serviceConfig: Record<string, unknown> = {
    loadBalancingConfig: [{ [policy]: settings.config }],
  };
  if (settings.methodConfig) serviceConfig.methodConfig = settings.methodConfig;
  return { ...settings.channelOptions, 'grpc.service_config': JSON.stringify(serviceConfig) };
}
