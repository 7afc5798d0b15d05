import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb } from './helpers/db.ts';
import { listMigrations, migrate, SchemaTooNewError } from '../src/store/migrate.ts';

test('migrations are recorded and running them again applies nothing', async () => {
  const db = await openTestDb();
  try {
    const rows = await db.query<{ version: number }>('select version from schema_version order by version');
    assert.deepEqual(rows.map((r) => r.version), listMigrations().map((m) => m.version));
    assert.deepEqual((await migrate(db)).applied, []);
  } finally {
    await db.close();
  }
});

test('a database with a newer schema than the code is refused with a clear message', async () => {
  const db = await openTestDb();
  try {
    await db.query(`insert into schema_version (version, name) values (9999, '9999_from_the_future')`);
    await assert.rejects(migrate(db), (err: Error) => err instanceof SchemaTooNewError && /newer than this code/.test(err.message));
  } finally {
    await db.close();
  }
});
