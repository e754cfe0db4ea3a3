// Checking what callers register, and the one JSON encoding every backend stores.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';
import type { Instance, InstanceSpec } from './types.js';

// Names become key segments (`<prefix>/<service>/<id>`), so no '/' inside them.
const segment = z
  .string()
  .min(1)
  .max(256)
  .refine((s) => !s.includes('/'), 'must not contain "/"');

const specSchema = z.strictObject({
  service: segment,
  id: segment.optional(),
  address: z.string().min(1).max(2_048),
  metadata: z.record(z.string(), z.string()).optional(),
  weight: z.number().int().min(1).max(1_000_000).optional(),
});

const metadataSchema = z.record(z.string(), z.string());
const weightSchema = z.number().int().min(1).max(1_000_000);

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue === undefined ? 'invalid' : `${issue.path.join('.') || '(root)'}: ${issue.message}`;
}

/** @internal Validate a registration spec and give it an id and defaults. */
export function instanceFromSpec(spec: InstanceSpec): Instance {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) throw new InvalidArgumentError('spec', firstIssue(parsed.error));
  const { service, id, address, metadata, weight } = parsed.data;
  return freezeInstance({
    service,
    id: id ?? randomUUID(),
    address,
    metadata: metadata ?? {},
    weight: weight ?? 1,
  });
}

/** @internal Validate the arguments of `Registration.update`. */
export function checkUpdate(
  metadata: Record<string, string>,
  opts: { weight?: number } | undefined,
): { metadata: Record<string, string>; weight: number | undefined } {
  const m = metadataSchema.safeParse(metadata);
  if (!m.success) throw new InvalidArgumentError('metadata', firstIssue(m.error));
  const weight = opts?.weight;
  if (weight !== undefined && !weightSchema.safeParse(weight).success) {
    throw new InvalidArgumentError('weight', 'must be an integer in [1, 1000000]');
  }
  return { metadata: m.data, weight };
}

/** @internal Validate a service name given to `discover`. */
export function checkService(service: unknown): string {
  const parsed = segment.safeParse(service);
  if (!parsed.success) throw new InvalidArgumentError('service', firstIssue(parsed.error));
  return parsed.data;
}

/** @internal Validate `deregister`'s `drainMs`. */
export function checkDrainMs(opts: { drainMs?: number } | undefined): number {
  const drainMs = opts?.drainMs ?? 0;
  if (typeof drainMs !== 'number' || !Number.isFinite(drainMs) || drainMs < 0) {
    throw new InvalidArgumentError('drainMs', 'must be a finite number >= 0');
  }
  return drainMs;
}

/** @internal A frozen copy, so no caller can change what discovery hands out. */
export function freezeInstance(instance: Instance): Instance {
  return Object.freeze({
    service: instance.service,
    id: instance.id,
    address: instance.address,
    metadata: Object.freeze({ ...instance.metadata }),
    weight: instance.weight,
  });
}

/** @internal True when two instances announce the same thing. */
export function sameInstance(a: Instance, b: Instance): boolean {
  if (a.address !== b.address || a.weight !== b.weight || a.id !== b.id) return false;
  const ak = Object.keys(a.metadata);
  if (ak.length !== Object.keys(b.metadata).length) return false;
  return ak.every((k) => a.metadata[k] === b.metadata[k]);
}

const storedSchema = z.object({
  address: z.string().min(1),
  metadata: z.record(z.string(), z.string()).default({}),
  weight: weightSchema.default(1),
});

/** @internal The stored value of an instance: JSON of everything but its key parts. */
export function encodeInstance(instance: Instance): string {
  return JSON.stringify({
    address: instance.address,
    metadata: instance.metadata,
    weight: instance.weight,
  });
}

/**
 * @internal
 * Read a stored value back; undefined when it is not one of ours (someone else wrote
 * under the prefix), so one bad value never hides the good ones.
 */
export function decodeInstance(service: string, id: string, value: string): Instance | undefined {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return undefined;
  }
  const parsed = storedSchema.safeParse(json);
  if (!parsed.success) return undefined;
  return freezeInstance({ service, id, ...parsed.data });
}
