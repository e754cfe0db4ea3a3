import { randomBytes } from 'node:crypto';

// Unique per process, so parallel test files and reruns against a long-lived server differ too.
const runId = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
let counter = 0;

/**
 * A key prefix no other test shares, e.g. `test:rate-limit-burst:k3x9f1a2b-4:`.
 * Use `separator = '/'` for etcd keys.
 */
export function uniquePrefix(name: string, separator = ':'): string {
  const slug =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'test';
  counter += 1;
  return ['test', slug, `${runId}-${counter}`, ''].join(separator);
}
