// The ops page's view of the live migration of `orders` (girder/migrator): the phase and
// its gate, the running validation's progress, the last validation's diff counts, fixes
// applied and copies that failed on this instance (followed through events), the switch
// log, and the repair-log backlog (asked of the database on each snapshot).
import { DEFAULT_REPAIR_LOG_TABLE, type Phase } from 'girder/migrator';
import { sql } from 'kysely';
import type { OrdersMigration } from '../migration/orders-migration.js';

export interface MigrationSwitchView {
  from: Phase;
  to: Phase;
  forced: boolean;
  by: string | null;
  at: number;
}

export interface MigrationOpsSnapshot {
  /** False when the demo is off (`SHOP_MIGRATION`); nothing else is set then. */
  enabled: boolean;
  /** Where `orders` moves to. */
  target?: string;
  phase?: Phase;
  /** The next forward phase and whether the gate lets it through now. */
  gate?: { next: Phase | null; open: boolean; reason: string | null };
  /** The validation running now. */
  validation?: {
    runId: string;
    rowsDone: number;
    estimatedRows: number | null;
    etaMs: number | null;
    differences: number;
  } | null;
  /** The last finished validation since the last phase change. */
  lastValidation?: {
    status: 'done' | 'stopped';
    mode: 'full' | 'incremental';
    rowsChecked: number;
    missing: number;
    extra: number;
    changed: number;
    differences: number;
    finishedAt: number;
  } | null;
  /** Totals of every fixer run on this instance. */
  fixes?: { runs: number; copied: number; deleted: number; skipped: number; failed: number };
  /** Copies to the other side that failed on this instance (each went to the repair log). */
  secondaryFailures?: number;
  /** Repair-log rows waiting for the fixer; null when the database could not say. */
  repairBacklog?: number | null;
  /** The latest switches, newest first. */
  switches?: MigrationSwitchView[];
}

export function migrationOps(migration: OrdersMigration | undefined, clock: { now(): number }) {
  if (migration === undefined) {
    return {
      snapshot: async (): Promise<MigrationOpsSnapshot> => ({ enabled: false }),
      stop() {},
    };
  }
  const { control, writer } = migration;
  const fixes = { runs: 0, copied: 0, deleted: 0, skipped: 0, failed: 0 };
  let secondaryFailures = 0;
  const switches: MigrationSwitchView[] = [];
  const offs = [
    control.events.on('fixed', ({ summary }) => {
      fixes.runs++;
      fixes.copied += summary.copied;
      fixes.deleted += summary.deleted;
      fixes.skipped += summary.skipped;
      fixes.failed += summary.failed;
    }),
    control.events.on('switched', ({ from, to, forced, by }) => {
      switches.unshift({ from, to, forced, by: by ?? null, at: clock.now() });
      switches.length = Math.min(switches.length, 10);
    }),
    writer.events.on('secondaryFailed', () => {
      secondaryFailures++;
    }),
  ];
  const backlog = async () => {
    const { rows } = await sql<{ n: string | number }>`
      select count(*) as n from ${sql.table(DEFAULT_REPAIR_LOG_TABLE)} where table_name = 'orders'
    `.execute(migration.main);
    return Number(rows[0]?.n ?? 0);
  };
  return {
    async snapshot(): Promise<MigrationOpsSnapshot> {
      const status = await control.status();
      const last = status.lastValidation;
      return {
        enabled: true,
        target: migration.target.description,
        phase: status.phase,
        gate: {
          next: status.gate.next ?? null,
          open: status.gate.open,
          reason: status.gate.reason ?? null,
        },
        validation: status.running
          ? {
              runId: status.running.runId,
              rowsDone: status.running.progress.rowsDone,
              estimatedRows: status.running.progress.estimatedRows ?? null,
              etaMs: status.running.progress.etaMs ?? null,
              differences: status.running.progress.differences,
            }
          : null,
        lastValidation: last
          ? {
              status: last.status,
              mode: last.mode,
              rowsChecked: last.rowsChecked,
              missing: last.missing,
              extra: last.extra,
              changed: last.changed,
              differences: last.differences,
              finishedAt: last.finishedAt,
            }
          : null,
        fixes: { ...fixes },
        secondaryFailures,
        repairBacklog: await backlog().catch(() => null),
        switches: [...switches],
      };
    },
    stop() {
      for (const off of offs) off();
    },
  };
}
