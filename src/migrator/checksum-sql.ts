// Every SQL text the validator sends, per dialect, in one place. Identifiers go through
// Kysely's `sql.ref`/`sql.table` (quoted by the dialect); values are always parameters.
//
// Row encoding (the input of the per-row hash): for each column, in a fixed order (key
// columns first, then the compared columns),
//   NULL     -> 'N'
//   a value  -> 'V' || <length of its text> || ':' || <its text>
// concatenated. The explicit NULL marker keeps NULL apart from '' ('N' vs 'V0:'), and
// the length prefix keeps ('ab','c') apart from ('a','bc'): without it both encode to 'abc'.
// The row hash is md5 of that text; a chunk's checksum is the SUM of the first 64 bits of
// each row hash (as a signed integer, summed in an exact numeric type so nothing
// overflows) together with COUNT(*). A sum does not depend on row order, and unlike XOR
// it does not cancel two equal contributions.
import { type RawBuilder, sql } from 'kysely';
import type { AnyKysely, ChecksumDialect } from './validator-types.js';

/** @internal A key range: rows with key > `after` (when set) and key <= `upTo` (when set). */
export interface KeyRange {
  readonly after: readonly unknown[] | undefined;
  readonly upTo: readonly unknown[] | undefined;
}

/** @internal Extra row filter of the incremental pass: `updatedAt >= since`. */
export interface SinceFilter {
  readonly column: string;
  readonly since: unknown;
}

/** @internal What a query is about: table, key and compared columns, optional filter. */
export interface TableScope {
  readonly table: string;
  readonly key: readonly string[];
  readonly columns: readonly string[];
  readonly filter?: SinceFilter | undefined;
}

/** @internal Count and order-independent checksum of the rows of one range. */
export interface ChunkChecksum {
  readonly count: number;
  readonly sum: string;
}

/** @internal One row's key values and hash. */
export interface RowHash {
  readonly key: unknown[];
  readonly hash: string;
}

/** @internal The per-dialect SQL the validator needs. */
export interface ChecksumSql {
  /** Count and checksum of the rows in `range`. */
  chunkChecksum(db: AnyKysely, scope: TableScope, range: KeyRange): Promise<ChunkChecksum>;
  /** Key and hash of every row in `range`. */
  rowHashes(db: AnyKysely, scope: TableScope, range: KeyRange): Promise<RowHash[]>;
  /** Key and hash of the rows with these keys (no filter). */
  rowHashesByKeys(db: AnyKysely, scope: TableScope, keys: readonly unknown[][]): Promise<RowHash[]>;
  /** The key of the `n`-th row after `after`, or of the last row when fewer remain; `undefined` when none. */
  boundary(
    db: AnyKysely,
    scope: TableScope,
    after: readonly unknown[] | undefined,
    n: number,
  ): Promise<unknown[] | undefined>;
  /** Full rows (key + columns) in `range`, ordered by key (the `transform` path). */
  rows(db: AnyKysely, scope: TableScope, range: KeyRange): Promise<Record<string, unknown>[]>;
  /** Row count from planner statistics, or `undefined` when the table was never analysed. */
  estimateRows(db: AnyKysely, table: string): Promise<number | undefined>;
  /** Exact row count (with the filter, if any). */
  countRows(db: AnyKysely, scope: TableScope): Promise<number>;
}

const refs = (columns: readonly string[]) => sql.join(columns.map((c) => sql.ref(c)));

/** `(k1, k2) > ($1, $2)`: row-value comparison, the same in PostgreSQL and MySQL. */
function keyCompare(key: readonly string[], op: '>' | '<=', values: readonly unknown[]) {
  const left = key.length === 1 ? sql.ref(key[0]!) : sql`(${refs(key)})`;
  const right =
    key.length === 1 ? sql`${values[0]}` : sql`(${sql.join(values.map((v) => sql`${v}`))})`;
  return sql`${left} ${sql.raw(op)} ${right}`;
}

function where(scope: TableScope, range: KeyRange): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  if (range.after !== undefined) parts.push(keyCompare(scope.key, '>', range.after));
  if (range.upTo !== undefined) parts.push(keyCompare(scope.key, '<=', range.upTo));
  if (scope.filter !== undefined) {
    parts.push(sql`${sql.ref(scope.filter.column)} >= ${scope.filter.since}`);
  }
  return parts.length === 0 ? sql`` : sql`where ${sql.join(parts, sql` and `)}`;
}

const orderBy = (key: readonly string[], direction: 'asc' | 'desc') =>
  sql.join(key.map((c) => sql`${sql.ref(c)} ${sql.raw(direction)}`));

const keyOf = (row: Record<string, unknown>, key: readonly string[]) => key.map((c) => row[c]);

/** Builds the dialect object from the two dialect-specific expressions. */
function checksumSql(
  rowHash: (columns: readonly string[]) => RawBuilder<string>,
  chunkSum: (hash: RawBuilder<string>) => RawBuilder<string>,
  estimate: (db: AnyKysely, table: string) => Promise<number | undefined>,
): ChecksumSql {
  const hashOf = (scope: TableScope) => rowHash([...scope.key, ...scope.columns]);
  const rowHashes = async (db: AnyKysely, scope: TableScope, condition: RawBuilder<unknown>) => {
    const { rows } = await sql<
      Record<string, unknown>
    >`select ${refs(scope.key)}, ${hashOf(scope)} as ${sql.ref('girder_row_hash')} from ${sql.table(scope.table)} ${condition}`.execute(
      db,
    );
    return rows.map((row) => ({ key: keyOf(row, scope.key), hash: String(row.girder_row_hash) }));
  };
  return {
    async chunkChecksum(db, scope, range) {
      const { rows } = await sql<{
        n: unknown;
        s: unknown;
      }>`select count(*) as ${sql.ref('n')}, ${chunkSum(hashOf(scope))} as ${sql.ref('s')} from ${sql.table(scope.table)} ${where(scope, range)}`.execute(
        db,
      );
      const row = rows[0];
      return { count: Number(row?.n ?? 0), sum: String(row?.s ?? '0') };
    },
    rowHashes: (db, scope, range) => rowHashes(db, scope, where(scope, range)),
    async rowHashesByKeys(db, scope, keys) {
      if (keys.length === 0) return [];
      const left = scope.key.length === 1 ? sql.ref(scope.key[0]!) : sql`(${refs(scope.key)})`;
      const tuples = keys.map((k) =>
        scope.key.length === 1 ? sql`${k[0]}` : sql`(${sql.join(k.map((v) => sql`${v}`))})`,
      );
      return rowHashes(db, scope, sql`where ${left} in (${sql.join(tuples)})`);
    },
    async boundary(db, scope, after, n) {
      const condition = where(scope, { after, upTo: undefined });
      const from = sql`from ${sql.table(scope.table)} ${condition}`;
      const nth = await sql<
        Record<string, unknown>
      >`select ${refs(scope.key)} ${from} order by ${orderBy(scope.key, 'asc')} limit 1 offset ${sql.lit(n - 1)}`.execute(
        db,
      );
      if (nth.rows[0] !== undefined) return keyOf(nth.rows[0], scope.key);
      const last = await sql<
        Record<string, unknown>
      >`select ${refs(scope.key)} ${from} order by ${orderBy(scope.key, 'desc')} limit 1`.execute(
        db,
      );
      return last.rows[0] === undefined ? undefined : keyOf(last.rows[0], scope.key);
    },
    async rows(db, scope, range) {
      const { rows } = await sql<
        Record<string, unknown>
      >`select ${refs([...scope.key, ...scope.columns])} from ${sql.table(scope.table)} ${where(scope, range)} order by ${orderBy(scope.key, 'asc')}`.execute(
        db,
      );
      return rows;
    },
    estimateRows: estimate,
    async countRows(db, scope) {
      const { rows } = await sql<{
        n: unknown;
      }>`select count(*) as ${sql.ref('n')} from ${sql.table(scope.table)} ${where(scope, { after: undefined, upTo: undefined })}`.execute(
        db,
      );
      return Number(rows[0]?.n ?? 0);
    },
  };
}

/** PostgreSQL and PGlite. `::text` renders every type (timestamps in the session's TimeZone). */
const postgres = checksumSql(
  (columns) => {
    const encoded = columns.map(
      (c) =>
        sql`case when ${sql.ref(c)} is null then 'N' else 'V' || length(${sql.ref(c)}::text) || ':' || ${sql.ref(c)}::text end`,
    );
    return sql<string>`md5(${sql.join(encoded, sql` || `)})`;
  },
  (hash) => sql<string>`coalesce(sum(('x' || substr(${hash}, 1, 16))::bit(64)::bigint), 0)::text`,
  async (db, table) => {
    const { rows } = await sql<{
      n: unknown;
    }>`select reltuples::bigint as n from pg_class where oid = to_regclass(${table})`.execute(db);
    const n = Number(rows[0]?.n ?? -1);
    return n > 0 ? n : undefined;
  },
);

/** MySQL 8 (untested here: no MySQL server on the CI machines). */
const mysql = checksumSql(
  (columns) => {
    const encoded = columns.map(
      (c) =>
        sql`if(${sql.ref(c)} is null, 'N', concat('V', char_length(cast(${sql.ref(c)} as char)), ':', cast(${sql.ref(c)} as char)))`,
    );
    return sql<string>`md5(concat(${sql.join(encoded)}))`;
  },
  (hash) =>
    sql<string>`cast(coalesce(sum(cast(conv(substring(${hash}, 1, 16), 16, 10) as unsigned)), 0) as char)`,
  async (db, table) => {
    const name = table.includes('.') ? table.split('.')[1]! : table;
    const { rows } = await sql<{
      n: unknown;
    }>`select table_rows as n from information_schema.tables where table_schema = database() and table_name = ${name}`.execute(
      db,
    );
    const n = Number(rows[0]?.n ?? -1);
    return n > 0 ? n : undefined;
  },
);

/** @internal The SQL of a dialect. */
export function checksumSqlFor(dialect: ChecksumDialect): ChecksumSql {
  return dialect === 'mysql' ? mysql : postgres;
}
