// One validation run: walks the key space chunk by chunk, saves its position after every
// chunk, honours pause/stop and the maxLoad hook, and reports progress.
import {
  AbortedError,
  type Backoff,
  type Clock,
  InvalidArgumentError,
  sleep,
  type TypedEmitter,
} from '../core/index.js';
import { keyObject } from './chunk-key.js';
import type { ChunkSizer } from './chunk-size.js';
import type { Inconsistency } from './types.js';
import { type ChunkContext, checkChunk } from './validator-chunk.js';
import type { RunStore, SavedRun } from './validator-state.js';
import type {
  ValidationProgress,
  ValidationResult,
  ValidationRun,
  ValidationStatus,
  ValidatorEvents,
} from './validator-types.js';

/** @internal Everything a run needs from its validator. */
export interface RunContext extends ChunkContext {
  readonly name: string;
  readonly table: string;
  readonly events: TypedEmitter<ValidatorEvents>;
  readonly store: RunStore;
  readonly clock: Clock;
  /** A chunk sizer for a run (a resumed run starts from its saved size). */
  readonly makeSizer: (initial?: number) => ChunkSizer;
  readonly maxLoad: (() => boolean | Promise<boolean>) | undefined;
  readonly loadBackoff: Backoff;
  readonly maxDiffs: number;
  /** Rows in scope, when it can be estimated (called once per run). */
  readonly estimate: () => Promise<number | undefined>;
}

/** @internal A run: the public handle plus the loop behind it. */
export class Run implements ValidationRun {
  readonly id: string;
  readonly result: Promise<ValidationResult>;
  #status: ValidationStatus = 'running';
  #saved: SavedRun;
  readonly #ctx: RunContext;
  readonly #sizer: ChunkSizer;
  readonly #diffs: Inconsistency[];
  readonly #stopper = new AbortController();
  #unpause: (() => void) | undefined;
  #pauseRequested = false;
  #estimatedRows: number | undefined;
  readonly #processStart: number;
  #processRows = 0;

  constructor(ctx: RunContext, saved: SavedRun, earlierDiffs: Inconsistency[], isNew: boolean) {
    this.#ctx = ctx;
    this.#saved = saved;
    this.#sizer = ctx.makeSizer(isNew ? undefined : saved.chunkSize);
    this.id = saved.runId;
    this.#diffs = earlierDiffs;
    this.#processStart = ctx.clock.now();
    this.result = this.#run(isNew);
    // The caller may never look at `result`; a failure is also an `error` event.
    this.result.catch(() => {});
  }

  get status(): ValidationStatus {
    return this.#status;
  }

  get progress(): ValidationProgress {
    const s = this.#saved;
    const elapsedMs = this.#ctx.clock.now() - this.#processStart;
    const rowsPerSecond = elapsedMs > 0 ? (this.#processRows * 1000) / elapsedMs : 0;
    const left =
      this.#estimatedRows === undefined ? undefined : Math.max(0, this.#estimatedRows - s.rowsDone);
    return {
      runId: this.id,
      name: this.#ctx.name,
      rowsDone: s.rowsDone,
      chunksDone: s.chunksDone,
      estimatedRows: this.#estimatedRows,
      etaMs:
        left === undefined || rowsPerSecond === 0
          ? undefined
          : Math.round((left / rowsPerSecond) * 1000),
      rowsPerSecond,
      chunkSize: this.#sizer.size,
      differences: s.missing + s.extra + s.changed,
    };
  }

  pause(): void {
    if (this.#status === 'running') this.#pauseRequested = true;
  }

  resume(): void {
    this.#pauseRequested = false;
    this.#unpause?.();
  }

  stop(): Promise<ValidationResult> {
    this.#stopper.abort();
    this.resume();
    return this.result;
  }

  get #stopping(): boolean {
    return this.#stopper.signal.aborted;
  }

  async #run(isNew: boolean): Promise<ValidationResult> {
    const ctx = this.#ctx;
    try {
      if (isNew) {
        if ((await ctx.store.load(this.id)) !== undefined) {
          throw new InvalidArgumentError(
            'runId',
            `run ${this.id} exists: resume it or pick another id`,
          );
        }
        await ctx.store.create(this.#saved);
      } else await ctx.store.setStatus(this.id, 'running', ctx.clock.now());
      this.#estimatedRows = await ctx.estimate();
      let finished = false;
      while (!finished) {
        await this.#gate();
        if (this.#stopping) break;
        finished = await this.#nextChunk();
      }
      const status = finished ? 'done' : 'stopped';
      await ctx.store.setStatus(this.id, status, ctx.clock.now());
      this.#status = status;
      const result = this.#result(status);
      ctx.events.emit('done', { runId: this.id, name: ctx.name, result });
      return result;
    } catch (error) {
      this.#status = 'failed';
      await ctx.store.setStatus(this.id, 'failed', ctx.clock.now()).catch(() => {});
      ctx.events.emit('error', { runId: this.id, name: ctx.name, error });
      throw error;
    }
  }

  /** Wait while paused or while `maxLoad` says the databases are busy. */
  async #gate(): Promise<void> {
    const ctx = this.#ctx;
    while (this.#pauseRequested && !this.#stopping) {
      this.#status = 'paused';
      await ctx.store.setStatus(this.id, 'paused', ctx.clock.now());
      ctx.events.emit('throttled', { runId: this.id, name: ctx.name, reason: 'paused', waitMs: 0 });
      await new Promise<void>((resolve) => {
        this.#unpause = resolve;
        if (!this.#pauseRequested || this.#stopping) resolve();
      });
      this.#unpause = undefined;
      if (!this.#stopping) {
        this.#status = 'running';
        await ctx.store.setStatus(this.id, 'running', ctx.clock.now());
      }
    }
    if (ctx.maxLoad === undefined) return;
    let previous = 0;
    for (let attempt = 1; !this.#stopping && (await ctx.maxLoad()); attempt++) {
      previous = ctx.loadBackoff.delayMs(attempt, previous);
      ctx.events.emit('throttled', {
        runId: this.id,
        name: ctx.name,
        reason: 'load',
        waitMs: previous,
      });
      try {
        await sleep(previous, { clock: ctx.clock, signal: this.#stopper.signal });
      } catch (error) {
        if (!(error instanceof AbortedError)) throw error;
      }
    }
  }

  /** Check the next chunk; true when there is none left. */
  async #nextChunk(): Promise<boolean> {
    const ctx = this.#ctx;
    const after = this.#saved.lastKey;
    const size = this.#sizer.size;
    // Boundaries come from the source; once it has no rows left, from the target, so
    // rows beyond the source's last key (extras) are checked too.
    const upTo =
      (await ctx.sql.boundary(ctx.source, ctx.sourceScope, after, size)) ??
      (await ctx.sql.boundary(ctx.target, ctx.targetScope, after, size));
    if (upTo === undefined) return true;
    const started = ctx.clock.now();
    const outcome = await checkChunk(ctx, { after, upTo });
    const durationMs = ctx.clock.now() - started;
    const key = ctx.sourceScope.key;
    const diffs: Inconsistency[] = outcome.diffs.map((d) => ({
      table: ctx.table,
      key: keyObject(key, d.key),
      kind: d.kind,
    }));
    const s = this.#saved;
    const next: SavedRun = {
      ...s,
      lastKey: upTo,
      chunkSize: size,
      rowsDone: s.rowsDone + outcome.sourceRows,
      chunksDone: s.chunksDone + 1,
      differingChunks: s.differingChunks + (outcome.matched ? 0 : 1),
      missing: s.missing + count(diffs, 'missing'),
      extra: s.extra + count(diffs, 'extra'),
      changed: s.changed + count(diffs, 'changed'),
    };
    await ctx.store.saveChunk(next, diffs, ctx.clock.now());
    this.#saved = next;
    this.#processRows += outcome.sourceRows;
    if (outcome.matched) this.#sizer.observe(outcome.sourceRows, durationMs);
    for (const inconsistency of diffs) {
      if (this.#diffs.length < ctx.maxDiffs) this.#diffs.push(inconsistency);
      ctx.events.emit('diff', { runId: this.id, name: ctx.name, inconsistency });
    }
    ctx.events.emit('chunk', {
      runId: this.id,
      name: ctx.name,
      index: s.chunksDone,
      after: after === undefined ? undefined : keyObject(key, after),
      upTo: keyObject(key, upTo),
      sourceRows: outcome.sourceRows,
      targetRows: outcome.targetRows,
      matched: outcome.matched,
      differences: diffs.length,
      durationMs,
      chunkSize: size,
    });
    ctx.events.emit('progress', this.progress);
    return false;
  }

  #result(status: 'done' | 'stopped'): ValidationResult {
    const s = this.#saved;
    const differences = s.missing + s.extra + s.changed;
    return {
      runId: this.id,
      name: this.#ctx.name,
      mode: s.mode,
      status,
      rowsChecked: s.rowsDone,
      chunks: s.chunksDone,
      differingChunks: s.differingChunks,
      missing: s.missing,
      extra: s.extra,
      changed: s.changed,
      differences,
      diffs: [...this.#diffs],
      diffsTruncated: differences > this.#diffs.length,
      startedAt: s.startedAt,
      finishedAt: this.#ctx.clock.now(),
    };
  }
}

const count = (diffs: readonly Inconsistency[], kind: Inconsistency['kind']) =>
  diffs.filter((d) => d.kind === kind).length;
