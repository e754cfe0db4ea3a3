/**
 * gRPC integration for @grpc/grpc-js 1.14: an `etcd:///` resolver on girder/registry,
 * girder/balancer pickers as load-balancing policies, and client and server
 * interceptors built from girder's breaker, retry, deadline, rate limit and JWT blocks.
 *
 * @module grpc
 */

/** The lowest @grpc/grpc-js version girder/grpc supports (its resolver API). */
export const SUPPORTED_GRPC_JS = '1.14.0';
