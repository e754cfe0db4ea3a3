/**
 * Service registry on etcd (leases with keepalive, re-registration, watch-based
 * discovery that stays up through an outage) and in memory; live typed config; worker ids
 * and snowflake ids.
 *
 * @module registry
 */

export type {
  Discovery,
  DiscoveryEvents,
  Instance,
  InstanceSpec,
  Registration,
  RegistrationEvents,
  Registry,
} from './types.js';
