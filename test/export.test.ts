import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { openTestDb } from './helpers/db.ts';
import { createRepository } from '../src/store/repository.ts';
import { exportNdjson } from '../src/store/export.ts';

const idsIn = (folder: string, type: string): string[] =>
  fs
    .readFileSync(path.join(folder, `${type}.ndjson`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as Resource).id!)
    .sort();

// PGlite has one connection, which the export's transaction holds: nothing can write meanwhile there.
test('an export is one snapshot while others write: what they delete or create meanwhile is in every file or in none', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (writes beside the export need a second connection)' }, async () => {
  const db = await openTestDb();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'export-'));
  try {
    const repo = await createRepository(db);
    await repo.update({ resourceType: 'Patient', id: 'p1', gender: 'female' } as Resource);
    await repo.update({ resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'puls' }, subject: { reference: 'Patient/p1' } } as Resource);
    const counts = await exportNdjson(db, folder, {
      // Observation is written before Patient: between the two, p1 and o1 go and p2 and o2 come.
      async onType(type) {
        if (type !== 'Observation') return;
        await repo.delete('Observation', 'o1');
        await repo.delete('Patient', 'p1');
        await repo.update({ resourceType: 'Patient', id: 'p2', gender: 'male' } as Resource);
        await repo.update({ resourceType: 'Observation', id: 'o2', status: 'final', code: { text: 'puls' }, subject: { reference: 'Patient/p2' } } as Resource);
      },
    });
    assert.deepEqual(idsIn(folder, 'Observation'), ['o1']);
    assert.deepEqual(idsIn(folder, 'Patient'), ['p1']);
    assert.deepEqual(Object.fromEntries(counts), { Observation: 1, Patient: 1 });
    // The writes themselves went through.
    assert.equal((await repo.read('Patient', 'p2')).id, 'p2');
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
    await db.close();
  }
});
