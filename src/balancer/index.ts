/**
 * Load balancers: smooth weighted round robin (nginx's), round robin, random, weighted
 * random, consistent hashing with bounded loads, power of two choices on EWMA latency,
 * least active; outlier ejection; `balanced` for any client on a live discovery.
 *
 * @module balancer
 */

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
