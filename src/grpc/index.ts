/**
 * gRPC integration for @grpc/grpc-js 1.14: an `etcd:///` resolver on girder/registry,
 * girder/balancer pickers as load-balancing policies, and client and server
 * interceptors built from girder's breaker, retry, deadline, rate limit and JWT blocks.
 *
 * @module grpc
 */

// Resolver and load-balancing policies (grpc engineer).
export {
  type BalancerPolicies,
  type BalancerPolicyEvents,
  type BalancersOptions,
  builtInPolicies,
  DEFAULT_HASH_HEADER,
  type PickerPolicyOptions,
  registerBalancers,
  registerPickerPolicy,
} from './balancers.js';
// Trace context over metadata and the events interceptors' `start` (trace engineer).
export type { CallScope, CallStart } from './call-scope.js';
export { type GirderChannelOptionsOptions, girderChannelOptions } from './channel-options.js';
export { GrpcUnsupportedError, PolicyNotRegisteredError } from './errors.js';
export { type RetryInterceptorOptions, retryInterceptor } from './interceptor-retry.js';
// interceptors (grpcx engineer).
export {
  type BreakerInterceptorOptions,
  breakerInterceptor,
  type ClientCallEvent,
  type ClientCallEvents,
  DEFAULT_BREAKER_FAILURE_CODES,
  type DeadlineInterceptorOptions,
  deadlineInterceptor,
  type EventsInterceptor,
  type EventsInterceptorOptions,
  eventsInterceptor,
} from './interceptors-client.js';
export {
  type AccessVerifier,
  type AuthInterceptorOptions,
  authClaimsOf,
  authInterceptor,
  type DegradationInterceptorOptions,
  degradationInterceptor,
  loggingInterceptor,
  type RateLimitInterceptorOptions,
  rateLimitInterceptor,
  type ServerCallEvent,
  type ServerCallEvents,
  type ServerCallInfo,
  type ServerEventsInterceptor,
  type ServerEventsInterceptorOptions,
  serverEventsInterceptor,
} from './interceptors-server.js';
export type { RefusedBy } from './refusals.js';
export {
  type EtcdResolver,
  type EtcdResolverEvents,
  type EtcdResolverOptions,
  registerEtcdResolver,
} from './resolver.js';
export { GIRDER_TO_GRPC_STATUS, girderCodeOf, grpcStatusOf } from './status-map.js';
export {
  type TraceContextOptions,
  traceContextInterceptor,
  traceContextServerInterceptor,
  withTraceContext,
} from './trace-context.js';
export { SUPPORTED_GRPC_JS } from './version.js';
