import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { openPglite } from '../src/store/db.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { modernSyntheaSet } from './helpers/synthea-modern.ts';
import { freePort, startServerProcess } from './helpers/server.ts';

/**
 * `npm run import` into the embedded database, of patients in the format of newer Synthea
 * exports (the region's batch bundles with ifNoneExist, clinical notes as documents with inline
 * text): everything is stored, the notes' text in the document store, bundles over the
 * server's MAX_BODY_BYTES included, and running the same import again changes nothing: no new
 * resource, no new version, no new document content.
 */
function runImport(dataDir: string, folder: string): string {
  return runCli('import', dataDir, folder);
}

function runCli(tool: 'import' | 'export', dataDir: string, folder: string, ...flags: string[]): string {
  const out = spawnCli(tool, dataDir, [folder, ...flags]);
  assert.equal(out.status, 0, `${out.stdout}\n${out.stderr}`);
  return out.stdout;
}

/** The CLI tool on the embedded database in `dataDir`, whatever its exit status. */
function spawnCli(tool: 'import' | 'export', dataDir: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', `src/cli/${tool}.ts`, ...args], {
    cwd: REPO_ROOT,
    // A body limit every patient bundle is over: a listening server's limit does not bound an import.
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'silent', MAX_BODY_BYTES: '10000', ...env },
    encoding: 'utf8',
    timeout: 180_000,
  });
}

/** `npm run import -- --server` of `folder` into a server started on an empty `dataDir`, stopped after. */
async function importIntoServer(dataDir: string, folder: string): Promise<string> {
  const port = await freePort();
  const server = await startServerProcess(dataDir, port);
  try {
    return runCli('import', `${dataDir}-unused`, folder, '--server', `http://127.0.0.1:${port}/fhir`);
  } finally {
    await stop(server);
  }
}

async function stop(server: ChildProcess): Promise<void> {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}

test('an import of newer Synthea exports stores every resource, a second run changes nothing, and an export of it imports whole', { timeout: 400_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-import-'));
  const folder = path.join(root, 'fhir');
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(folder);
  const set = modernSyntheaSet(3);
  // File names as Synthea writes them: the region's bundles first.
  fs.writeFileSync(path.join(folder, 'hospitalInformation1.json'), JSON.stringify(set.shared[0]));
  fs.writeFileSync(path.join(folder, 'practitionerInformation1.json'), JSON.stringify(set.shared[1]));
  set.patients.forEach((b, i) => fs.writeFileSync(path.join(folder, `Patient_${i}.json`), JSON.stringify(b)));

  const snapshot = async (dir = dataDir) => {
    const db = await openPglite(dir);
    try {
      const types = Object.keys(set.counts);
      const counts = Object.fromEntries(
        (await db.query<{ type: string; n: number }>(`select type, count(*)::int as n from resource where type = any($1::text[]) group by type`, [types])).map((r) => [r.type, r.n])
      );
      const [{ versions }] = await db.query<{ versions: number }>(`select count(*)::int as versions from resource_history`);
      const contents = await db.query<{ id: string; sha1: string }>(`select id, sha1 from document_content order by id`);
      const documents = (await db.query<{ id: string; content: string }>(`select id, content from resource where type = 'DocumentReference' order by id`)).map((r) => ({ id: r.id, type: JSON.parse(r.content).type }));
      return { counts, versions, contents, documents };
    } finally {
      await db.close();
    }
  };

  const first = runImport(dataDir, folder);
  assert.match(first, /Imported \d+ of \d+ resources from 5 files/);
  assert.doesNotMatch(first, /failed:/, first);
  const once = await snapshot();
  // Medication is also a catalogue of the medication service, stored at start.
  for (const [type, n] of Object.entries(set.counts)) if (type !== 'Medication') assert.equal(once.counts[type], n, type);
  assert.equal(once.contents.length, set.counts.DocumentReference, 'each note went to the document store');

  const second = runImport(dataDir, folder);
  assert.doesNotMatch(second, /failed:/, second);
  assert.deepEqual(await snapshot(), once);

  // npm run export writes documents with their content, and importing the export into an empty
  // database restores them: the same documents, the same bytes in its document store.
  const exported = path.join(root, 'export');
  runCli('export', dataDir, exported);
  const docs = fs.readFileSync(path.join(exported, 'DocumentReference.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(docs.length, set.counts.DocumentReference);
  for (const d of docs) assert.match(Buffer.from(d.content[0].attachment.data, 'base64').toString('utf8'), /# Chief Complaint/);
  const copy = path.join(root, 'copy');
  const restored = runImport(copy, exported);
  assert.doesNotMatch(restored, /failed:/, restored);
  const there = await snapshot(copy);
  assert.deepEqual(there.documents, once.documents);
  assert.deepEqual(there.contents.map((c) => c.sha1).sort(), once.contents.map((c) => c.sha1).sort());
  for (const [type, n] of Object.entries(once.counts)) assert.equal(there.counts[type], n, type);

  // The same export into a running server over HTTP, whose transactions check references: files
  // whose references are in later files are sent again once those are in.
  const served = path.join(root, 'served');
  const viaServer = await importIntoServer(served, exported);
  assert.doesNotMatch(viaServer, /failed:/, viaServer);
  const overHttp = await snapshot(served);
  assert.deepEqual(overHttp.documents, once.documents);
  for (const [type, n] of Object.entries(once.counts)) assert.equal(overHttp.counts[type], n, type);
  fs.rmSync(root, { recursive: true, force: true });
});

test('an export of the synthetic population imports into a running server, references between files in a cycle included', { timeout: 400_000 }, async () => {
  // Organization.endpoint and Endpoint.managingOrganization refer to each other: over HTTP, where
  // every transaction checks references, those two files can only go in together.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-export-'));
  const seeded = path.join(root, 'seeded');
  await stop(await startServerProcess(seeded, await freePort(), { SEED_PERSONS: '20' }));
  const exported = path.join(root, 'export');
  runCli('export', seeded, exported);
  const served = path.join(root, 'served');
  const out = await importIntoServer(served, exported);
  assert.doesNotMatch(out, /failed:/, out);
  const counts = async (dir: string) => {
    const db = await openPglite(dir);
    try {
      return await db.query<{ type: string; n: number }>(`select type, count(*)::int as n from resource where deleted = false group by type order by type`);
    } finally {
      await db.close();
    }
  };
  const there = await counts(served);
  assert.ok(there.some((r) => r.type === 'Endpoint' && r.n > 0), 'the population has endpoints');
  assert.deepEqual(there, await counts(seeded));
  fs.rmSync(root, { recursive: true, force: true });
});

test("an import reports each bad NDJSON line and resource by file and line, stores the rest, does not loop on a cycle it cannot complete, and is not held to the server's rate limit", { timeout: 200_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-bad-lines-'));
  const folder = path.join(root, 'ndjson');
  fs.mkdirSync(folder);
  const lines = (...rs: unknown[]) => rs.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';
  fs.writeFileSync(
    path.join(folder, 'Patient.ndjson'),
    lines({ resourceType: 'Patient', id: 'p1' }, 'not json', { resourceType: 'Patient', id: 'p2', gender: 'bogus' }, [1], { resourceType: 'Patient', id: 'p3' })
  );
  // Two documents that refer to each other (sent together, as a cycle), one also to a patient that is nowhere.
  const doc = (id: string, other: string, subject: string) => ({
    resourceType: 'DocumentReference',
    id,
    status: 'current',
    subject: { reference: subject },
    relatesTo: [{ code: 'appends', target: { reference: `DocumentReference/${other}` } }],
    content: [{ attachment: { contentType: 'text/plain', data: Buffer.from(`note ${id}`).toString('base64') } }],
  });
  fs.writeFileSync(path.join(folder, 'DocumentReference.ndjson'), lines(doc('doc-a', 'doc-b', 'Patient/p1'), doc('doc-b', 'doc-a', 'Patient/nowhere')));
  // Many small bundles: more requests than the server's rate limit lets a client make.
  for (let i = 0; i < 40; i++) {
    const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Patient', id: `many-${i}` }, request: { method: 'PUT', url: `Patient/many-${i}` } }] };
    fs.writeFileSync(path.join(folder, `b${String(i).padStart(2, '0')}.json`), JSON.stringify(bundle));
  }
  const dataDir = path.join(root, 'data');
  const out = spawnCli('import', dataDir, [folder], { RATE_LIMIT_PER_MINUTE: '10' });
  assert.equal(out.status, 1, `${out.stdout}\n${out.stderr}`);
  const failed = (where: string) => new RegExp(`${where.replace(/[.]/g, '\\.')}: (.*)`).exec(out.stdout)?.[1] ?? '';
  assert.match(failed('Patient.ndjson:2'), /not valid JSON/);
  assert.match(failed('Patient.ndjson:3'), /bogus/);
  assert.match(failed('Patient.ndjson:4'), /not a FHIR resource/);
  assert.match(failed('DocumentReference.ndjson:2'), /Patient\/nowhere/);
  assert.match(failed('DocumentReference.ndjson:1'), /DocumentReference\/doc-b/);
  assert.match(out.stdout, /5 failed:/);
  assert.match(out.stdout, /Imported 42 of 47 resources from 42 files/);
  const db = await openPglite(dataDir);
  try {
    const ids = await db.query<{ id: string }>(`select id from resource where type = 'Patient' and id like 'p_' order by id`);
    assert.deepEqual(ids.map((r) => r.id), ['p1', 'p3']);
    const [{ n }] = await db.query<{ n: number }>(`select count(*)::int as n from resource where type = 'Patient' and id like 'many-%'`);
    assert.equal(n, 40);
  } finally {
    await db.close();
  }
  const missing = spawnCli('import', dataDir, [path.join(root, 'nothing-here')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /No such file or folder: .*nothing-here/);
  fs.rmSync(root, { recursive: true, force: true });
});
