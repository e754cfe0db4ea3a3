#!/usr/bin/env node
// girder-migrate: validate, fix and inspect a table move between two databases from a
// shell. Exit codes: 0 ok (validate: no differences), 1 differences left, 2 usage or
// connection error.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { systemClock } from '../core/index.js';
import { openDatabase } from './cli-db.js';
import { progressReporter } from './cli-progress.js';
import { fixer } from './fixer.js';
import { DEFAULT_REPAIR_LOG_TABLE } from './repair-log.js';
import type { AnyDb } from './shared.js';
import { DEFAULT_PHASE_TABLE } from './sql-phase-store.js';
import { validator } from './validator.js';
import type { ValidationResult } from './validator-types.js';

const USAGE = `usage: girder-migrate <validate|fix|status> --source <url> --target <url> --table <t> --key <column>
  [--target-table <t>] [--columns a,b,c] [--chunk-size n] [--version <column>] [--primary source|target]
  [--repair-log <table>] [--phase-table <table>] [--name <migration>] [--json]
urls: postgres://user@host:port/db or pglite:<dir>
  validate  full chunk-checksum validation; exit 1 when differences are found
  fix       drain the repair log (if present), validate, fix every difference (needs --version)
  status    row counts, phase and repair log size`;

/** @internal Where the CLI writes: stdout for results, stderr for progress and errors. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { isTTY?: boolean; write(text: string): unknown };
}

const options = {
  source: { type: 'string' },
  target: { type: 'string' },
  table: { type: 'string' },
  'target-table': { type: 'string' },
  key: { type: 'string' },
  columns: { type: 'string' },
  'chunk-size': { type: 'string' },
  version: { type: 'string' },
  primary: { type: 'string', default: 'source' },
  'repair-log': { type: 'string', default: DEFAULT_REPAIR_LOG_TABLE },
  'phase-table': { type: 'string', default: DEFAULT_PHASE_TABLE },
  name: { type: 'string', default: 'migration' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

class UsageError extends Error {}

async function tableExists(db: AnyDb, table: string): Promise<boolean> {
  const tables = await db.introspection.getTables();
  return tables.some((t) => t.name === table || `${t.schema}.${t.name}` === table);
}

async function columnsOf(db: AnyDb, table: string, key: string): Promise<string[]> {
  const tables = await db.introspection.getTables();
  const found = tables.find((t) => t.name === table || `${t.schema}.${t.name}` === table);
  if (found === undefined) throw new UsageError(`table "${table}" not found on the source`);
  return found.columns.map((c) => c.name).filter((c) => c !== key);
}

async function count(db: AnyDb, table: string): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** @internal Runs the CLI with `argv` (without node and script); resolves the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const command = positionals[0];
  if (v.help || command === undefined) {
    io.stdout.write(`${USAGE}\n`);
    return v.help ? 0 : 2;
  }
  const dbs: AnyDb[] = [];
  try {
    if (!['validate', 'fix', 'status'].includes(command))
      throw new UsageError(`unknown command "${command}"`);
    for (const required of ['source', 'target', 'table', 'key'] as const) {
      if (v[required] === undefined) throw new UsageError(`--${required} is required`);
    }
    const source = await openDatabase(v.source as string);
    dbs.push(source);
    const target = await openDatabase(v.target as string);
    dbs.push(target);
    const table = v.table as string;
    const targetTable = v['target-table'] ?? table;
    const key = v.key as string;
    const print = (human: string, data: unknown) =>
      io.stdout.write(v.json ? `${JSON.stringify(data)}\n` : `${human}\n`);

    if (command === 'status') {
      const [sourceRows, targetRows] = await Promise.all([
        count(source, table),
        count(target, targetTable),
      ]);
      let phase: string | undefined;
      if (await tableExists(source, v['phase-table'])) {
        const row = await source
          .selectFrom(v['phase-table'])
          .select('phase')
          .where('name', '=', v.name)
          .executeTakeFirst();
        phase = row?.phase as string | undefined;
      }
      let repairLog: number | undefined;
      if (await tableExists(source, v['repair-log'])) {
        const row = await source
          .selectFrom(v['repair-log'])
          .select((eb) => eb.fn.countAll().as('n'))
          .where('table_name', '=', table)
          .executeTakeFirst();
        repairLog = Number(row?.n ?? 0);
      }
      print(
        `table ${table}: source ${sourceRows} rows, target ${targetRows} rows; phase ${phase ?? 'unknown'}; repair log ${repairLog ?? 'none'}`,
        { table, sourceRows, targetRows, phase: phase ?? null, repairLog: repairLog ?? null },
      );
      return 0;
    }

    const chunkSize = v['chunk-size'] === undefined ? undefined : Number(v['chunk-size']);
    if (chunkSize !== undefined && !(Number.isInteger(chunkSize) && chunkSize > 0)) {
      throw new UsageError('--chunk-size must be a positive integer');
    }
    const columns =
      v.columns
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean) ?? (await columnsOf(source, table, key));
    const validate = async (): Promise<ValidationResult> => {
      const check = validator({
        source,
        target,
        table,
        targetTable,
        key,
        columns,
        ...(chunkSize !== undefined ? { chunkSize } : {}),
        maxDiffs: 1_000_000,
      });
      const progress = progressReporter(io.stderr, systemClock.now);
      check.events.on('progress', (p) => progress.update(p));
      try {
        return await check.start().result;
      } finally {
        progress.done();
        await check.close();
      }
    };
    const report = (r: ValidationResult) =>
      print(
        `${r.rowsChecked} rows in ${r.chunks} chunks: ${r.differences} differences (missing ${r.missing}, extra ${r.extra}, changed ${r.changed})`,
        {
          rowsChecked: r.rowsChecked,
          chunks: r.chunks,
          missing: r.missing,
          extra: r.extra,
          changed: r.changed,
          differences: r.differences,
        },
      );

    if (command === 'validate') {
      const result = await validate();
      report(result);
      return result.differences === 0 ? 0 : 1;
    }

    // fix
    if (v.version === undefined)
      throw new UsageError('fix needs --version <column> (compare-and-set)');
    if (v.primary !== 'source' && v.primary !== 'target')
      throw new UsageError('--primary is source or target');
    const hasLog = await tableExists(source, v['repair-log']);
    const fix = fixer({
      source,
      target,
      table,
      targetTable,
      key,
      version: v.version,
      primary: v.primary,
      ...(hasLog ? { repairLog: { db: source, table: v['repair-log'] } } : {}),
    });
    const drained = hasLog ? await fix.drainRepairLog() : undefined;
    if (drained !== undefined)
      print(`repair log: ${JSON.stringify(drained)}`, { repairLog: drained });
    const before = await validate();
    report(before);
    const summary = await fix.fixAll(before.diffs);
    print(
      `fixed: copied ${summary.copied}, deleted ${summary.deleted}, skipped ${summary.skipped}, failed ${summary.failed}`,
      { fixed: summary },
    );
    return summary.failed === 0 && !before.diffsTruncated ? 0 : 1;
  } catch (error) {
    io.stderr.write(`girder-migrate: ${(error as Error).message}\n`);
    if (error instanceof UsageError) io.stderr.write(`${USAGE}\n`);
    return 2;
  } finally {
    await Promise.all(dbs.map((db) => db.destroy().catch(() => {})));
  }
}

const invokedDirectly = (() => {
  try {
    return (
      process.argv[1] !== undefined &&
      realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
})();

if (invokedDirectly) {
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`girder-migrate: ${String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
