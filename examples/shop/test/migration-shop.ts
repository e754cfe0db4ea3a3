// A shop running the live-migration demo, for tests: both databases are in-memory PGlite
// started from the cached, migrated template (a fresh PGlite's initdb takes seconds).
import type { Clock } from 'girder/core';
import { noopLogger } from 'girder/logger';
import { openDatabase } from '../src/db/database.js';
import { createShop } from '../src/shop.js';
import { Client, type TestShop, template, testConfig } from './helpers.js';

export async function startMigratingShop(
  env: Record<string, string> = {},
  options: { clock?: Clock } = {},
): Promise<TestShop> {
  const blob = await template();
  const database = await openDatabase({ kind: 'pglite', template: blob });
  // The template holds the whole shop schema; the demo uses only its `orders` table.
  const target = await openDatabase({ kind: 'pglite', template: blob });
  const shop = await createShop(testConfig({ SHOP_MIGRATION: 'true', ...env }), {
    database,
    logger: noopLogger(),
    ...(options.clock && { clock: options.clock }),
    migrationTarget: { db: target.db, description: 'PGlite (test)', close: () => target.close() },
  });
  await shop.listen();
  const { port } = shop.app.server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  return {
    shop,
    client: new Client(base),
    base,
    close: async () => {
      await shop.close();
      await target.close();
    },
  };
}
