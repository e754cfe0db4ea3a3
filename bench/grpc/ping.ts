// The one-method service of the gRPC bench: empty request, empty reply.
import type * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

export const pingDefinition = {
  ping: {
    path: '/girder.bench.Ping/Ping',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;
