// The validator's MySQL SQL, compiled without a server: Kysely's MySQL adapter and query
// compiler over a driver that returns no rows, with every statement captured. No MySQL
// server can run on the CI machines, so this checks the text (quoting, placeholders,
// encoding) and nothing about how a real server runs it: see docs/migrator.md, "MySQL".
import {
  DummyDriver,
  Kysely,
  MysqlAdapter,
  MysqlIntrospector,
  MysqlQueryCompiler,
  type QueryResult,
} from 'kysely';
import { describe, expect, it } from 'vitest';
import { checksumSqlFor, type TableScope } from '../../src/migrator/checksum-sql.js';

/** A Kysely on the MySQL dialect whose every statement lands in `sent`; rows come back empty. */
function mysqlRecorder() {
  const sent: { sql: string; parameters: readonly unknown[] }[] = [];
  class RecordingDriver extends DummyDriver {
    override async acquireConnection() {
      return {
        async executeQuery<R>(query: { sql: string; parameters: readonly unknown[] }) {
          sent.push({ sql: query.sql, parameters: query.parameters });
          return { rows: [] } as QueryResult<R>;
        },
        async *streamQuery() {},
      };
    }
  }
  // biome-ignore lint/suspicious/noExplicitAny: tables are named at run time.
  const db = new Kysely<any>({
    dialect: {
      createAdapter: () => new MysqlAdapter(),
      createDriver: () => new RecordingDriver(),
      createIntrospector: (k) => new MysqlIntrospector(k),
      createQueryCompiler: () => new MysqlQueryCompiler(),
    },
  });
  return { db, sent };
}

const mysql = checksumSqlFor('mysql');
const single: TableScope = { table: 'orders', key: ['id'], columns: ['status', 'total'] };
const composite: TableScope = {
  table: 'shop.order_lines',
  key: ['tenant_id', 'id'],
  columns: ['qty'],
  filter: { column: 'updated_at', since: '2026-01-01 00:00:00' },
};

/** The row encoding of one column, as the MySQL dialect writes it. */
const enc = (c: string) =>
  `if(\`${c}\` is null, 'N', concat('V', char_length(cast(\`${c}\` as char)), ':', cast(\`${c}\` as char)))`;

describe('validator SQL on the MySQL dialect (compiled, no server)', () => {
  it('chunk checksum: md5 of the length-prefixed encoding, summed as unsigned 64-bit prefixes', async () => {
    const { db, sent } = mysqlRecorder();
    await mysql.chunkChecksum(db, single, { after: [10], upTo: [20] });
    expect(sent).toEqual([
      {
        sql:
          'select count(*) as `n`, ' +
          `cast(coalesce(sum(cast(conv(substring(md5(concat(${enc('id')}, ${enc('status')}, ${enc('total')})), 1, 16), 16, 10) as unsigned)), 0) as char) as \`s\`` +
          ' from `orders` where `id` > ? and `id` <= ?',
        parameters: [10, 20],
      },
    ]);
  });

  it('composite keys compare as row values; the incremental filter is one more condition', async () => {
    const { db, sent } = mysqlRecorder();
    await mysql.rowHashes(db, composite, { after: [1, 5], upTo: undefined });
    await mysql.rowHashesByKeys(db, composite, [
      [1, 6],
      [2, 7],
    ]);
    await mysql.countRows(db, composite);
    const hash = `md5(concat(${enc('tenant_id')}, ${enc('id')}, ${enc('qty')}))`;
    expect(sent).toEqual([
      {
        sql:
          `select \`tenant_id\`, \`id\`, ${hash} as \`girder_row_hash\` from \`shop\`.\`order_lines\`` +
          ' where (`tenant_id`, `id`) > (?, ?) and `updated_at` >= ?',
        parameters: [1, 5, '2026-01-01 00:00:00'],
      },
      {
        sql:
          `select \`tenant_id\`, \`id\`, ${hash} as \`girder_row_hash\` from \`shop\`.\`order_lines\`` +
          ' where (`tenant_id`, `id`) in ((?, ?), (?, ?))',
        parameters: [1, 6, 2, 7],
      },
      {
        sql: 'select count(*) as `n` from `shop`.`order_lines` where `updated_at` >= ?',
        parameters: ['2026-01-01 00:00:00'],
      },
    ]);
  });

  it('chunk boundaries: LIMIT/OFFSET as literals, then the last key; rows in key order', async () => {
    const { db, sent } = mysqlRecorder();
    expect(await mysql.boundary(db, single, [100], 500)).toBeUndefined();
    await mysql.rows(db, single, { after: undefined, upTo: [50] });
    expect(sent).toEqual([
      {
        sql: 'select `id` from `orders` where `id` > ? order by `id` asc limit 1 offset 499',
        parameters: [100],
      },
      {
        sql: 'select `id` from `orders` where `id` > ? order by `id` desc limit 1',
        parameters: [100],
      },
      {
        sql: 'select `id`, `status`, `total` from `orders` where `id` <= ? order by `id` asc',
        parameters: [50],
      },
    ]);
  });

  it('row estimate from information_schema of the current database, schema prefix dropped', async () => {
    const { db, sent } = mysqlRecorder();
    expect(await mysql.estimateRows(db, 'shop.order_lines')).toBeUndefined();
    expect(sent).toEqual([
      {
        sql: 'select table_rows as n from information_schema.tables where table_schema = database() and table_name = ?',
        parameters: ['order_lines'],
      },
    ]);
  });
});
