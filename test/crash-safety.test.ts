import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { idempotentBundle } from '../src/store/import.ts';
import { openPglite } from '../src/store/db.ts';
import { SHARED_DATA } from './helpers/paths.ts';
import { SERVICE_MODULES } from '../src/services/index.ts';
import { freePort, startServerProcess } from './helpers/server.ts';

test('kill -9 during an import leaves no partly applied transaction, and a re-run completes it', { timeout: 600_000 }, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-crash-'));
  const dir = path.join(SHARED_DATA, 'synthea');
  const files = fs.readdirSync(dir).filter((f) => !/Information/.test(f)).sort().slice(0, 8);
  const master = fs.readdirSync(dir).filter((f) => /Information/.test(f)).sort();
  const bundles = [...master, ...files].map((f) => idempotentBundle(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))));
  const idsOf = (b: any) => b.entry.map((e: any) => `${e.resource.resourceType}/${e.resource.id}`) as string[];
  const port = await freePort();

  let server = await startServerProcess(dataDir, port);
  const post = (b: unknown) => fetch(`http://127.0.0.1:${port}/fhir`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(b) });
  // Master data first, then the patients concurrently; kill the server once two have answered.
  for (const b of bundles.slice(0, master.length)) assert.equal((await post(b)).status, 200);
  let answered = 0;
  const inFlight = bundles.slice(master.length).map((b) =>
    post(b).then(
      (r) => {
        if (r.ok && ++answered === 2) server.kill('SIGKILL');
      },
      () => undefined
    )
  );
  await Promise.all(inFlight);
  if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  await new Promise((r) => server.once('exit', r).once('error', r) && setTimeout(r, 2000));

  // After the crash: every bundle is stored whole or not at all.
  const db = await openPglite(dataDir);
  const present = new Set((await db.query<{ k: string }>(`select type || '/' || id as k from resource`)).map((r) => r.k));
  await db.close();
  // Synthea bundles carry copies of shared organisations and practitioners (same uuids): judge
  // each bundle by the resources only it contains.
  const seen = new Map<string, number>();
  for (const b of bundles) for (const k of new Set(idsOf(b))) seen.set(k, (seen.get(k) ?? 0) + 1);
  let whole = 0;
  for (const b of bundles) {
    const ids = idsOf(b).filter((k) => seen.get(k) === 1);
    const n = ids.filter((k) => present.has(k)).length;
    assert.ok(n === 0 || n === ids.length, `a bundle is partly stored: ${n} of ${ids.length}`);
    if (n) whole++;
  }
  assert.ok(whole >= master.length + 2, 'bundles the clients saw answered are stored');
  assert.ok(whole < bundles.length || answered >= 2, 'the kill happened during the import');

  // Run the import again: it completes, and nothing is duplicated.
  server = await startServerProcess(dataDir, port);
  for (const b of bundles) assert.equal((await post(b)).status, 200);
  const counts = await (await fetch(`http://127.0.0.1:${port}/fhir/Patient?_summary=count&_total=accurate`)).json();
  server.kill('SIGKILL');
  await new Promise((r) => server.once('exit', r));
  const db2 = await openPglite(dataDir);
  const [{ n }] = await db2.query<{ n: number }>(`select count(*)::int as n from resource`);
  await db2.close();
  const distinct = new Set(bundles.flatMap(idsOf));
  // Besides the bundles, the service modules' reference data (catalogues, profiles) stored at start.
  const reference = SERVICE_MODULES.flatMap((m) => m.referenceData?.() ?? []).length;
  assert.equal(n, distinct.size + reference);
  assert.equal(counts.total, files.length);
  fs.rmSync(dataDir, { recursive: true, force: true });
});
