// The strict schema of ConsumeOptions, shared by every backend.
import { z } from 'zod';
import {
  type Backoff,
  checkSignal,
  exponential,
  InvalidArgumentError,
  parseOptions,
} from '../core/index.js';
import type { ConsumeOptions } from './types.js';
import { checkName } from './validate.js';

const backoffSchema = z.custom<Backoff>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
  { message: 'must be a Backoff (an object with delayMs(attempt))' },
);

const schema = z.strictObject({
  group: z.string(),
  batch: z
    .strictObject({
      size: z.number().int().min(1).max(10_000).default(1),
      waitMs: z.number().int().min(0).max(3_600_000).default(0),
    })
    .default({ size: 1, waitMs: 0 }),
  concurrency: z.number().int().min(1).max(1_000).default(1),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(1_000).default(3),
      backoff: backoffSchema.optional(),
    })
    .default({ maxAttempts: 3 }),
  deadLetter: z.string().optional(),
  drainTimeoutMs: z.number().int().min(0).max(86_400_000).default(30_000),
  signal: z.unknown().optional(),
});

/** @internal ConsumeOptions with every default filled in. */
export interface ParsedConsumeOptions {
  readonly group: string;
  readonly batchSize: number;
  readonly waitMs: number;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly deadLetter: string | undefined;
  readonly drainTimeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** @internal Validate `consume(topic, handler, opts)`'s options (and the topic, handler). */
export function parseConsumeOptions(
  topic: unknown,
  handler: unknown,
  options: ConsumeOptions,
): ParsedConsumeOptions {
  checkName(topic, 'topic');
  if (typeof handler !== 'function') {
    throw new InvalidArgumentError(
      'handler',
      'must be a function (batch, signal) => Promise<void>',
    );
  }
  const o = parseOptions('consume', schema, options);
  checkName(o.group, 'opts.group');
  if (o.deadLetter !== undefined) {
    checkName(o.deadLetter, 'opts.deadLetter');
    if (o.deadLetter === topic) {
      throw new InvalidArgumentError('opts.deadLetter', 'must differ from the topic consumed');
    }
  }
  const signal = checkSignal(o.signal, 'opts.signal');
  return {
    group: o.group,
    batchSize: o.batch.size,
    waitMs: o.batch.waitMs,
    concurrency: o.concurrency,
    maxAttempts: o.retry.maxAttempts,
    backoff: o.retry.backoff ?? exponential({ initialMs: 100, maxMs: 30_000 }),
    deadLetter: o.deadLetter,
    drainTimeoutMs: o.drainTimeoutMs,
    signal,
  };
}
