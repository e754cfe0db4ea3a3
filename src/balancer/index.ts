/**
 * Load balancers: smooth weighted round robin (nginx's), round robin, random, weighted
 * random, consistent hashing with bounded loads, power of two choices on EWMA latency,
 * least active; outlier ejection; `balanced` for any client on a live discovery.
 *
 * @module balancer
 */

export {
  type Balanced,
  type BalancedCallContext,
  type BalancedEvents,
  type BalancedOptions,
  balanced,
} from './balanced.js';
export {
  type ConsistentHash,
  type ConsistentHashOptions,
  consistentHash,
} from './consistent-hash.js';
export {
  type EjectingPicker,
  type EjectionEvents,
  type EjectionOptions,
  withEjection,
} from './ejection.js';
export { NoInstanceError } from './errors.js';
export { hash32 } from './hash.js';
export { type LeastActiveOptions, leastActive } from './least-active.js';
export { type P2cEwma, type P2cEwmaOptions, p2cEwma } from './p2c-ewma.js';
export {
  type RandomOptions,
  type RoundRobinOptions,
  random,
  roundRobin,
} from './round-robin.js';
export {
  type SmoothWeightedRoundRobin,
  type SmoothWeightedRoundRobinOptions,
  smoothWeightedRoundRobin,
} from './swrr.js';
export type {
  BalancerPicker,
  CallReport,
  InstanceStats,
  PickContext,
  Picker,
  PickerEvents,
} from './types.js';
export { type WeightedRandomOptions, weightedRandom } from './weighted-random.js';
