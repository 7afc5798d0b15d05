import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openTestDb } from './helpers/db.ts';
import { openPglite, type Db } from '../src/store/db.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { auditRow } from '../src/audit/audit-event.ts';
import { devAuthority, practitionerClaims } from '../src/access/dev-authority.ts';
import { HPR, ORG, PEOPLE } from './helpers/access-fixtures.ts';

let db: Db;
before(async () => {
  db = await openTestDb();
});
after(async () => db?.close());

const row = (requestId: string) => auditRow({ interaction: 'read', outcome: 'success', principal: { kind: 'admin', scopes: [] }, patient: { id: 'p1' }, entities: ['Observation/o1'], requestId });

test('concurrent appends share commits, and each resolves only once its rows are stored', async () => {
  const log = new AuditLog(db);
  const ids = Array.from({ length: 100 }, () => randomUUID());
  const seenAtResolve: boolean[] = await Promise.all(
    ids.map(async (id) => {
      await log.append([row(id), row(id)]);
      const rows = await db.query('select 1 from audit_event where request_id = $1', [id]);
      return rows.length === 2;
    })
  );
  assert.ok(seenAtResolve.every(Boolean));
  const [{ n }] = await db.query<{ n: number }>('select count(*)::int as n from audit_event where request_id = any($1::text[])', [ids]);
  assert.equal(Number(n), 200);
});

test('a failed insert rejects every waiter of that batch instead of pretending success', async () => {
  const log = new AuditLog(db);
  const bad = { ...row('bad'), action: null as any };
  const results = await Promise.allSettled([log.append([row(randomUUID())]), log.append([bad])]);
  assert.ok(results.some((r) => r.status === 'rejected'));
  // The log keeps working afterwards.
  await log.append([row('after-failure')]);
  assert.equal((await db.query('select 1 from audit_event where request_id = $1', ['after-failure'])).length, 1);
});

test('an AuditEvent of a few kB is stored uncompressed, so the request does not pay for compressing it', async () => {
  const id = randomUUID();
  const big = auditRow({ interaction: 'search-type', outcome: 'success', principal: { kind: 'admin', scopes: [] }, patient: { id: 'p1' }, entities: Array.from({ length: 12 }, (_, i) => `Observation/o${i}`), requestId: id });
  assert.ok(big.content.length > 2500 && big.content.length < 6000, `${big.content.length} characters: large enough that PostgreSQL would compress it by default`);
  await new AuditLog(db).append([big]);
  const [stored] = await db.query<{ method: string | null; n: number }>('select pg_column_compression(content) as method, length(content) as n from audit_event where request_id = $1', [id]);
  assert.equal(stored.method, null);
  assert.equal(Number(stored.n), big.content.length);
});

test('audit rows cannot be changed or removed', async () => {
  await new AuditLog(db).append([row('immutable')]);
  await assert.rejects(db.query(`update audit_event set outcome = 'denied' where request_id = 'immutable'`), /append-only/);
  await assert.rejects(db.query(`delete from audit_event where request_id = 'immutable'`), /append-only/);
});

test('kill -9 under concurrent load loses no audit record of a response the client received', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'audit-crash-'));
  const issuer = 'https://dev-auth.test/crash';
  const env: NodeJS.ProcessEnv = { ...process.env, AUDIT_DATA_DIR: dataDir, AUDIT_ISSUER: issuer };
  let pgSchema: string | undefined;
  if (process.env.TEST_DATABASE_URL) {
    // The child migrates and seeds its own schema on the test server.
    pgSchema = `crash_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    await db.exec(`create schema ${pgSchema}`);
    Object.assign(env, { AUDIT_PG_URL: process.env.TEST_DATABASE_URL, AUDIT_PG_SCHEMA: pgSchema });
  }
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'audit-crash-server.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`server exited early (${code})`)));
  });
  const authority = await devAuthority(issuer, dataDir);
  const token = await authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital }));
  const received: string[] = [];
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const id = randomUUID();
      try {
        const res = await fetch(`http://127.0.0.1:${port}/fhir/Observation/p-plain-vital`, {
          headers: { authorization: `Bearer ${token}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PEOPLE.plain.nin, 'x-request-id': id },
        });
        await res.text();
        if (res.status === 200) received.push(id);
      } catch {
        return; // the server is gone
      }
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  // Kill once the load is well under way (a fixed delay is too short on a busy machine).
  for (let waited = 0; received.length < 60 && waited < 60_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGKILL');
  stop = true;
  await Promise.all(workers);
  await exited;
  assert.ok(received.length > 20, `the load produced responses (${received.length})`);

  // Reopen what the killed server left behind and compare.
  let after: Db;
  if (pgSchema) {
    const { openPostgres } = await import('../src/store/db.ts');
    after = await openPostgres(process.env.TEST_DATABASE_URL!, pgSchema);
  } else after = await openPglite(path.join(dataDir, 'db'));
  try {
    const rows = await after.query<{ request_id: string }>('select request_id from audit_event where request_id = any($1::text[])', [received]);
    const logged = new Set(rows.map((r) => r.request_id));
    const missing = received.filter((id) => !logged.has(id));
    assert.deepEqual(missing, [], `${missing.length} of ${received.length} answered requests have no audit record`);
  } finally {
    await after.close();
    if (pgSchema) await db.exec(`drop schema ${pgSchema} cascade`);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
