import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { run, sql } from '../src/store/sql.ts';
import { loadWindows, withinWindows, withinWindowsSql } from '../src/services/documents/windows.ts';

/**
 * The Kjernejournal windows decide the same in code (reads) and in SQL (searches, includes,
 * $everything, history) for every class, at the edges of the windows, and without a date.
 */
const CLASS = 'urn:oid:2.16.578.1.12.4.1.1.9602';
const NOW = new Date('2026-03-31T12:00:00Z');

let s: TestServer;
const docs: Resource[] = [];
before(async () => {
  s = await startTestServer();
  await s.platform.repo.putMany([{ resourceType: 'Patient', id: 'w' } as Resource]);
  const dates = ['2025-03-31T12:00:00Z', '2025-03-31T11:59:59Z', '2025-04-30T23:00:00+02:00', '2021-03-31T12:00:00Z', '2021-03-31T11:59:59.999Z', '2026-03-31T12:00:00Z', '1999-01-01T00:00:00Z', undefined];
  let n = 0;
  for (const code of ['A00-1', 'C00-1', 'D00-1', 'E00-1', 'I00-1', 'X99-9'])
    for (const date of dates)
      for (const where of ['category', 'type'] as const) {
        const coding = { system: CLASS, code };
        docs.push({
          resourceType: 'DocumentReference',
          id: `w${n++}`,
          status: 'current',
          subject: { reference: 'Patient/w' },
          ...(date ? { date } : {}),
          ...(where === 'category' ? { category: [{ coding: [coding] }] } : { type: { coding: [coding] } }),
          content: [{ attachment: { url: 'Binary/x' } }],
        } as Resource);
      }
  docs.push({ resourceType: 'DocumentReference', id: 'both', status: 'current', subject: { reference: 'Patient/w' }, date: '2024-01-01T00:00:00Z', category: [{ coding: [{ system: CLASS, code: 'A00-1' }] }], type: { coding: [{ system: CLASS, code: 'C00-1' }] }, content: [{ attachment: { url: 'Binary/x' } }] } as Resource);
  await s.platform.repo.putMany(docs);
});
after(async () => s?.close());

test('code and SQL agree on every document, and the edges fall where the table says', async () => {
  for (const now of [NOW, new Date('2027-01-01T00:00:00Z')]) {
    const rows = await run<{ id: string; ok: boolean }>(s.platform.db, sql`select r.id, ${withinWindowsSql('r', now)} as ok from resource r where r.type = 'DocumentReference'`);
    const bySql = new Map(rows.map((r) => [r.id, r.ok]));
    for (const d of docs) assert.equal(bySql.get(d.id!), withinWindows(d, now), `${d.id} at ${now.toISOString()}`);
  }
  const at = (code: string, date: string | undefined) => withinWindows({ resourceType: 'DocumentReference', date, category: [{ coding: [{ system: CLASS, code }] }] } as Resource, NOW);
  assert.equal(at('C00-1', '2025-03-31T12:00:00Z'), true, 'exactly a year old is inside');
  assert.equal(at('C00-1', '2025-03-31T11:59:59Z'), false);
  assert.equal(at('I00-1', '2025-03-31T11:59:59Z'), false);
  assert.equal(at('D00-1', '2021-03-31T12:00:00Z'), true);
  assert.equal(at('E00-1', '2021-03-31T11:59:59.999Z'), false);
  assert.equal(at('A00-1', '1999-01-01T00:00:00Z'), true, 'discharge summaries have no window');
  assert.equal(at('A00-1', undefined), true);
  assert.equal(at('C00-1', undefined), false, 'an undated windowed document cannot be shown to be inside');
  assert.equal(at('X99-9', '1999-01-01T00:00:00Z'), true, 'classes outside the table are not limited');
  assert.equal(withinWindows(docs.find((d) => d.id === 'both')!, NOW), false, 'the strictest window applies');
});

test('DOCUMENT_WINDOWS replaces the table', () => {
  const table = loadWindows({ DOCUMENT_WINDOWS: JSON.stringify({ 'C00-1': 24, 'urn:example|x': null }) });
  assert.deepEqual(table.map((w) => [w.system, w.code, w.months]), [[CLASS, 'C00-1', 24], ['urn:example', 'x', null]]);
  assert.throws(() => loadWindows({ DOCUMENT_WINDOWS: JSON.stringify({ 'C00-1': -1 }) }), /whole months/);
});
