// How the resolver hands per-endpoint registry data (weight, metadata, id) to the
// policies. grpc-js 1.14 endpoints carry only addresses, so the resolver passes a side
// map keyed by the address string as a resolver attribute; grpc-js merges attributes
// into the channel options it gives the policy, which strips the key again before
// creating subchannels (a fresh Map per resolution would defeat subchannel reuse).
import { experimental } from '@grpc/grpc-js';

/**
 * Resolver attribute holding a `Map<address, Instance>`.
 *
 * @internal
 */
export const INSTANCES_ATTRIBUTE = 'girder.instances';

/**
 * Parses `host:port` (`[v6]:port` too) into a grpc-js subchannel address, or
 * `undefined` when it is not one.
 *
 * @internal
 */
export function toSubchannelAddress(address: string): experimental.SubchannelAddress | undefined {
  const hostPort = experimental.splitHostPort(address);
  if (!hostPort?.host || hostPort.port === undefined) return undefined;
  if (!Number.isInteger(hostPort.port) || hostPort.port < 1 || hostPort.port > 65_535)
    return undefined;
  return { host: hostPort.host, port: hostPort.port };
}

/**
 * The key used in the side map: grpc-js's own string form of the address.
 *
 * @internal
 */
export function addressKey(address: experimental.SubchannelAddress): string {
  return experimental.subchannelAddressToString(address);
}
