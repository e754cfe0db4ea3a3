import { sql } from 'kysely';
import { expect, test } from 'vitest';
import { validator } from '../../src/migrator/index.js';
import { createItems, fillItems, ITEM_COLUMNS, pglitePair } from './validator-db.js';

test('smoke', async () => {
  const { source, target, close } = await pglitePair();
  for (const db of [source, target]) { await createItems(db); await fillItems(db, 1000); }
  await sql`update items set name = '' where id = 5`.execute(target);
  await sql`delete from items where id = 17`.execute(target);
  await sql`insert into items (id) values (5000)`.execute(target);
  const check = validator({ source, target, table: 'items', key: 'id', columns: ITEM_COLUMNS, chunkSize: 100 });
  const result = await check.start().result;
  console.log(result);
  await close();
});
