// Which @grpc/grpc-js is installed, and whether girder/grpc can use it. The resolver
// and policy code relies on 1.14's API (StatusOr resolver listener, LeafLoadBalancer,
// call-ended hooks in pick results); older versions have a different listener shape
// and would fail in confusing ways at the first resolution, so we refuse up front.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { experimental } from '@grpc/grpc-js';
import { girderRequire } from '../core/girder-require.js';
import { GrpcUnsupportedError } from './errors.js';

/**
 * The lowest @grpc/grpc-js version girder/grpc supports (its resolver API).
 *
 * @example
 * ```ts
 * console.log(`girder/grpc needs @grpc/grpc-js >= ${SUPPORTED_GRPC_JS}`);
 * ```
 */
export const SUPPORTED_GRPC_JS = '1.14.0';

function parse(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * Throws {@link GrpcUnsupportedError} unless `version` is a 1.x release at or above
 * {@link SUPPORTED_GRPC_JS}. A 2.x may change the experimental API, so it is refused too.
 *
 * @internal
 */
export function checkGrpcVersion(version: string): void {
  const parsed = parse(version);
  const required = parse(SUPPORTED_GRPC_JS) as [number, number, number];
  if (!parsed) throw new GrpcUnsupportedError(version, SUPPORTED_GRPC_JS, 'unreadable version');
  const [major, minor] = parsed;
  if (major !== required[0] || minor < required[1]) {
    throw new GrpcUnsupportedError(version, SUPPORTED_GRPC_JS);
  }
}

let installed: string | undefined;

/**
 * The version of the @grpc/grpc-js this module imports, read from its package.json.
 *
 * @internal
 */
export function installedGrpcVersion(): string {
  if (installed !== undefined) return installed;
  try {
    const entry = girderRequire().resolve('@grpc/grpc-js');
    // entry is <pkg>/build/src/index.js
    const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', '..', 'package.json'), 'utf8'));
    installed = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    installed = 'unknown';
  }
  return installed as string;
}

/**
 * Checks the installed grpc-js: its version, and that the 1.14 API is really there.
 *
 * @internal
 */
export function assertSupportedGrpc(): void {
  const version = installedGrpcVersion();
  checkGrpcVersion(version);
  const api = experimental as unknown as Record<string, unknown>;
  for (const name of [
    'registerResolver',
    'registerLoadBalancerType',
    'LeafLoadBalancer',
    'statusOrFromValue',
  ]) {
    if (typeof api[name] !== 'function') {
      throw new GrpcUnsupportedError(version, SUPPORTED_GRPC_JS, `experimental.${name} is missing`);
    }
  }
}
