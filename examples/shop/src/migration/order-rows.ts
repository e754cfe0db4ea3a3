// The `orders` rows during the live migration: girder/migrator's dual writer decides
// which database is in charge; this file decides how that meets the orders service's
// transactions, which also write `order_items` and stock reservations in the main
// database. One transaction cannot span two databases, so:
//
// - source-only:  the order row is written in the main transaction (as without a migration).
// - source-first: written in the main transaction; after the commit it is copied to the
//   target through `dualWrite.write.run`, so a failed copy is recorded (event + repair
//   log), never thrown. Every order write is in a transaction the orders service opens
//   (marking paid too: no other service's transaction writes an order).
// - target-first: written on the target first (its own commit), then copied into the main
//   database inside the main transaction, so the main copy commits with the items and
//   stock. If the main transaction fails, the target write is undone (compare-and-set on
//   `updated_at`).
// - target-only:  written on the target (undone the same way); the main table is left alone.
import type { Logger } from 'girder/logger';
import type { DualWriter, Phase } from 'girder/migrator';
import type { Db } from '../db/schema.js';
import {
  dueOrders,
  findOrders,
  type OrderRow,
  type OrderRows,
  type OrderWrites,
  orderWritesOn,
  unitsSoldJoined,
} from '../orders/order-rows.js';

export interface MigratingOrderRowsOptions {
  /** The main database (the source). */
  main: Db;
  /** The second database (the target). */
  target: Db;
  /** Routing per the live phase, and the recording of failed copies. */
  orders: DualWriter;
  logger: Logger;
}

/** Copies `row` into `db`'s `orders` unless `db` holds a newer version (by `updated_at`). */
export async function copyNotOlder(db: Db, row: OrderRow): Promise<void> {
  const { order_no: _key, ...rest } = row;
  await db
    .insertInto('orders')
    .values(row)
    .onConflict((oc) =>
      oc
        .column('order_no')
        .doUpdateSet((eb) =>
          Object.fromEntries(
            Object.keys(rest).map((c) => [c, eb.ref(`excluded.${c as keyof OrderRow}`)]),
          ),
        )
        .whereRef('orders.updated_at', '<=', 'excluded.updated_at'),
    )
    .execute();
}

const readRow = (db: Db, orderNo: string) =>
  db.selectFrom('orders').selectAll().where('order_no', '=', orderNo).executeTakeFirst();

const inCharge = (phase: Phase): 'source' | 'target' =>
  phase === 'source-only' || phase === 'source-first' ? 'source' : 'target';

export function migratingOrderRows(options: MigratingOrderRowsOptions): OrderRows {
  const { main, target, orders, logger } = options;
  const readDb = () => orders.read as unknown as Db;

  /** After the main commit (source-first): copy each order written to the target. */
  const mirror = async (orderNos: Iterable<string>) => {
    for (const orderNo of orderNos) {
      let row: OrderRow | undefined;
      // `run` reads the phase again: after a switch its sides may have turned, but this
      // row was written on the main database, so it is copied from there to the target.
      await orders.write.run(
        async (_db, side) => {
          if (side.primary) row = await readRow(main, orderNo);
          else if (row !== undefined) await copyNotOlder(target, row);
        },
        { keys: [orderNo] },
      );
    }
  };

  /**
   * Writes on the target in charge. `main` is the main transaction (to copy into, in
   * target-first) or undefined; `undo` collects how to take each write back.
   */
  const targetWrites = (
    phase: Phase,
    tx: Db,
    undo: Array<() => Promise<void>> | undefined,
  ): OrderWrites => {
    const copyToMain = async (orderNo: string) => {
      if (phase !== 'target-first') return;
      const row = await readRow(target, orderNo);
      if (row !== undefined) await copyNotOlder(tx, row);
    };
    return {
      async insert(row) {
        const inserted = await orderWritesOn(target).insert(row);
        if (!inserted) return false;
        undo?.push(async () => {
          await target
            .deleteFrom('orders')
            .where('order_no', '=', row.order_no)
            .where('updated_at', '=', row.updated_at)
            .execute();
        });
        await copyToMain(row.order_no);
        return true;
      },
      async transition(orderNo, change) {
        const before = await readRow(target, orderNo);
        if (before === undefined) return false;
        // Only from the version just read, so `before` is exactly what the undo restores.
        let q = target
          .updateTable('orders')
          .set(change.set)
          .where('order_no', '=', orderNo)
          .where('status', '=', change.from)
          .where('updated_at', '=', before.updated_at);
        if (change.userId !== undefined) q = q.where('user_id', '=', change.userId);
        if (change.expiredBy !== undefined) q = q.where('expires_at', '<=', change.expiredBy);
        const changed = await q.returning('order_no').executeTakeFirst();
        if (changed === undefined) return false;
        undo?.push(async () => {
          const { order_no: _key, ...previous } = before;
          await target
            .updateTable('orders')
            .set(previous)
            .where('order_no', '=', orderNo)
            .where('updated_at', '=', change.set.updated_at)
            .execute();
        });
        await copyToMain(orderNo);
        return true;
      },
      current: (orderNo) => readRow(target, orderNo),
    };
  };

  /** Writes on the main transaction `tx`, noting each order written in `written`. */
  const sourceWrites = (tx: Db, written: Set<string> | undefined): OrderWrites => {
    const plain = orderWritesOn(tx);
    return {
      async insert(row) {
        const inserted = await plain.insert(row);
        if (inserted) written?.add(row.order_no);
        return inserted;
      },
      async transition(orderNo, change) {
        const changed = await plain.transition(orderNo, change);
        if (changed) written?.add(orderNo);
        return changed;
      },
      current: plain.current,
    };
  };

  return {
    find: (filter, limit) => findOrders(readDb(), filter, limit),
    dueForExpiry: (now, limit) => dueOrders(readDb(), now, limit),

    async unitsSoldPage(after, limit) {
      if (inCharge(orders.phase) === 'source') return unitsSoldJoined(main, after, limit);
      // The two tables are in different databases now: join in the process.
      const paid = await target
        .selectFrom('orders')
        .select('order_no')
        .where('status', '=', 'paid')
        .execute();
      const sold = new Map<number, number>();
      for (let i = 0; i < paid.length; i += 1_000) {
        const batch = paid.slice(i, i + 1_000).map((r) => r.order_no);
        const items = await main
          .selectFrom('order_items')
          .select(['product_id', 'quantity'])
          .where('order_no', 'in', batch)
          .where('product_id', '>', after)
          .execute();
        for (const it of items)
          sold.set(it.product_id, (sold.get(it.product_id) ?? 0) + it.quantity);
      }
      return [...sold]
        .sort((a, b) => a[0] - b[0])
        .slice(0, limit)
        .map(([productId, units]) => ({ productId, sold: units }));
    },

    async transaction(work) {
      // One phase for the whole transaction, read once.
      const phase = orders.phase;
      if (inCharge(phase) === 'source') {
        const written = phase === 'source-first' ? new Set<string>() : undefined;
        const result = await main
          .transaction()
          .execute((tx) => work(tx, sourceWrites(tx, written)));
        // The order is committed: a copy that cannot even start (the main database gone
        // meanwhile) must not fail the request; the validator finds the missing copy.
        if (written !== undefined) {
          await mirror(written).catch((err: unknown) =>
            logger.warn('could not copy orders to the migration target', { err }),
          );
        }
        return result;
      }
      const undo: Array<() => Promise<void>> = [];
      try {
        return await main.transaction().execute((tx) => work(tx, targetWrites(phase, tx, undo)));
      } catch (err) {
        for (const step of undo.reverse()) {
          await step().catch((undoError: unknown) =>
            logger.error('could not undo an order write on the migration target', {
              err: undoError,
            }),
          );
        }
        throw err;
      }
    },
  };
}
