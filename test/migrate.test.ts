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

test('on PostgreSQL a large resource is stored with lz4 compression, in both tables', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (PGlite is built without lz4)' }, async () => {
  const db = await openTestDb();
  try {
    const text = 'Pasienten har hatt smerter i venstre kne siden mars. '.repeat(200);
    const content = JSON.stringify({ resourceType: 'Basic', id: 'big', text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${text}</div>` } });
    const [{ rid }] = await db.query<{ rid: number }>(
      `insert into resource (type, id, version, last_updated, content) values ('Basic', 'big', 1, now(), $1) returning rid`,
      [content]
    );
    await db.query(`insert into resource_history (rid, version, type, id, last_updated, method, content) values ($1, 1, 'Basic', 'big', now(), 'PUT', $2)`, [rid, content]);
    const methods = await db.query<{ m: string }>(
      `select pg_column_compression(content) as m from resource where rid = $1 union all select pg_column_compression(content) from resource_history where rid = $1`,
      [rid]
    );
    assert.deepEqual(methods.map((r) => r.m), ['lz4', 'lz4']);
  } finally {
    await db.close();
  }
});
