import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openPglite } from '../src/store/db.ts';
import { REPO_ROOT } from './helpers/paths.ts';
import { modernSyntheaSet } from './helpers/synthea-modern.ts';

/**
 * `npm run import` into the embedded database, of patients in the format of newer Synthea
 * exports (the region's batch bundles with ifNoneExist, clinical notes as documents with inline
 * text): everything is stored, the notes' text in the document store, bundles over the
 * server's MAX_BODY_BYTES included, and running the same import again changes nothing: no new
 * resource, no new version, no new document content.
 */
function runImport(dataDir: string, folder: string): string {
  const out = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/import.ts', folder], {
    cwd: REPO_ROOT,
    // A body limit every patient bundle is over: a listening server's limit does not bound an import.
    env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'silent', MAX_BODY_BYTES: '10000' },
    encoding: 'utf8',
    timeout: 180_000,
  });
  assert.equal(out.status, 0, `${out.stdout}\n${out.stderr}`);
  return out.stdout;
}

test('an import of newer Synthea exports stores every resource, and a second run changes nothing', { timeout: 400_000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-import-'));
  const folder = path.join(root, 'fhir');
  const dataDir = path.join(root, 'data');
  fs.mkdirSync(folder);
  const set = modernSyntheaSet(3);
  // File names as Synthea writes them: the region's bundles first.
  fs.writeFileSync(path.join(folder, 'hospitalInformation1.json'), JSON.stringify(set.shared[0]));
  fs.writeFileSync(path.join(folder, 'practitionerInformation1.json'), JSON.stringify(set.shared[1]));
  set.patients.forEach((b, i) => fs.writeFileSync(path.join(folder, `Patient_${i}.json`), JSON.stringify(b)));

  const snapshot = async () => {
    const db = await openPglite(dataDir);
    try {
      const types = Object.keys(set.counts);
      const counts = Object.fromEntries(
        (await db.query<{ type: string; n: number }>(`select type, count(*)::int as n from resource where type = any($1::text[]) group by type`, [types])).map((r) => [r.type, r.n])
      );
      const [{ versions }] = await db.query<{ versions: number }>(`select count(*)::int as versions from resource_history`);
      const contents = await db.query<{ id: string; sha1: string }>(`select id, sha1 from document_content order by id`);
      return { counts, versions, contents };
    } finally {
      await db.close();
    }
  };

  const first = runImport(dataDir, folder);
  assert.match(first, /Imported \d+ resources from 5 files/);
  assert.doesNotMatch(first, /failed:/, first);
  const once = await snapshot();
  // Medication is also a catalogue of the medication service, stored at start.
  for (const [type, n] of Object.entries(set.counts)) if (type !== 'Medication') assert.equal(once.counts[type], n, type);
  assert.equal(once.contents.length, set.counts.DocumentReference, 'each note went to the document store');

  const second = runImport(dataDir, folder);
  assert.doesNotMatch(second, /failed:/, second);
  assert.deepEqual(await snapshot(), once);
  fs.rmSync(root, { recursive: true, force: true });
});
