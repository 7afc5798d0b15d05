import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chemistry, ids, startLabWorld, urineCulture, HB, NIN, type LabWorld } from './svc-lab-results-fixtures.ts';
import { fetchBytes, provideBundle, published, samplePdf } from './svc-documents-fixtures.ts';

/**
 * Pasientens prøvesvar over real HTTP with real tokens: a laboratory publishes, the GP sees at
 * once, the citizen only after the discipline's delay (the server clock moves), and what the
 * requester blocks or what was shared for quality assurance only never reaches the citizen by
 * any path.
 */
let w: LabWorld;
before(async () => {
  w = await startLabWorld();
});
after(async () => w?.s.close());

const get = async (path: string, headers: Record<string, string>) => w.s.fhir(path, { headers });
const release = async (report: string, headers: Record<string, string>, parameter: any[]) =>
  w.s.fhir(`/DiagnosticReport/${report}/$citizen-release`, { method: 'POST', headers, body: { resourceType: 'Parameters', parameter } });

test('a laboratory publishes a urine culture with nested susceptibilities in one transaction; the GP sees it at once, the citizen after 14 days', async () => {
  const published = await w.publish(urineCulture('uc1', { issued: w.clock.now.toISOString() }));
  assert.equal(published.status, 200, published.text);
  assert.ok(published.body.entry.every((e: any) => e.response.status.startsWith('201')), published.text);
  assert.equal(published.body.entry.length, 6);

  const gp = await w.as.gp();
  assert.equal((await get('/DiagnosticReport/uc1-dr', gp)).status, 200);
  const gpSearch = await get('/Observation?patient=anna', gp);
  assert.deepEqual(ids(gpSearch.body).sort(), ['Observation/uc1-amp', 'Observation/uc1-nit', 'Observation/uc1-org']);

  const citizen = await w.as.citizen();
  assert.equal((await get('/DiagnosticReport/uc1-dr', citizen)).status, 404, 'microbiology waits 14 days');
  assert.equal((await get('/Observation/uc1-amp', citizen)).status, 404);
  const waiting = (body: any) => ids(body).filter((x) => x.includes('uc1-') && !x.startsWith('ServiceRequest') && !x.startsWith('Specimen'));
  assert.deepEqual(waiting((await get('/Observation?patient=anna', citizen)).body), [], 'not in searches before release');
  assert.deepEqual(waiting((await get('/Patient/anna/$everything', citizen)).body), [], 'nor in $everything');
  assert.deepEqual(waiting((await get('/Observation/_history', citizen)).body), [], 'nor in history');
  w.clock.advance(13);
  assert.equal((await get('/Observation/uc1-org', await w.as.citizen())).status, 404, 'still 13 days');
  w.clock.advance(1.01);
  const now = await w.as.citizen();
  assert.equal((await get('/DiagnosticReport/uc1-dr', now)).status, 200);
  const mine = await get('/Observation?patient=anna', now);
  assert.deepEqual(ids(mine.body).sort(), ['Observation/uc1-amp', 'Observation/uc1-nit', 'Observation/uc1-org']);
});

test('chemistry reaches the citizen at once', async () => {
  const published = await w.publish(chemistry('ch1', { issued: w.clock.now.toISOString(), hb: 12.1, crp: 3 }));
  assert.equal(published.status, 200, published.text);
  const read = await get('/Observation/ch1-hb', await w.as.citizen());
  assert.equal(read.status, 200, read.text);
  assert.equal(read.body.valueQuantity.value, 12.1);
});

test('only the requester may block, delay or release, with a valid decision', async () => {
  await w.publish(urineCulture('uc2', { issued: w.clock.now.toISOString() }));
  const other = await release('uc2-dr', await w.as.doctor(), [{ name: 'decision', valueCode: 'block' }]);
  assert.equal(other.status, 403, other.text);
  assert.equal(other.body.issue[0].details.coding[0].code, 'not-requester');
  const citizen = await release('uc2-dr', await w.as.citizen(), [{ name: 'decision', valueCode: 'release' }]);
  assert.ok([403, 404].includes(citizen.status), citizen.text);
  const bad = await release('uc2-dr', await w.as.gp(), [{ name: 'decision', valueCode: 'maybe' }]);
  assert.equal(bad.status, 400, bad.text);
  assert.deepEqual(bad.body.issue[0].expression, ["Parameters.parameter.where(name = 'decision')"]);
  const past = await release('uc2-dr', await w.as.gp(), [{ name: 'decision', valueCode: 'delay' }, { name: 'until', valueDateTime: '2001-01-01' }]);
  assert.equal(past.status, 400, past.text);
});

test('a blocked result never reaches the citizen, by any path, even long after its delay', async () => {
  const published = await w.publish(urineCulture('blk', { issued: w.clock.now.toISOString() }));
  assert.equal(published.status, 200, published.text);
  const blocked = await release('blk-dr', await w.as.gp(), [{ name: 'decision', valueCode: 'block' }, { name: 'reason', valueString: 'Samtale med pasienten først' }]);
  assert.equal(blocked.status, 200, blocked.text);
  assert.deepEqual(blocked.body.parameter.filter((p: any) => p.name === 'resource').map((p: any) => p.valueReference.reference).sort(), [
    'DiagnosticReport/blk-dr', 'Observation/blk-amp', 'Observation/blk-nit', 'Observation/blk-org',
  ]);
  w.clock.advance(400);
  const c = await w.as.citizen();
  const blockedIds = ['DiagnosticReport/blk-dr', 'Observation/blk-org', 'Observation/blk-amp', 'Observation/blk-nit'];
  const leaks = (body: any) => ids(body).filter((x) => blockedIds.includes(x));

  assert.equal((await get('/DiagnosticReport/blk-dr', c)).status, 404, 'read report');
  assert.equal((await get('/Observation/blk-amp', c)).status, 404, 'read hasMember result');
  assert.equal((await get('/Observation/blk-org/_history/1', c)).status, 404, 'vread of the version before the block');
  assert.deepEqual(leaks((await get('/Observation?patient=anna', c)).body), [], 'search');
  assert.deepEqual(leaks((await get('/DiagnosticReport?patient=anna', c)).body), [], 'search reports');
  const sr = await get('/ServiceRequest?_id=blk-sr&_revinclude=DiagnosticReport:based-on', c);
  assert.equal(sr.status, 200, sr.text);
  assert.deepEqual(ids(sr.body), ['ServiceRequest/blk-sr'], '_revinclude');
  const inc = await get('/DiagnosticReport?patient=anna&_include=DiagnosticReport:result', c);
  assert.deepEqual(leaks(inc.body), [], '_include');
  const incObs = await get('/Observation?_id=blk-org,uc1-org&_include=Observation:has-member', c);
  assert.deepEqual(leaks(incObs.body), [], '_include hasMember');
  const has = await get('/ServiceRequest?_id=blk-sr&_has:DiagnosticReport:based-on:status=final', c);
  assert.equal(has.status, 200, has.text);
  assert.deepEqual(ids(has.body), [], '_has does not reveal the blocked report');
  const chained = await get('/DiagnosticReport?result.code=http://loinc.org|630-4&_total=accurate', c);
  assert.deepEqual(leaks(chained.body), [], 'chained search');
  assert.equal(chained.body.total, 2, 'totals count only what the citizen may see (uc1 and uc2, not the blocked report)');
  const ev = await get('/Patient/anna/$everything?_count=1000', c);
  assert.equal(ev.status, 200, ev.text);
  assert.deepEqual(leaks(ev.body), [], '$everything');
  assert.ok(ids(ev.body).includes('Observation/uc1-org'), '$everything still has released results');
  assert.deepEqual(leaks((await get('/Observation/blk-org/_history', c)).body), [], 'instance history');
  assert.deepEqual(leaks((await get('/Observation/_history', c)).body), [], 'type history');
  assert.deepEqual(leaks((await get('/DiagnosticReport/_history', c)).body), [], 'report type history');
  assert.deepEqual(leaks((await get('/_history?_count=1000', c)).body), [], 'system history');
  assert.deepEqual(leaks((await get('/?_type=DiagnosticReport,Observation&_count=1000', c)).body), [], 'system search');
  const trend = await get(`/Observation/$trend?code=${encodeURIComponent('http://loinc.org|18864-9')}`, c);
  assert.equal(trend.status, 200, trend.text);
  assert.deepEqual(trend.body.parameter.filter((p: any) => p.name === 'point').map((p: any) => p.part.find((x: any) => x.name === 'observation').valueReference.reference), ['Observation/uc1-amp', 'Observation/uc2-amp'], '$trend');
  const doc = await get('/DiagnosticReport?patient=anna&_elements=presentedForm', c);
  assert.ok(!JSON.stringify(doc.body).includes('blk-dr'), 'the report document (presentedForm)');

  const gp = await w.as.gp();
  assert.equal((await get('/Observation/blk-amp', gp)).status, 200, 'the GP still sees it');
});

test('a corrected result keeps the requester’s block; only $citizen-release changes it', async () => {
  const gp = await w.as.gp();
  const stored = (await get('/Observation/blk-org', gp)).body;
  const { meta: _meta, ...rest } = stored;
  const corrected = { ...rest, status: 'amended', valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '3092008', display: 'Staphylococcus aureus' }] } };
  const put = await w.s.fhir('/Observation/blk-org', { method: 'PUT', body: corrected, headers: await w.as.lab() });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.body.meta.versionId, '2');
  assert.equal(put.body.meta.extension[0].extension[0].valueCode, 'block', 'the decision is carried forward');
  w.clock.advance(30);
  const c = await w.as.citizen();
  assert.equal((await get('/Observation/blk-org', c)).status, 404);
  assert.equal((await get('/Observation/blk-org/_history/2', c)).status, 404);
  assert.deepEqual(ids((await get('/Observation/blk-org/_history', c)).body), []);

  const unblock = { ...corrected, meta: { extension: [{ url: 'https://samhandling.dev/fhir/StructureDefinition/lab-citizen-release', extension: [{ url: 'decision', valueCode: 'release' }] }] } };
  const refused = await w.s.fhir('/Observation/blk-org', { method: 'PUT', body: unblock, headers: await w.as.lab() });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.body.issue[0].details.coding[0].code, 'lab-release-by-operation');
  assert.equal((await get('/Observation/blk-org', c)).status, 404);
});

test('a blocked result the laboratory deletes leaves no trace in the citizen’s history', async () => {
  await w.publish(urineCulture('del', { issued: w.clock.now.toISOString() }));
  assert.equal((await release('del-dr', await w.as.gp(), [{ name: 'decision', valueCode: 'block' }])).status, 200);
  assert.equal((await w.s.fhir('/DiagnosticReport/del-dr', { method: 'DELETE', headers: await w.as.lab() })).status, 204);
  w.clock.advance(30);
  const urls = (body: any) => (body?.entry ?? []).map((e: any) => e.fullUrl as string);
  const c = await w.as.citizen();
  assert.ok(!urls((await get('/DiagnosticReport/_history', c)).body).some((u: string) => u.endsWith('/del-dr')), 'type history');
  assert.ok(!urls((await get('/_history?_count=1000', c)).body).some((u: string) => u.endsWith('/del-dr')), 'system history');
});

test('a delay holds the result until the chosen moment, also for chemistry; release opens genetics, which never opens by itself', async () => {
  await w.publish(chemistry('dly', { issued: w.clock.now.toISOString(), hb: 9.8, crp: 40 }));
  const until = new Date(w.clock.now.getTime() + 3 * 86_400_000).toISOString();
  const delayed = await release('dly-dr', await w.as.gp(), [{ name: 'decision', valueCode: 'delay' }, { name: 'until', valueDateTime: until }]);
  assert.equal(delayed.status, 200, delayed.text);
  assert.equal((await get('/Observation/dly-crp', await w.as.citizen())).status, 404);
  w.clock.advance(3.01);
  assert.equal((await get('/Observation/dly-crp', await w.as.citizen())).status, 200);

  await w.publish(chemistry('gen', { issued: w.clock.now.toISOString(), hb: 14, crp: 1, discipline: ['genetics', 'GE'] }));
  w.clock.advance(3650);
  assert.equal((await get('/DiagnosticReport/gen-dr', await w.as.citizen())).status, 404, 'genetics: never automatically');
  assert.equal((await release('gen-dr', await w.as.gp(), [{ name: 'decision', valueCode: 'release' }])).status, 200);
  assert.equal((await get('/DiagnosticReport/gen-dr', await w.as.citizen())).status, 200);
  assert.equal((await get('/Observation/gen-hb', await w.as.citizen())).status, 200);
});

test('results shared for quality assurance only never reach the citizen; personnel see them', async () => {
  const qa = { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HQUALIMP' }] };
  const published = await w.publish(chemistry('qa', { issued: w.clock.now.toISOString(), hb: 13, crp: 2, meta: qa }));
  assert.equal(published.status, 200, published.text);
  w.clock.advance(30);
  const c = await w.as.citizen();
  assert.equal((await get('/Observation/qa-hb', c)).status, 404);
  assert.ok(!ids((await get('/Observation?patient=anna&_count=1000', c)).body).includes('Observation/qa-hb'));
  const trend = await get(`/Observation/$trend?code=${encodeURIComponent(`${HB.system}|${HB.code}`)}`, c);
  assert.ok(!JSON.stringify(trend.body).includes('qa-hb'));
  assert.equal((await get('/Observation/qa-hb', await w.as.gp())).status, 200);
});

test('the requester sees where a result stands for the citizen', async () => {
  const issued = w.clock.now.toISOString();
  await w.publish(urineCulture('st', { issued }));
  const status = async (id: string, headers?: Record<string, string>) => {
    const r = await get(`/DiagnosticReport/${id}/$citizen-release`, headers ?? (await w.as.gp()));
    return { status: r.status, p: Object.fromEntries((r.body.parameter ?? []).map((x: any) => [x.name, Object.values(x).find((v) => v !== x.name)])) };
  };
  assert.deepEqual((await status('st-dr')).p, { discipline: 'microbiology', decision: 'automatic', visibleNow: false, releaseAt: new Date(Date.parse(issued) + 14 * 86_400_000).toISOString() });
  const until = new Date(w.clock.now.getTime() + 86_400_000).toISOString();
  await release('st-dr', await w.as.gp(), [{ name: 'decision', valueCode: 'delay' }, { name: 'until', valueDateTime: until }]);
  assert.deepEqual((await status('st-dr')).p, { discipline: 'microbiology', decision: 'delay', visibleNow: false, releaseAt: until });
  await release('st-dr', await w.as.gp(), [{ name: 'decision', valueCode: 'block' }]);
  assert.deepEqual((await status('st-dr')).p, { discipline: 'microbiology', decision: 'block', visibleNow: false, withheldBecause: 'blocked' });
  assert.equal((await status('st-dr', await w.as.citizen())).status, 404, 'the citizen does not learn of a blocked result');
  await w.publish(chemistry('stg', { issued, hb: 14, crp: 1, discipline: ['genetics', 'GE'] }));
  assert.equal((await status('stg-dr')).p.withheldBecause, 'not-automatic');
  const chem = await status('ch1-dr', await w.as.citizen());
  assert.equal(chem.status, 200);
  assert.equal(chem.p.visibleNow, true);
});

test('every access, the refused ones included, is in the citizen’s access log', async () => {
  const log = await get('/$access-log?_count=500', await w.as.citizen());
  assert.equal(log.status, 200, log.text);
  assert.equal(log.body.patient, NIN.anna);
  const entries = log.body.entries as any[];
  const by = (id: string, outcome = 'success') => entries.filter((e) => e.who.id === id && e.outcome === outcome);
  assert.ok(by('7200001').some((e) => e.action === 'R' && e.what.some((x: any) => x.service === 'lab-results')), 'the GP read the report');
  assert.equal(by('7200001').length, 15, 'every read, search and release decision of the GP (the two refused as malformed are 400s)');
  assert.ok(by('7200002', 'denied').length >= 1, 'the refused release by another doctor');
  assert.ok(by('lab-lis').length >= 6, 'every publication by the laboratory');
  assert.ok(by(NIN.anna, 'denied').length >= 5, 'the citizen’s own refused reads before release');
});

// The document may name its report relatively, by this server's absolute URL or by version.
for (const [prefix, named, form] of [
  ['ldoc', 'relatively', (id: string) => `DiagnosticReport/${id}`],
  ['ldocabs', 'by absolute URL', (id: string) => `${w.s.base}/DiagnosticReport/${id}`],
  ['ldocver', 'by version', (id: string) => `DiagnosticReport/${id}/_history/1`],
] as const)
test(`a lab report published as a document reaches the citizen only with its report, named ${named}`, async () => {
  const issued = w.clock.now.toISOString();
  assert.equal((await w.publish(urineCulture(prefix, { issued }))).status, 200);
  // The laboratory also publishes the report as a PDF through MHD (ITI-65), related to its DiagnosticReport.
  const provide = provideBundle({ bytes: samplePdf('Urindyrkning: E. coli'), contentType: 'application/pdf', classCode: 'C00-1', date: issued, title: 'Svarrapport', patient: NIN.anna, author: 'Organization/org-lab' });
  // Anna by id, as in the laboratory's results (its system cannot search other organisations' patients).
  for (const e of provide.entry!) if (e.resource?.resourceType !== 'Binary') (e.resource as any).subject = { reference: 'Patient/anna' };
  const docEntry = provide.entry!.find((e) => e.resource?.resourceType === 'DocumentReference')!;
  (docEntry.resource as any).context = { related: [{ reference: form(`${prefix}-dr`) }] };
  const sent = await w.s.fhir('/', { method: 'POST', body: provide, headers: await w.as.lab() });
  assert.equal(sent.status, 200, sent.text);
  const { id, url } = published(sent.body);
  const docIds = (body: any) => ids(body).filter((x) => x === `DocumentReference/${id}`);
  const sees = async (c: Record<string, string>) => ({
    read: (await get(`/DocumentReference/${id}`, c)).status,
    search: docIds((await get('/DocumentReference?patient=anna', c)).body).length,
    everything: docIds((await get('/Patient/anna/$everything?_count=1000', c)).body).length,
    content: (await fetchBytes(url, c)).status,
  });
  const hidden = { read: 404, search: 0, everything: 0, content: 404 };
  const shown = { read: 200, search: 1, everything: 1, content: 200 };

  assert.deepEqual(await sees(await w.as.citizen()), hidden, 'microbiology waits 14 days: so does its report in document form');
  assert.deepEqual(await sees(await w.as.gp()), shown, 'the GP sees it at once');
  // In a transaction Bundle the check that looks up the report runs on the bundle's own
  // connection: embedded PGlite has one, and a second query would wait for it forever.
  const inBundle = await Promise.race([
    w.s.fhir('/', { method: 'POST', headers: await w.as.gp(), body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'GET', url: `DocumentReference/${id}` } }] } }),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the transaction Bundle got no answer in 15 s')), 15_000).unref()),
  ]);
  assert.equal(inBundle.status, 200, inBundle.text);
  assert.equal(inBundle.body.entry[0].resource.id, id);
  const blocked = await release(`${prefix}-dr`, await w.as.gp(), [{ name: 'decision', valueCode: 'block' }]);
  assert.equal(blocked.status, 200, blocked.text);
  w.clock.advance(15);
  assert.deepEqual(await sees(await w.as.citizen()), hidden, 'blocked: the document stays hidden after the delay');
  assert.equal((await release(`${prefix}-dr`, await w.as.gp(), [{ name: 'decision', valueCode: 'release' }])).status, 200);
  assert.deepEqual(await sees(await w.as.citizen()), shown, 'released: the citizen sees the document with the report');
});
