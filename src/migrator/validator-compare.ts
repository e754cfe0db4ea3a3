// Row-by-row comparison of one chunk, run only when the chunk checksums differ: match the
// two sides' rows by key, in both directions.

import type { RowHash } from './checksum-sql.js';
import { keyId } from './chunk-key.js';

/** @internal A differing row: its key values and the kind of difference. */
export interface RowDiff {
  readonly key: unknown[];
  readonly kind: 'missing' | 'extra' | 'changed';
}

/**
 * @internal Compare the rows of the two sides by key: on the source only → `missing`,
 * on the target only → `extra`, different hashes → `changed`. Output in source order,
 * then the extras in target order.
 */
export function compareRowHashes(
  source: readonly RowHash[],
  target: readonly RowHash[],
): RowDiff[] {
  const targetById = new Map<string, RowHash>();
  for (const row of target) targetById.set(keyId(row.key), row);
  const diffs: RowDiff[] = [];
  for (const row of source) {
    const id = keyId(row.key);
    const other = targetById.get(id);
    if (other === undefined) diffs.push({ key: row.key, kind: 'missing' });
    else {
      if (other.hash !== row.hash) diffs.push({ key: row.key, kind: 'changed' });
      targetById.delete(id);
    }
  }
  for (const row of targetById.values()) diffs.push({ key: row.key, kind: 'extra' });
  return diffs;
}

/**
 * @internal Keys present on one side only: in the incremental pass each side lists the
 * rows changed since the watermark, and a row changed on one side only must be looked up
 * on the other side by key (its copy there may be older, or deleted).
 */
export function oneSided(
  source: readonly RowHash[],
  target: readonly RowHash[],
): { sourceOnly: unknown[][]; targetOnly: unknown[][] } {
  const sourceIds = new Set(source.map((r) => keyId(r.key)));
  const targetIds = new Set(target.map((r) => keyId(r.key)));
  return {
    sourceOnly: source.filter((r) => !targetIds.has(keyId(r.key))).map((r) => r.key),
    targetOnly: target.filter((r) => !sourceIds.has(keyId(r.key))).map((r) => r.key),
  };
}

/** @internal Union of two row lists by key (the first list wins on duplicates). */
export function unionByKey(first: readonly RowHash[], second: readonly RowHash[]): RowHash[] {
  const seen = new Set(first.map((r) => keyId(r.key)));
  return [...first, ...second.filter((r) => !seen.has(keyId(r.key)))];
}

/**
 * @internal The `transform` path: a process-side "hash" of a row, a canonical text of its
 * values in column order, with the same NULL marker and length prefix as the SQL encoding.
 */
export function canonicalRow(row: Record<string, unknown>, columns: readonly string[]): string {
  let out = '';
  for (const column of columns) {
    const value = row[column];
    if (value === null || value === undefined) {
      out += 'N';
      continue;
    }
    const text = canonicalValue(value);
    out += `V${text.length}:${text}`;
  }
  return out;
}

function canonicalValue(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (typeof value === 'object') return stableJson(value);
  return String(value);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value instanceof Date ? value.toISOString() : value) ?? 'null';
}
