import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { poolSize, poolWaitMs } from '../src/store/db.ts';
import { ConfigError } from '../src/config.ts';

/**
 * With every PostgreSQL connection held (here: the only one, by a long transaction), a request
 * waits DB_POOL_WAIT_MS for one and is then answered 503 with Retry-After, having changed
 * nothing, instead of hanging; once the connection is free the same request succeeds. The
 * embedded database has no pool, so this runs in the PostgreSQL suite.
 */
const onPostgres = Boolean(process.env.TEST_DATABASE_URL);
process.env.DB_POOL_SIZE = '1';
process.env.DB_POOL_WAIT_MS = '300';

let s: TestServer;
before(async () => {
  if (onPostgres) s = await startTestServer();
});
after(async () => s?.close());

test('DB_POOL_WAIT_MS: 30 s by default, 0 waits for ever, nonsense is refused by name', () => {
  assert.equal(poolWaitMs({}), 30_000);
  assert.equal(poolWaitMs({ DB_POOL_WAIT_MS: '0' }), 0);
  assert.equal(poolWaitMs({ DB_POOL_WAIT_MS: '1500' }), 1500);
  assert.throws(() => poolWaitMs({ DB_POOL_WAIT_MS: 'soon' }), (err: Error) => err instanceof ConfigError && /DB_POOL_WAIT_MS/.test(err.message));
  assert.throws(() => poolSize({ DB_POOL_SIZE: '8 connections' }), (err: Error) => err instanceof ConfigError && /DB_POOL_SIZE/.test(err.message));
  assert.equal(poolSize({ DB_POOL_SIZE: '6' }), 6);
});

test('a request that gets no connection in time is a 503 with Retry-After and writes nothing', { skip: !onPostgres && 'needs TEST_DATABASE_URL (PostgreSQL)', timeout: 20_000 }, async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const holder = s.platform.repo.db.transaction(() => held);
  try {
    const started = Date.now();
    const refused = await s.fhir('/Patient', { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'Venter' }] } });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.equal(refused.body.resourceType, 'OperationOutcome');
    assert.equal(refused.body.issue[0].code, 'transient');
    assert.equal(refused.body.issue[0].details.coding[0].code, 'database-busy');
    assert.ok(Date.now() - started < 10_000, 'answered after the wait, not hung');
    const search = await s.fhir('/Patient?family=Venter');
    assert.equal(search.status, 503, 'a read waits the same way');
  } finally {
    release();
    await holder;
  }
  const none = await s.fhir('/Patient?family=Venter');
  assert.equal(none.status, 200);
  assert.equal(none.body.entry?.length ?? 0, 0, 'the refused create left nothing behind');
  const created = await s.fhir('/Patient', { method: 'POST', body: { resourceType: 'Patient', name: [{ family: 'Venter' }] } });
  assert.equal(created.status, 201, 'once the connection is free the same request succeeds');
});
