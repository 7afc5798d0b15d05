import { test, before, after } from 'node:test';
import type { Patient } from '@medplum/fhirtypes';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { SHARED_DATA } from './helpers/paths.ts';
import { modernSyntheaSet } from './helpers/synthea-modern.ts';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => s?.close());

/** POSTs a Bundle of this type and these entries to the FHIR base. */
const postBundle = (type: 'batch' | 'transaction', entry: unknown[]) => s.fhir('/', { method: 'POST', body: { resourceType: 'Bundle', type, entry } });

const storedCounts = async () =>
  Object.fromEntries(
    (await s.platform.db.query<{ type: string; n: number }>(`select type, count(*)::int as n from resource where deleted = false group by type`)).map((r) => [r.type, r.n])
  );

test('all of the Synthea set loads as transactions over HTTP, and stored counts equal the bundles', async () => {
  const dir = path.join(SHARED_DATA, 'synthea');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  const first = files.filter((f) => /^(hospitalInformation|practitionerInformation)/.test(f));
  // The service modules' reference data (catalogues, profiles) is there from the start.
  const expected: Record<string, number> = await storedCounts();
  const types = new Set<string>();
  for (const f of [...first, ...files.filter((f) => !first.includes(f))]) {
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    for (const e of bundle.entry) {
      expected[e.resource.resourceType] = (expected[e.resource.resourceType] ?? 0) + 1;
      types.add(e.resource.resourceType);
    }
    const res = await s.fhir('/', { method: 'POST', body: bundle });
    assert.equal(res.status, 200, `${f}: ${res.text.slice(0, 500)}`);
    assert.equal(res.body.type, 'transaction-response');
    assert.equal(res.body.entry.length, bundle.entry.length);
    for (const e of res.body.entry) assert.match(e.response.status, /^201/);
  }
  assert.deepEqual(await storedCounts(), expected);
  // urn:uuid references were rewritten to the stored ids, and every one resolves.
  const [{ n }] = await s.platform.db.query<{ n: number }>(`select count(*)::int as n from resource where type = any($1::text[]) and content like '%urn:uuid:%'`, [[...types]]);
  assert.equal(n, 0);
});

test('patients in the format of newer Synthea exports, never seen before, load just as well', async () => {
  // Shared resources in batches with ifNoneExist, conditional references, notes with base64 text,
  // contained resources, US Core profiles the server does not hold (see the helper).
  const set = modernSyntheaSet(4);
  const before = await storedCounts();
  for (const bundle of [...set.shared, ...set.patients]) {
    const res = await s.fhir('/', { method: 'POST', body: bundle });
    assert.equal(res.status, 200, res.text.slice(0, 500));
    assert.equal(res.body.entry.length, bundle.entry!.length);
    for (const [i, e] of res.body.entry.entries()) assert.match(e.response.status, /^201/, `${bundle.entry![i].resource!.resourceType}: ${JSON.stringify(e.response)}`);
  }
  const after = await storedCounts();
  for (const [type, n] of Object.entries(set.counts)) assert.equal((after[type] ?? 0) - (before[type] ?? 0), n, type);
  // Loading the region's bundles again finds what they describe and creates nothing.
  for (const bundle of set.shared) {
    const res = await s.fhir('/', { method: 'POST', body: bundle });
    for (const e of res.body.entry) assert.match(e.response.status, /^200/);
  }
  assert.deepEqual(await storedCounts(), after);
  // Conditional references point at the stored resources; a note's text went to the document store.
  const family = (set.patients[0].entry![0].resource as Patient).name![0].family;
  const encounter = (await s.fhir(`/Encounter?subject.family=${family}`)).body.entry[0].resource;
  const practitioner = (await s.fhir(`/${encounter.participant[0].individual.reference}`)).body;
  assert.equal(practitioner.resourceType, 'Practitioner');
  assert.equal((await s.fhir(`/${encounter.serviceProvider.reference}`)).body.resourceType, 'Organization');
  const doc = (await s.fhir(`/DocumentReference?encounter=${encounter.resourceType}/${encounter.id}`)).body.entry[0].resource;
  assert.equal(doc.content[0].attachment.data, undefined, 'the content is kept in the document store, not inline');
  const content = await fetch(doc.content[0].attachment.url, { headers: { accept: 'text/plain' } });
  assert.equal(content.status, 200);
  assert.match(await content.text(), /# Chief Complaint/);
});

test('a transaction is all or nothing: one bad entry leaves nothing behind and names the entry', async () => {
  const before = await storedCounts();
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001', resource: { resourceType: 'Patient', gender: 'male' }, request: { method: 'POST', url: 'Patient' } },
      {
        fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000002',
        resource: { resourceType: 'Observation', status: 'not-a-status', code: { text: 'x' }, subject: { reference: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001' } },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  };
  const res = await s.fhir('/', { method: 'POST', body: bundle });
  assert.equal(res.status, 422, res.text);
  assert.ok(res.body.issue.some((i: any) => i.expression?.some((x: string) => x.startsWith('Bundle.entry[1]'))), res.text);
  assert.deepEqual(await storedCounts(), before);

  const dangling: any = structuredClone(bundle);
  dangling.entry[1].resource.status = 'final';
  dangling.entry[1].resource.subject.reference = 'urn:uuid:aaaaaaaa-0000-4000-8000-00000000ffff';
  const res2 = await s.fhir('/', { method: 'POST', body: dangling });
  assert.equal(res2.status, 400, res2.text);
  assert.equal(res2.body.issue[0].details.coding[0].code, 'reference-not-found');
  assert.deepEqual(await storedCounts(), before);
});

test('a transaction that changes one resource twice is refused whole, naming the entry', async () => {
  await s.fhir('/Patient/overlap-existing', { method: 'PUT', body: { resourceType: 'Patient', id: 'overlap-existing', gender: 'female' } });
  const put = (id: string, gender: string) => ({ resource: { resourceType: 'Patient', id, gender }, request: { method: 'PUT', url: `Patient/${id}` } });
  const cases: [string, unknown[]][] = [
    ['two creates of one id', [put('overlap-new', 'male'), put('overlap-new', 'female')]],
    ['two updates', [put('overlap-existing', 'male'), put('overlap-existing', 'other')]],
    ['an update and a delete', [put('overlap-existing', 'male'), { request: { method: 'DELETE', url: 'Patient/overlap-existing' } }]],
    ['an update and a conditional update that finds the same', [put('overlap-existing', 'male'), { resource: { resourceType: 'Patient', gender: 'other' }, request: { method: 'PUT', url: 'Patient?_id=overlap-existing' } }]],
  ];
  const before = await storedCounts();
  for (const [name, entry] of cases) {
    const res = await s.fhir('/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry } });
    assert.equal(res.status, 400, `${name}: ${res.text}`);
    assert.equal(res.body.issue[0].details.coding[0].code, 'transaction-overlap', name);
    assert.deepEqual(res.body.issue[0].expression, ['Bundle.entry[1].request'], name);
  }
  assert.deepEqual(await storedCounts(), before);
  assert.equal((await s.fhir('/Patient/overlap-existing')).body.meta.versionId, '1');
});

test('a transaction of thousands of resources (written in several statements) is stored and indexed whole', async () => {
  const n = 2_500;
  const entry = [
    { fullUrl: 'urn:uuid:bbbbbbbb-0000-4000-8000-000000000000', resource: { resourceType: 'Patient', name: [{ family: 'Mangeprøver' }] }, request: { method: 'POST', url: 'Patient' } },
    ...Array.from({ length: n }, (_, i) => ({
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
        subject: { reference: 'urn:uuid:bbbbbbbb-0000-4000-8000-000000000000' },
        effectiveDateTime: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString(),
        valueQuantity: { value: 4 + (i % 50) / 10, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      },
      request: { method: 'POST', url: 'Observation' },
    })),
  ];
  const res = await s.fhir('/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry }, headers: { prefer: 'return=minimal' } });
  assert.equal(res.status, 200, res.text.slice(0, 300));
  const patientId = res.body.entry[0].response.location.split('/')[1];
  const count = async (q: string) => (await s.fhir(`/Observation?${q}&_summary=count`)).body.total;
  assert.equal(await count(`subject=Patient/${patientId}`), n);
  assert.equal(await count(`subject=Patient/${patientId}&value-quantity=gt8.8`), n / 50);
  assert.equal(await count(`subject=Patient/${patientId}&date=ge2020-04-14`), n - 24 * 104);
});

test('transaction order, conditional create, conditional references, ifMatch and per-entry responses', async () => {
  const orgId = 'org-tx-1';
  await s.fhir(`/Organization/${orgId}`, {
    method: 'PUT',
    body: { resourceType: 'Organization', id: orgId, name: 'Legekontoret', identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '974760673' }] },
  });
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { request: { method: 'GET', url: `Organization/${orgId}` } },
      {
        fullUrl: 'urn:uuid:bbbbbbbb-0000-4000-8000-000000000001',
        resource: { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: 'tx-conditional' }], managingOrganization: { reference: 'Organization?identifier=urn:oid:2.16.578.1.12.4.1.4.101|974760673' } },
        request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:test|tx-conditional' },
      },
      { resource: { resourceType: 'Organization', id: orgId, name: 'Legekontoret AS', identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '974760673' }] }, request: { method: 'PUT', url: `Organization/${orgId}`, ifMatch: 'W/"1"' } },
    ],
  };
  const res = await s.fhir('/', { method: 'POST', body: bundle });
  assert.equal(res.status, 200, res.text);
  const [get, post, put] = res.body.entry;
  // GET runs after the PUT (spec order), so it sees version 2.
  assert.equal(get.resource.name, 'Legekontoret AS');
  assert.match(post.response.status, /^201/);
  assert.match(post.response.location, /^Patient\/[^/]+\/_history\/1$/);
  assert.equal(post.resource.managingOrganization.reference, `Organization/${orgId}`);
  assert.equal(put.response.etag, 'W/"2"');

  // The same bundle again: the conditional create finds the patient, the stale ifMatch fails the whole transaction.
  const again = await s.fhir('/', { method: 'POST', body: bundle });
  assert.equal(again.status, 412, again.text);
  bundle.entry.pop();
  const third = await s.fhir('/', { method: 'POST', body: bundle });
  assert.equal(third.status, 200, third.text);
  assert.match(third.body.entry[1].response.status, /^200/);
  assert.equal(third.body.entry[1].resource.id, post.resource.id);
});

test('Prefer: return=minimal leaves the written resources out of a transaction response, return=OperationOutcome names them; reads keep theirs', async () => {
  await s.fhir('/Organization/org-tx-prefer', { method: 'PUT', body: { resourceType: 'Organization', id: 'org-tx-prefer', name: 'Fastlegekontoret' } });
  const bundle = (family: string) => ({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:bbbbbbbb-0000-4000-8000-0000000000a1', resource: { resourceType: 'Patient', name: [{ family }], managingOrganization: { reference: 'Organization/org-tx-prefer' } }, request: { method: 'POST', url: 'Patient' } },
      { resource: { resourceType: 'Organization', id: `org-${family}`, name: family }, request: { method: 'PUT', url: `Organization/org-${family}` } },
      { request: { method: 'GET', url: 'Organization/org-tx-prefer' } },
    ],
  });
  const minimal = await s.fhir('/', { method: 'POST', body: bundle('Minimalsen'), headers: { prefer: 'return=minimal' } });
  assert.equal(minimal.status, 200, minimal.text);
  const [created, updated, read] = minimal.body.entry;
  assert.equal(created.resource, undefined);
  assert.equal(updated.resource, undefined);
  assert.match(created.response.location, /^Patient\/[^/]+\/_history\/1$/);
  assert.equal(updated.response.etag, 'W/"1"');
  assert.equal(read.resource.name, 'Fastlegekontoret', 'a read entry answers with its resource whatever the preference');
  // What was written is stored all the same.
  const stored = await s.fhir(`/${created.response.location.replace(/\/_history\/1$/, '')}`);
  assert.equal(stored.body.name[0].family, 'Minimalsen');

  const outcome = await s.fhir('/', { method: 'POST', body: bundle('Utfallsen'), headers: { prefer: 'return=OperationOutcome' } });
  assert.equal(outcome.status, 200, outcome.text);
  assert.equal(outcome.body.entry[0].resource, undefined);
  assert.equal(outcome.body.entry[0].response.outcome.resourceType, 'OperationOutcome');
  assert.match(outcome.body.entry[0].response.outcome.issue[0].diagnostics, /^Patient\/[^ ]+ \(version 1\): 201/);

  const full = await s.fhir('/', { method: 'POST', body: bundle('Fullsen') });
  assert.equal(full.body.entry[0].resource.name[0].family, 'Fullsen', 'without a preference the written resources come back');
});

test('a batch reports each entry on its own', async () => {
  const res = await postBundle('batch', [
    { resource: { resourceType: 'Patient', gender: 'female' }, request: { method: 'POST', url: 'Patient' } },
    { resource: { resourceType: 'Patient', gender: 'nonsense' }, request: { method: 'POST', url: 'Patient' } },
    { request: { method: 'GET', url: 'Patient/does-not-exist' } },
  ]);
  assert.equal(res.status, 200);
  assert.equal(res.body.type, 'batch-response');
  assert.deepEqual(res.body.entry.map((e: any) => e.response.status.slice(0, 3)), ['201', '422', '404']);
  assert.equal(res.body.entry[1].response.outcome.resourceType, 'OperationOutcome');
});

test('PATCH entries: a JSON Patch in a Binary and a FHIRPath Patch in Parameters, in a transaction and in a batch', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: { resourceType: 'Patient', gender: 'male', name: [{ family: 'Lie' }] } })).body;
  const jsonPatch = (ops: unknown[]) => ({ resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from(JSON.stringify(ops)).toString('base64') });
  const fhirPathPatch = (path: string, value: string) => ({
    resourceType: 'Parameters',
    parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: path }, { name: 'value', valueCode: value }] }],
  });
  const url = `Patient/${created.id}`;
  const tx = await s.fhir('/', {
    method: 'POST',
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'PATCH', url }, resource: jsonPatch([{ op: 'replace', path: '/gender', value: 'female' }]) }] },
  });
  assert.equal(tx.status, 200, tx.text);
  assert.equal(tx.body.entry[0].response.status, '200 OK');
  assert.equal((await s.fhir(`/${url}`)).body.gender, 'female');

  const batch = await postBundle('batch', [
    { request: { method: 'PATCH', url }, resource: fhirPathPatch('Patient.gender', 'other') },
    { request: { method: 'PATCH', url }, resource: jsonPatch([{ op: 'test', path: '/gender', value: 'male' }]) },
  ]);
  assert.equal(batch.status, 200, batch.text);
  assert.equal(batch.body.entry[0].response.status, '200 OK');
  assert.match(batch.body.entry[1].response.status, /^4/, 'a failing JSON Patch test fails its own entry');
  const read = (await s.fhir(`/${url}`)).body;
  assert.equal(read.gender, 'other');
  assert.equal(read.meta.versionId, '3');
});

test("an entry's request URL may be absolute on this server's base; another server's is refused", async () => {
  const put = (url: string) =>
    s.fhir('/', {
      method: 'POST',
      body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'PUT', url }, resource: { resourceType: 'Patient', id: 'absolute-url' } }] },
    });
  const ours = await put(`${s.base}/Patient/absolute-url`);
  assert.equal(ours.status, 200, ours.text);
  assert.equal(ours.body.entry[0].response.status, '201 Created');
  const theirs = await put('https://elsewhere.example/fhir/Patient/absolute-url');
  assert.equal(theirs.status, 400, theirs.text);
  assert.equal(theirs.body.issue[0].expression[0], 'Bundle.entry[0].request.url');
});

test('a batch entry reads the version its URL names; URLs an entry cannot name and a malformed JSON Patch fail their own entries', async () => {
  const p = (await s.fhir('/Patient', { method: 'POST', body: { resourceType: 'Patient', gender: 'male' } })).body;
  await s.fhir(`/Patient/${p.id}`, { method: 'PUT', body: { ...p, gender: 'female' } });
  const res = await postBundle('batch', [
    { request: { method: 'GET', url: `Patient/${p.id}/_history/1` } },
    { request: { method: 'GET', url: `Patient/${p.id}` } },
    { request: { method: 'GET', url: `Patient/${p.id}/_history` } },
    { request: { method: 'GET', url: `Patient/${p.id}/$everything` } },
    { request: { method: 'DELETE', url: 'Patient' } },
    { request: { method: 'POST', url: 'Patient/123' }, resource: { resourceType: 'Patient' } },
    // A create's conditions go in ifNoneExist; in the URL they were ignored and the create made.
    { request: { method: 'POST', url: 'Patient?gender=male' }, resource: { resourceType: 'Patient' } },
    { request: { method: 'PATCH', url: `Patient/${p.id}` }, resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: Buffer.from('[{not json').toString('base64') } },
  ]);
  assert.equal(res.status, 200, res.text);
  const [v1, current, ...refused] = res.body.entry;
  assert.equal(v1.resource.gender, 'male', 'the version named, not the current one');
  assert.equal(v1.resource.meta.versionId, '1');
  assert.equal(current.resource.gender, 'female');
  assert.deepEqual(
    refused.map((e: any) => [e.response.status.slice(0, 3), e.response.outcome.issue[0].details.coding[0].code]),
    [...Array(5).fill(['400', 'invalid-entry-url']), ['400', 'patch-invalid']]
  );
  assert.equal((await s.fhir(`/Patient/${p.id}`)).body.meta.versionId, '2', 'nothing was changed');
});

test('two conditional creates with the same criteria in one transaction store one resource, which references to either entry name', async () => {
  const org = { resourceType: 'Organization', name: 'Legevakten i Bø', identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: '974600951' }] };
  const criteria = 'identifier=urn:oid:2.16.578.1.12.4.1.4.101|974600951';
  const entry = (n: number) => ({ fullUrl: `urn:uuid:6f1c2a3b-0000-4000-8000-00000000000${n}`, request: { method: 'POST', url: 'Organization', ifNoneExist: criteria }, resource: org });
  const patient = (n: number) => ({ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', managingOrganization: { reference: `urn:uuid:6f1c2a3b-0000-4000-8000-00000000000${n}` } } });
  const res = await postBundle('transaction', [entry(1), entry(2), patient(1), patient(2)]);
  assert.equal(res.status, 200, res.text);
  const [first, second, p1, p2] = res.body.entry;
  assert.deepEqual([first.response.status, second.response.status], ['201 Created', '200 OK']);
  assert.equal(second.response.location, first.response.location);
  const id = first.resource.id;
  assert.deepEqual([p1.resource.managingOrganization.reference, p2.resource.managingOrganization.reference], [`Organization/${id}`, `Organization/${id}`]);
  assert.equal((await s.fhir(`/Organization?${criteria}&_summary=count`)).body.total, 1);
});

test('a transaction renames an entry in the other links that name it too: url elements and narrative href/src (R4 transaction rules)', async () => {
  const media = 'urn:uuid:0d3c5f4e-0000-4000-8000-0000000000b1';
  const observation = 'urn:uuid:0d3c5f4e-0000-4000-8000-0000000000b2';
  const elsewhere = 'urn:uuid:0d3c5f4e-0000-4000-8000-0000000000ff'; // names no entry: left as it is
  const div = `<div xmlns="http://www.w3.org/1999/xhtml"><a href="${observation}">blodtrykk</a> <img src='${media}' alt="foto"/> <a href="${elsewhere}">x</a></div>`;
  const res = await postBundle('transaction', [
    { fullUrl: media, request: { method: 'POST', url: 'Media' }, resource: { resourceType: 'Media', status: 'completed', content: { contentType: 'image/png', data: 'iVBORw0KGgo=' } } },
    { fullUrl: observation, request: { method: 'POST', url: 'Observation' }, resource: { resourceType: 'Observation', status: 'final', code: { text: 'blodtrykk' } } },
    {
      request: { method: 'POST', url: 'Patient' },
      resource: { resourceType: 'Patient', photo: [{ contentType: 'image/png', url: media }, { url: elsewhere }], text: { status: 'generated', div } },
    },
  ]);
  assert.equal(res.status, 200, res.text);
  const [m, o, p] = res.body.entry.map((e: any) => e.resource);
  const stored = (await s.fhir(`/Patient/${p.id}`)).body;
  assert.deepEqual(stored.photo.map((x: any) => x.url), [`Media/${m.id}`, elsewhere]);
  assert.equal(
    stored.text.div,
    `<div xmlns="http://www.w3.org/1999/xhtml"><a href="Observation/${o.id}">blodtrykk</a> <img src='Media/${m.id}' alt="foto"/> <a href="${elsewhere}">x</a></div>`
  );
});
