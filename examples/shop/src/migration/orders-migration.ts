// The live-migration demo's composition: the `orders` table moves from the main database
// to a second one while orders keep being placed. girder/migrator does the work: the
// phase lives in a row of the main database (`sqlPhaseStore`), writes are routed by
// `dualWrite` (see ./order-rows.ts for how that meets the service's transactions), and
// `migrationControl` gates the switches on a clean full validation and runs the fixer.
import type { Clock } from 'girder/core';
import type { Logger } from 'girder/logger';
import {
  createPhaseTable,
  createRepairLogTable,
  type DualWriter,
  dualWrite,
  type Fixer,
  fixer,
  type MigrationControl,
  migrationControl,
  type PhaseStore,
  sqlPhaseStore,
  validator,
} from 'girder/migrator';
import type { Db } from '../db/schema.js';
import type { OrderRows } from '../orders/order-rows.js';
import { migratingOrderRows } from './order-rows.js';
import {
  dropOrderItemsForeignKey,
  type MigrationTarget,
  type MigrationTargetConfig,
  openMigrationTarget,
} from './target.js';

/** The demo's settings (`SHOP_MIGRATION`, `SHOP_MIGRATION_TARGET_URL`). */
export interface MigrationConfig {
  /** Where `orders` moves to. */
  target: MigrationTargetConfig;
  /** How often each instance re-reads the phase row. */
  phasePollMs: number;
}

/** Compared by the validator: every column but the key. */
export const ORDER_COLUMNS = [
  'user_id',
  'request_id',
  'status',
  'total_cents',
  'cancel_reason',
  'expires_at',
  'created_at',
  'updated_at',
  'paid_at',
  'cancelled_at',
  'paid_by',
] as const;

export interface OrdersMigration {
  /** The store the orders service writes through. */
  readonly rows: OrderRows;
  /** Status, gated switches, validation, fixes (also over HTTP). */
  readonly control: MigrationControl;
  readonly phase: PhaseStore;
  readonly writer: DualWriter;
  readonly fixer: Fixer;
  readonly target: MigrationTarget;
  /** The main database (source). */
  readonly main: Db;
  close(): Promise<void>;
}

export interface OrdersMigrationOptions {
  config: MigrationConfig;
  /** The main database: the source, and home of the phase row and the repair log. */
  main: Db;
  logger: Logger;
  clock: Clock;
  /** An already opened target (tests); default: open `config.target`. */
  target?: MigrationTarget;
}

export async function startOrdersMigration(
  options: OrdersMigrationOptions,
): Promise<OrdersMigration> {
  const { main, logger, clock } = options;
  const target = options.target ?? (await openMigrationTarget(options.config.target));
  try {
    await createPhaseTable(main);
    await createRepairLogTable(main);
    await dropOrderItemsForeignKey(main);
    const phase = await sqlPhaseStore(main, {
      name: 'orders',
      pollMs: options.config.phasePollMs,
      clock,
      logger,
    });
    const common = {
      source: main,
      target: target.db,
      table: 'orders',
      key: 'order_no',
    };
    const writer = dualWrite({
      ...common,
      phase,
      // `updated_at` is set by every write of an order and only grows.
      version: 'updated_at',
      bumpVersion: false,
      repairLog: { db: main },
      name: 'orders',
      logger,
      clock,
    });
    const fix = fixer({
      ...common,
      version: 'updated_at',
      primary: phase,
      repairLog: { db: main },
      name: 'orders',
      logger,
      clock,
    });
    const control = migrationControl({
      phaseStore: phase,
      validator: validator({
        ...common,
        columns: [...ORDER_COLUMNS],
        chunkSize: 500,
        name: 'orders',
        clock,
      }),
      fixer: fix,
      name: 'orders',
      logger,
      clock,
    });
    const rows = migratingOrderRows({
      main,
      target: target.db,
      orders: writer,
      logger,
    });
    return {
      rows,
      control,
      phase,
      writer,
      fixer: fix,
      target,
      main,
      async close() {
        await control.close().catch(() => {});
        await phase.close().catch(() => {});
        if (options.target === undefined) await target.close().catch(() => {});
      },
    };
  } catch (err) {
    if (options.target === undefined) await target.close().catch(() => {});
    throw err;
  }
}
