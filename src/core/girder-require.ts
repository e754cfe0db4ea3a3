// Internal: a `require` that resolves from girder's own files, so an optional peer
// (ioredis, @grpc/grpc-js) is found where girder is installed and is the same copy its
// static imports get. Works in both builds of the package.
import { createRequire } from 'node:module';

let cached: NodeJS.Require | undefined;

/**
 * `require`, resolving from girder's own location.
 *
 * @internal
 */
export function girderRequire(): NodeJS.Require {
  // __filename exists in the CommonJS build, import.meta.url in the ES module build.
  cached ??= createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  return cached;
}
