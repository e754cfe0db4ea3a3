// Checking one chunk: both checksums in parallel, and the row pass only when they differ.
import type { ChecksumSql, KeyRange, RowHash, TableScope } from './checksum-sql.js';
import {
  canonicalRow,
  compareRowHashes,
  oneSided,
  type RowDiff,
  unionByKey,
} from './validator-compare.js';
import type { AnyKysely } from './validator-types.js';

/** @internal What a chunk check needs to know about the two sides. */
export interface ChunkContext {
  readonly sql: ChecksumSql;
  readonly source: AnyKysely;
  readonly target: AnyKysely;
  readonly sourceScope: TableScope;
  readonly targetScope: TableScope;
  readonly transform?: ((row: Record<string, unknown>) => Record<string, unknown>) | undefined;
}

/** @internal Outcome of one chunk. */
export interface ChunkOutcome {
  readonly sourceRows: number;
  readonly targetRows: number;
  readonly matched: boolean;
  readonly diffs: RowDiff[];
}

/** @internal Check the rows of `range` on both sides. */
export async function checkChunk(ctx: ChunkContext, range: KeyRange): Promise<ChunkOutcome> {
  if (ctx.transform !== undefined) return checkTransformed(ctx, ctx.transform, range);
  const [s, t] = await Promise.all([
    ctx.sql.chunkChecksum(ctx.source, ctx.sourceScope, range),
    ctx.sql.chunkChecksum(ctx.target, ctx.targetScope, range),
  ]);
  if (s.count === t.count && s.sum === t.sum) {
    return { sourceRows: s.count, targetRows: t.count, matched: true, diffs: [] };
  }
  let [sourceRows, targetRows] = await Promise.all([
    ctx.sql.rowHashes(ctx.source, ctx.sourceScope, range),
    ctx.sql.rowHashes(ctx.target, ctx.targetScope, range),
  ]);
  if (ctx.sourceScope.filter !== undefined) {
    // Incremental: a row changed since the watermark on one side only is compared with
    // the other side's copy whatever its update time.
    const { sourceOnly, targetOnly } = oneSided(sourceRows, targetRows);
    const [targetCopies, sourceCopies] = await Promise.all([
      byKeys(ctx, ctx.target, ctx.targetScope, sourceOnly),
      byKeys(ctx, ctx.source, ctx.sourceScope, targetOnly),
    ]);
    sourceRows = unionByKey(sourceRows, sourceCopies);
    targetRows = unionByKey(targetRows, targetCopies);
  }
  return {
    sourceRows: s.count,
    targetRows: t.count,
    matched: false,
    diffs: compareRowHashes(sourceRows, targetRows),
  };
}

const LOOKUP_BATCH = 1000;

async function byKeys(
  ctx: ChunkContext,
  db: AnyKysely,
  scope: TableScope,
  keys: unknown[][],
): Promise<RowHash[]> {
  const unfiltered = { ...scope, filter: undefined };
  const out: RowHash[] = [];
  for (let i = 0; i < keys.length; i += LOOKUP_BATCH) {
    out.push(...(await ctx.sql.rowHashesByKeys(db, unfiltered, keys.slice(i, i + LOOKUP_BATCH))));
  }
  return out;
}

/** The `transform` path: read both sides' rows and compare them in the process. */
async function checkTransformed(
  ctx: ChunkContext,
  transform: (row: Record<string, unknown>) => Record<string, unknown>,
  range: KeyRange,
): Promise<ChunkOutcome> {
  const [sourceRows, targetRows] = await Promise.all([
    ctx.sql.rows(ctx.source, ctx.sourceScope, range),
    ctx.sql.rows(ctx.target, ctx.targetScope, range),
  ]);
  const key = ctx.targetScope.key;
  const columns = [...key, ...ctx.targetScope.columns];
  const hashed = (row: Record<string, unknown>): RowHash => ({
    key: key.map((c) => row[c]),
    hash: canonicalRow(row, columns),
  });
  const diffs = compareRowHashes(
    sourceRows.map((row) => hashed(transform(row))),
    targetRows.map(hashed),
  );
  return {
    sourceRows: sourceRows.length,
    targetRows: targetRows.length,
    matched: diffs.length === 0,
    diffs,
  };
}
