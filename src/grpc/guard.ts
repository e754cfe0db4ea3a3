// The unknown-policy guard. grpc-js picks the first loadBalancingConfig entry it can
// parse and, when none parses (a policy never registered, registered too late, or a
// config it rejects), quietly uses pick_first: every call then goes to one server and
// nothing says so. Both the channel-options helper and the resolver check the list.
import { experimental } from '@grpc/grpc-js';

/**
 * Why the service config in `channelOptions` would make grpc-js fall back to
 * pick_first, or `undefined` when it names at least one usable policy (or none at all).
 *
 * @internal
 */
export function unusablePolicies(channelOptions: Record<string, unknown>): string[] | undefined {
  const raw = channelOptions['grpc.service_config'];
  if (typeof raw !== 'string') return undefined;
  let config: unknown;
  try {
    config = JSON.parse(raw);
  } catch {
    return undefined; // grpc-js itself rejects an unparsable service config
  }
  const list = (config as { loadBalancingConfig?: unknown }).loadBalancingConfig;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  const names = list.flatMap((entry) =>
    typeof entry === 'object' && entry !== null ? Object.keys(entry) : [],
  );
  try {
    if (experimental.selectLbConfigFromList(list, false) !== null) return undefined;
  } catch {
    // an entry of the wrong shape: grpc-js skips it, as do we
  }
  return names;
}

/**
 * Whether grpc-js accepts `{ [policy]: config }`, and if not, why.
 *
 * @internal
 */
export function policyProblem(policy: string, config: object): 'unregistered' | Error | undefined {
  if (!experimental.isLoadBalancerNameRegistered(policy)) return 'unregistered';
  try {
    experimental.parseLoadBalancingConfig({ [policy]: config });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
