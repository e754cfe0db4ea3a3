// `snowflake`: 64-bit ids, time-ordered. Layout, high to low: 1 zero bit, 41 bits of
// milliseconds since `epochMs` (about 69 years), `workerBits` of worker id, and
// `sequenceBits` of per-millisecond sequence (workerBits + sequenceBits = 22).
//
// Ids from one generator strictly increase: within a millisecond the sequence grows;
// when it runs out we wait for the next millisecond; when the clock steps backwards we
// wait until it is past the last millisecond used again, if that is at most
// `maxBackwardMs` away, and refuse otherwise (an id issued now could repeat one).
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  GirderError,
  InvalidArgumentError,
  parseOptions,
  sleep,
  systemClock,
} from '../core/index.js';
import { ClockMovedBackwardsError } from './errors.js';
import type { WorkerId } from './worker-id.js';

/**
 * Options of {@link snowflake}.
 *
 * @example
 * ```ts
 * const options: SnowflakeOptions = { workerId: 7, epochMs: Date.UTC(2024, 0, 1) };
 * ```
 */
export interface SnowflakeOptions {
  /** Name for metrics and logs. Default `'snowflake'`. */
  name?: string;
  /** A fixed id in `[0, 2^workerBits)`, or a leased {@link WorkerId} (read on every call). */
  workerId: number | WorkerId;
  /** Start of the 41-bit millisecond timestamp. Default 2020-01-01T00:00:00Z. */
  epochMs?: number;
  /** Worker id bits. Default 10 (or the leased worker's `bits`). */
  workerBits?: number;
  /** Sequence bits; `workerBits + sequenceBits` must be 22. Default `22 - workerBits`. */
  sequenceBits?: number;
  /** Largest backward clock step that is waited out; beyond it `next` throws. Default 5 ms. */
  maxBackwardMs?: number;
  /** Clock. Default `systemClock`. */
  clock?: Clock;
}

/**
 * The parts of a snowflake id, from {@link Snowflake.parse}.
 *
 * @example
 * ```ts
 * const { timestampMs, workerId, sequence }: SnowflakeParts = ids.parse(id);
 * ```
 */
export interface SnowflakeParts {
  /** When it was issued, in milliseconds since the Unix epoch. */
  timestampMs: number;
  /** The worker id. */
  workerId: number;
  /** The sequence within that millisecond. */
  sequence: number;
}

/**
 * A snowflake id generator.
 *
 * @example
 * ```ts
 * const ids = snowflake({ workerId: 3 });
 * const id: bigint = await ids.next();
 * const text: string = await ids.nextString();
 * ```
 */
export interface Snowflake {
  /** The next id, strictly greater than every id this generator issued before. */
  next(): Promise<bigint>;
  /** The next id as a decimal string (JSON-safe). */
  nextString(): Promise<string>;
  /** Split an id into its parts (timestamp in epoch ms, worker, sequence). */
  parse(id: bigint | string): SnowflakeParts;
}

/**
 * The leased worker id is not held right now (`WORKER_ID_LOST`): its lease was lost and
 * a new one is being acquired.
 *
 * @example
 * ```ts
 * import { WorkerIdLostError } from 'girder/registry';
 *
 * await ids.next().catch((err) => {
 *   if (err instanceof WorkerIdLostError) console.warn('retry shortly');
 * });
 * ```
 */
export class WorkerIdLostError extends GirderError {
  constructor() {
    super('WORKER_ID_LOST', 'the leased worker id is not held; a new one is being acquired');
  }
}

const DEFAULT_EPOCH = Date.UTC(2020, 0, 1);
const TIMESTAMP_BITS = 41;
const MAX_TIMESTAMP = 2 ** TIMESTAMP_BITS - 1;

const schema = z
  .strictObject({
    name: z.string().min(1).max(256).default('snowflake'),
    workerId: z.union([
      z.number().int().min(0),
      z.custom<WorkerId>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          typeof (v as WorkerId).id === 'number' &&
          typeof (v as WorkerId).bits === 'number',
        { message: 'must be a number or a WorkerId' },
      ),
    ]),
    epochMs: z.number().int().min(0).default(DEFAULT_EPOCH),
    workerBits: z.number().int().min(1).max(21).optional(),
    sequenceBits: z.number().int().min(1).max(21).optional(),
    maxBackwardMs: z.number().int().min(0).max(60_000).default(5),
    clock: clockSchema.default(systemClock),
  })
  .transform((o, ctx) => {
    const workerBits =
      o.workerBits ??
      (typeof o.workerId === 'number' ? undefined : o.workerId.bits) ??
      (o.sequenceBits === undefined ? 10 : 22 - o.sequenceBits);
    const sequenceBits = o.sequenceBits ?? 22 - workerBits;
    if (workerBits + sequenceBits !== 22 || sequenceBits < 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['sequenceBits'],
        message: 'workerBits + sequenceBits must be 22',
      });
      return z.NEVER;
    }
    if (typeof o.workerId === 'number' && o.workerId >= 2 ** workerBits) {
      ctx.addIssue({
        code: 'custom',
        path: ['workerId'],
        message: `must be below 2^${workerBits}`,
      });
      return z.NEVER;
    }
    return { ...o, workerBits, sequenceBits };
  });

/**
 * Snowflake ids: 64-bit, time-ordered, unique across workers as long as worker ids are
 * (lease them with {@link workerId}).
 *
 * - Strictly increasing per generator, also across concurrent `next()` calls.
 * - 2^sequenceBits ids per millisecond (4 096 by default); past that, `next` waits for
 *   the next millisecond on the clock.
 * - Clock stepped backwards by up to `maxBackwardMs`: `next` waits until the clock is past
 *   the last millisecond used. Further back: {@link ClockMovedBackwardsError}
 *   (`CLOCK_MOVED_BACKWARDS`), and no id is issued.
 * - With a leased {@link WorkerId} that is not held (lost, re-acquiring):
 *   {@link WorkerIdLostError}.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { snowflake } from 'girder/registry';
 *
 * const ids = snowflake({ workerId: 12, epochMs: Date.UTC(2024, 0, 1) });
 * const orderId = await ids.nextString(); // e.g. '7154412160393433088'
 * console.log(ids.parse(orderId).workerId); // 12
 * ```
 */
export function snowflake(options: SnowflakeOptions): Snowflake {
  const o = parseOptions('snowflake', schema, options);
  const { clock, epochMs, maxBackwardMs } = o;
  const seqBits = BigInt(o.sequenceBits);
  const timeShift = BigInt(o.workerBits + o.sequenceBits);
  const seqMask = 2 ** o.sequenceBits - 1;
  const workerMask = 2 ** o.workerBits - 1;
  const leased = typeof o.workerId === 'number' ? undefined : o.workerId;
  const fixedWorker = typeof o.workerId === 'number' ? o.workerId : 0;
  let lastMs = -1;
  let lastWorker = -1;
  let sequence = 0;

  const currentWorker = (): number => {
    if (leased === undefined) return fixedWorker;
    if (!leased.held) throw new WorkerIdLostError();
    return leased.id & workerMask;
  };

  async function next(): Promise<bigint> {
    for (;;) {
      const worker = currentWorker();
      const now = Math.floor(clock.now());
      if (now < lastMs) {
        const backwardMs = lastMs - now;
        if (backwardMs > maxBackwardMs) throw new ClockMovedBackwardsError(backwardMs);
        await sleep(backwardMs, { clock });
        continue;
      }
      if (worker !== lastWorker && lastWorker !== -1 && now === lastMs) {
        // A re-leased worker id may be lower: start it on a fresh millisecond so ids
        // still only grow.
        await sleep(1, { clock });
        continue;
      }
      if (now === lastMs) {
        if (sequence === seqMask) {
          // This millisecond is used up: wait for the next one.
          await sleep(1, { clock });
          continue;
        }
        sequence++;
      } else {
        lastMs = now;
        sequence = 0;
      }
      lastWorker = worker;
      const elapsed = now - epochMs;
      if (elapsed < 0 || elapsed > MAX_TIMESTAMP) {
        throw new InvalidArgumentError(
          'clock',
          `time ${now} is outside the 41-bit range from epochMs ${epochMs}`,
        );
      }
      return (BigInt(elapsed) << timeShift) | (BigInt(worker) << seqBits) | BigInt(sequence);
    }
  }

  return {
    next,
    async nextString() {
      return (await next()).toString();
    },
    parse(id) {
      let value: bigint;
      try {
        value = typeof id === 'bigint' ? id : BigInt(id);
      } catch {
        throw new InvalidArgumentError('id', 'must be a bigint or a decimal string');
      }
      if (value < 0n || value >= 1n << 63n) {
        throw new InvalidArgumentError('id', 'must be a non-negative 63-bit integer');
      }
      return {
        timestampMs: Number(value >> timeShift) + epochMs,
        workerId: Number((value >> seqBits) & BigInt(workerMask)),
        sequence: Number(value & BigInt(seqMask)),
      };
    },
  };
}
