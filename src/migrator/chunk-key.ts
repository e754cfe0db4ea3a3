// Key values as the driver returns them, turned into stable strings (for matching rows of
// the two sides in a Map) and into JSON (for the state table), and back.

/** @internal A key value in a JSON-safe form: Dates as ISO text, bigints as decimal text. */
export function jsonSafe(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** @internal Stable identity of a row's key, equal for equal values from either side. */
export function keyId(key: readonly unknown[]): string {
  return JSON.stringify(key.map(jsonSafe));
}

/** @internal Key values as an object, column name to value, for events and diffs. */
export function keyObject(
  columns: readonly string[],
  key: readonly unknown[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    out[column] = jsonSafe(key[i]);
  });
  return out;
}

/** @internal Key values for the state table (parsed back by {@link parseKey}). */
export function serializeKey(key: readonly unknown[] | undefined): string | null {
  return key === undefined ? null : JSON.stringify(key.map(jsonSafe));
}

/** @internal Inverse of {@link serializeKey}; values come back as JSON (ISO text for dates). */
export function parseKey(text: string | null): unknown[] | undefined {
  return text === null ? undefined : (JSON.parse(text) as unknown[]);
}
