import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { asCitizen, asDoctor, asGp, asSpecialist, bearer, CLASS, fetchBytes, NIN_SYSTEM, P, provideBundle, published, samplePdf, startDocumentServer, type DocWorld } from './svc-documents-fixtures.ts';
import { practitionerClaims } from '../src/access/dev-authority.ts';

/**
 * IHE MHD over real HTTP with real tokens: a hospital publishes (ITI-65), the GP finds (ITI-67)
 * and retrieves (ITI-68); the trust framework, NORS restriction, the Kjernejournal windows and
 * the citizen's own view and access log.
 */
let w: DocWorld;
before(async () => {
  w = await startDocumentServer();
});
after(async () => w?.s.close());

const count = async (table: string) => Number((await w.s.platform.db.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0].n);

async function publish(o: Parameters<typeof provideBundle>[0], headers?: Record<string, string>) {
  const res = await w.s.fhir('/', { method: 'POST', body: provideBundle(o), headers: headers ?? (await asDoctor(w)) });
  assert.equal(res.status, 200, res.text);
  return published(res.body);
}

let discharge: { id: string; url: string; bytes: Buffer };

test('a hospital publishes a discharge summary (ITI-65); the GP finds it by patient identifier (GET and POST _search) and retrieves it byte for byte (ITI-68)', async () => {
  const bytes = samplePdf('Epikrise for Åse Østby');
  const { id, url, doc } = await publish({ bytes, contentType: 'application/pdf' });
  discharge = { id, url, bytes };
  assert.match(url, new RegExp(`^${w.s.base}/Binary/[0-9a-f-]{36}$`));
  assert.equal(doc.content[0].attachment.size, bytes.length);
  assert.equal(doc.content[0].attachment.hash, createHash('sha1').update(bytes).digest('base64'));
  assert.equal(doc.content[0].attachment.data, undefined);
  assert.equal(doc.subject.reference, 'Patient/pat');
  assert.equal(await count(`resource where type = 'Binary'`), 0, 'the content is not a Binary row');

  const gp = await asGp(w);
  const found = await w.s.fhir(`/DocumentReference?patient.identifier=${NIN_SYSTEM}|${P.patient}&category=${CLASS}|A00-1&status=current`, { headers: gp });
  assert.equal(found.status, 200, found.text);
  assert.deepEqual(found.body.entry.map((e: any) => e.resource.id), [id]);
  assert.equal(found.headers.get('NHN-SecurityLabel-Nors-Count'), '0');
  const posted = await w.s.fhir('/DocumentReference/_search', {
    method: 'POST',
    body: new URLSearchParams({ 'patient.identifier': `${NIN_SYSTEM}|${P.patient}`, type: 'http://loinc.org|18842-5', 'author.identifier': `urn:oid:2.16.578.1.12.4.1.4.101|920000029` }).toString(),
    headers: { ...gp, 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(posted.status, 200, posted.text);
  assert.deepEqual(posted.body.entry.map((e: any) => e.resource.id), [id]);
  const byDate = await w.s.fhir(`/DocumentReference?patient=Patient/pat&date=ge${new Date(Date.now() - 86400e3).toISOString().slice(0, 10)}`, { headers: gp });
  assert.deepEqual(byDate.body.entry.map((e: any) => e.resource.id), [id]);

  const got = await fetchBytes(url, { ...gp, accept: 'application/pdf' });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('content-type'), 'application/pdf');
  assert.ok(got.bytes.equals(bytes), 'byte for byte');
  const asJson = await w.s.fhir(url, { headers: gp });
  assert.equal(asJson.body.resourceType, 'Binary');
  assert.equal(asJson.body.securityContext.reference, `DocumentReference/${id}`);
  assert.ok(Buffer.from(asJson.body.data, 'base64').equals(bytes));
});

test('inline attachment.data and text/plain are accepted; other types, lying types and bad bundles are refused and store nothing', async () => {
  const text = Buffer.from('Henvisning til kardiolog.\nMvh fastlegen – æøå\n', 'utf8');
  const { url } = await publish({ bytes: text, contentType: 'text/plain', inline: true, classCode: 'I00-1', title: 'Henvisning' }, await asGp(w));
  const got = await fetchBytes(url, await asGp(w));
  assert.equal(got.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.ok(got.bytes.equals(text));

  const before = { docs: await count(`resource where type = 'DocumentReference'`), lists: await count(`resource where type = 'List'`), content: await count('document_content'), chunks: await count('document_chunk') };
  const jpeg = await w.s.fhir('/', { method: 'POST', body: provideBundle({ bytes: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2]), contentType: 'image/jpeg' }), headers: await asDoctor(w) });
  assert.equal(jpeg.status, 415, jpeg.text);
  assert.equal(jpeg.body.issue[0].details.coding[0].code, 'unsupported-document-type');
  assert.deepEqual(jpeg.body.issue[0].expression, ['Bundle.entry[1].resource.content[0].attachment']);
  const lying = await w.s.fhir('/', { method: 'POST', body: provideBundle({ bytes: Buffer.from('not a pdf'), contentType: 'application/pdf', inline: true }), headers: await asDoctor(w) });
  assert.equal(lying.status, 422, lying.text);
  assert.equal(lying.body.issue[0].details.coding[0].code, 'document-content-mismatch');
  const binary = Buffer.from([0x00, 0x01, 0x02, 0xff]);
  const unknown = await w.s.fhir('/', { method: 'POST', body: provideBundle({ bytes: binary, contentType: 'application/octet-stream', inline: true }), headers: await asDoctor(w) });
  assert.equal(unknown.status, 415, unknown.text);
  const nobody = await w.s.fhir('/', { method: 'POST', body: provideBundle({ bytes: samplePdf('x'), contentType: 'application/pdf', patient: '01010150164' }), headers: await asDoctor(w) });
  assert.ok(nobody.status >= 400, nobody.text);
  const bundle = provideBundle({ bytes: samplePdf('x'), contentType: 'application/pdf' });
  bundle.type = 'batch';
  const batch = await w.s.fhir('/', { method: 'POST', body: bundle, headers: await asDoctor(w) });
  assert.equal(batch.status, 422, batch.text);
  const plain = await w.s.fhir('/DocumentReference', {
    method: 'POST',
    body: { ...provideBundle({ bytes: samplePdf('x'), contentType: 'application/pdf', inline: true }).entry![1].resource, subject: { reference: 'Patient/pat' } },
    headers: await asDoctor(w),
  });
  assert.equal(plain.status, 422, plain.text);
  assert.equal(plain.body.issue[0].details.coding[0].code, 'document-inline-content');
  const after = { docs: await count(`resource where type = 'DocumentReference'`), lists: await count(`resource where type = 'List'`), content: await count('document_content'), chunks: await count('document_chunk') };
  assert.deepEqual(after, before);
  const search = await w.s.fhir('/Binary', { headers: await asGp(w) });
  assert.equal(search.status, 405);
});

test('a specialist without the trust-framework attestation is refused; with it, under SAMTYKKE, they read', async () => {
  const none = await asSpecialist(w, { noAttestation: true });
  const search = await w.s.fhir(`/DocumentReference?patient.identifier=${NIN_SYSTEM}|${P.patient}`, { headers: none });
  assert.equal(search.status, 403, search.text);
  assert.equal(search.body.issue[0].details.coding[0].code, 'attestation-missing');
  const bytes = await fetchBytes(discharge.url, none);
  assert.equal(bytes.status, 403);
  const unntak = await asSpecialist(w, {}, 'UNNTAK');
  assert.equal((await fetchBytes(discharge.url, unntak)).status, 403, 'UNNTAK is for the GP only');
  const attested = await asSpecialist(w);
  const ok = await fetchBytes(discharge.url, attested);
  assert.equal(ok.status, 200);
  assert.ok(ok.bytes.equals(discharge.bytes));
  const otherPatient = bearer(await w.authority.sign(practitionerClaims({ hpr: '7200003', org: '920000037', patient: P.other } as any)), { 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': P.other });
  assert.equal((await fetchBytes(discharge.url, otherPatient)).status, 404, 'another patient’s document does not exist for this request');
});

test('the citizen reads their own documents and restricts one: counted but not returned under SAMTYKKE, returned under FORHOYET_SAMTYKKE', async () => {
  const citizen = await asCitizen(w);
  const own = await w.s.fhir('/DocumentReference', { headers: citizen });
  assert.equal(own.status, 200, own.text);
  assert.ok(own.body.entry.some((e: any) => e.resource.id === discharge.id));
  assert.ok((await fetchBytes(discharge.url, citizen)).bytes.equals(discharge.bytes));

  const doctor = await asDoctor(w);
  const refused = await w.s.fhir(`/DocumentReference/${discharge.id}/$restrict`, { method: 'POST', headers: doctor });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.body.issue[0].details.coding[0].code, 'restrict-citizen-only');
  const other = await w.s.fhir(`/DocumentReference/${discharge.id}/$restrict`, { method: 'POST', headers: await asCitizen(w, P.other) });
  assert.equal(other.status, 404, 'someone else’s document does not exist for this citizen');

  const restricted = await w.s.fhir(`/DocumentReference/${discharge.id}/$restrict`, { method: 'POST', headers: citizen });
  assert.equal(restricted.status, 200, restricted.text);
  assert.ok(restricted.body.meta.security.some((s: any) => s.code === 'NORS'));
  const version = Number(restricted.body.meta.versionId);
  assert.ok(version >= 2, 'a new version');

  const samtykke = await w.s.fhir(`/DocumentReference?patient.identifier=${NIN_SYSTEM}|${P.patient}`, { headers: await asDoctor(w) });
  assert.equal(samtykke.status, 200);
  assert.ok(!samtykke.body.entry?.some((e: any) => e.resource.id === discharge.id), 'not returned under SAMTYKKE');
  assert.equal(samtykke.headers.get('NHN-SecurityLabel-Nors-Count'), '1');
  assert.equal((await fetchBytes(discharge.url, await asDoctor(w))).status, 404, 'its content neither');
  assert.equal((await w.s.fhir(`/DocumentReference/${discharge.id}`, { headers: await asDoctor(w) })).status, 404);
  // Its earlier, unlabelled versions are covered by the restriction too.
  assert.equal((await w.s.fhir(`/DocumentReference/${discharge.id}/_history/1`, { headers: await asDoctor(w) })).status, 404);
  assert.deepEqual((await w.s.fhir(`/DocumentReference/${discharge.id}/_history`, { headers: await asDoctor(w) })).body.entry ?? [], []);
  const typeHistory = await w.s.fhir(`/DocumentReference/_history`, { headers: await asDoctor(w) });
  assert.ok(!typeHistory.body.entry.some((e: any) => e.resource?.id === discharge.id));
  assert.equal((await w.s.fhir(`/DocumentReference/${discharge.id}/_history/1`, { headers: await asDoctor(w, 'FORHOYET_SAMTYKKE') })).status, 200);

  const elevated = await asDoctor(w, 'FORHOYET_SAMTYKKE');
  const forhoyet = await w.s.fhir(`/DocumentReference?patient.identifier=${NIN_SYSTEM}|${P.patient}`, { headers: elevated });
  assert.ok(forhoyet.body.entry.some((e: any) => e.resource.id === discharge.id));
  assert.equal(forhoyet.headers.get('NHN-SecurityLabel-Nors-Count'), '0');
  assert.ok((await fetchBytes(discharge.url, await asDoctor(w, 'FORHOYET_SAMTYKKE'))).bytes.equals(discharge.bytes));
  assert.ok((await fetchBytes(discharge.url, citizen)).bytes.equals(discharge.bytes), 'the citizen still reads it');
  // A source's update does not lift the citizen's restriction.
  const current = (await w.s.fhir(`/DocumentReference/${discharge.id}`, { headers: await asDoctor(w, 'FORHOYET_SAMTYKKE') })).body;
  const { meta: _meta, ...unlabelled } = current;
  const updated = await w.s.fhir(`/DocumentReference/${discharge.id}`, { method: 'PUT', body: { ...unlabelled, description: 'Korrigert epikrise' }, headers: await asDoctor(w, 'FORHOYET_SAMTYKKE') });
  assert.equal(updated.status, 200, updated.text);
  assert.ok(updated.body.meta.security.some((s: any) => s.code === 'NORS'), 'the label is carried forward');
  const versionBeforeLift = Number(updated.body.meta.versionId);

  const lifted = await w.s.fhir(`/DocumentReference/${discharge.id}/$unrestrict`, { method: 'POST', headers: citizen });
  assert.equal(lifted.status, 200, lifted.text);
  assert.equal(lifted.body.meta.security, undefined);
  assert.equal(Number(lifted.body.meta.versionId), versionBeforeLift + 1);
  assert.ok(version < versionBeforeLift);
  assert.equal((await fetchBytes(discharge.url, await asDoctor(w))).status, 200);
});

test('a lab document is shown to health personnel for a year, a discharge summary always; the citizen always sees both', async () => {
  const dayMs = 86400e3;
  const start = Date.now();
  const date = new Date(start - 200 * dayMs).toISOString();
  const lab = await publish({ bytes: samplePdf('Labsvar'), contentType: 'application/pdf', classCode: 'C00-1', date, title: 'Laboratoriesvar' });
  const old = await publish({ bytes: samplePdf('Gammel epikrise'), contentType: 'application/pdf', classCode: 'A00-1', date: '2001-05-03T10:00:00+02:00', title: 'Epikrise 2001' });
  const ids = async (headers: Record<string, string>) => ((await w.s.fhir(`/DocumentReference?patient=Patient/pat&_count=100`, { headers })).body.entry ?? []).map((e: any) => e.resource.id);
  assert.ok((await ids(await asGp(w))).includes(lab.id));
  assert.ok((await ids(await asGp(w))).includes(old.id));
  // Restricted, the lab document is counted as hidden while in its window, and not once outside it
  // (FORHOYET would not open it then either).
  assert.equal((await w.s.fhir(`/DocumentReference/${lab.id}/$restrict`, { method: 'POST', headers: await asCitizen(w) })).status, 200);
  const norsCount = async () => Number((await w.s.fhir(`/DocumentReference?patient=Patient/pat&_count=100`, { headers: await asGp(w) })).headers.get('NHN-SecurityLabel-Nors-Count'));
  const countedInWindow = await norsCount();
  assert.ok(countedInWindow >= 1);

  w.setNow(new Date(start + 200 * dayMs)); // the lab document is now 400 days old
  try {
    assert.equal(await norsCount(), countedInWindow - 1, 'a restricted document outside its window is not counted');
    const gpSees = await ids(await asGp(w));
    assert.ok(!gpSees.includes(lab.id), 'outside the lab window');
    assert.ok(gpSees.includes(old.id), 'discharge summaries have no window');
    assert.equal((await fetchBytes(lab.url, await asGp(w))).status, 404);
    assert.equal((await w.s.fhir(`/DocumentReference/${lab.id}`, { headers: await asGp(w) })).status, 404);
    const everything = await w.s.fhir('/Patient/pat/$everything', { headers: await asGp(w) });
    assert.ok(!everything.body.entry.some((e: any) => e.resource.id === lab.id), '$everything agrees');
    const citizenSees = await ids(await asCitizen(w));
    assert.ok(citizenSees.includes(lab.id) && citizenSees.includes(old.id));
    assert.equal((await fetchBytes(lab.url, await asCitizen(w))).status, 200);
  } finally {
    w.setNow(new Date());
  }
});

test('replacing content (PUT /Binary/<id>, raw) makes a new DocumentReference version; deleting the document deletes its content', async () => {
  const { id, url } = await publish({ bytes: samplePdf('utkast'), contentType: 'application/pdf' });
  const v2 = samplePdf('endelig versjon');
  const put = await fetch(url, { method: 'PUT', body: new Uint8Array(v2), headers: { ...(await asDoctor(w)), 'content-type': 'application/pdf', 'if-match': 'W/"1"' } });
  const body = await put.json();
  assert.equal(put.status, 200, JSON.stringify(body));
  assert.equal(body.meta.versionId, '2');
  assert.equal(body.content[0].attachment.size, v2.length);
  assert.ok((await fetchBytes(url, await asGp(w))).bytes.equals(v2));
  const stale = await fetch(url, { method: 'PUT', body: new Uint8Array(samplePdf('x')), headers: { ...(await asDoctor(w)), 'content-type': 'application/pdf', 'if-match': 'W/"1"' } });
  assert.equal(stale.status, 412);
  const byGif = await fetch(url, { method: 'PUT', body: new Uint8Array(Buffer.from('GIF89a')), headers: { ...(await asDoctor(w)), 'content-type': 'image/gif' } });
  assert.equal(byGif.status, 415);
  const citizenPut = await fetch(url, { method: 'PUT', body: new Uint8Array(samplePdf('x')), headers: { ...(await asCitizen(w)), 'content-type': 'application/pdf' } });
  assert.equal(citizenPut.status, 403);
  assert.ok((await fetchBytes(url, await asGp(w))).bytes.equals(v2), 'refused writes changed nothing');

  const contentId = url.split('/').pop();
  const del = await w.s.fhir(`/DocumentReference/${id}`, { method: 'DELETE', headers: await asDoctor(w) });
  assert.equal(del.status, 204, del.text);
  assert.equal(Number((await w.s.platform.db.query<{ n: number }>(`select count(*)::int as n from document_content where id = $1`, [contentId]))[0].n), 0);
  assert.equal(Number((await w.s.platform.db.query<{ n: number }>(`select count(*)::int as n from document_chunk where content_id = $1`, [contentId]))[0].n), 0);
  assert.equal((await fetchBytes(url, await asGp(w))).status, 404);

  // Deleted by a transaction entry, a document takes its content with it just the same.
  const other = await publish({ bytes: samplePdf('slettes i transaksjon'), contentType: 'application/pdf' });
  const otherContent = other.url.split('/').pop();
  const tx = await w.s.fhir('/', {
    method: 'POST',
    headers: await asDoctor(w),
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `DocumentReference/${other.id}` } }] },
  });
  assert.equal(tx.status, 200, tx.text);
  assert.equal(Number((await w.s.platform.db.query<{ n: number }>(`select count(*)::int as n from document_content where id = $1`, [otherContent]))[0].n), 0);
  assert.equal(Number((await w.s.platform.db.query<{ n: number }>(`select count(*)::int as n from document_chunk where content_id = $1`, [otherContent]))[0].n), 0);
});

test('every access is in the citizen’s access log', async () => {
  const gp = await asGp(w);
  await w.s.fhir(`/DocumentReference?patient.identifier=${NIN_SYSTEM}|${P.patient}`, { headers: gp });
  await fetchBytes(discharge.url, gp);
  await fetchBytes(discharge.url, await asSpecialist(w, { noAttestation: true }));
  const log = await w.s.fhir('/$access-log?_count=500', { headers: await asCitizen(w) });
  assert.equal(log.status, 200, log.text);
  const rows = await w.s.platform.db.query<any>(`select interaction, outcome, agent_id, content from audit_event where compartment = 'pat' order by seq`);
  const docReads = rows.filter((r) => r.outcome === 'success' && r.interaction === 'read' && r.content.includes(`DocumentReference/${discharge.id}`));
  assert.ok(docReads.length >= 3, 'each retrieval (ITI-68) is logged against the document');
  assert.ok(rows.some((r) => r.interaction === 'transaction' && r.content.includes('DocumentReference/')), 'publishing is logged');
  assert.ok(rows.some((r) => r.interaction === 'operation' && r.content.includes(`DocumentReference/${discharge.id}`)), 'restriction is logged');
  assert.ok(rows.some((r) => r.outcome === 'denied'), 'refusals are logged');
  assert.ok(log.body.total >= rows.length - 1 && log.body.entries.some((e: any) => e.what.some((x: any) => x.service === 'documents')));
});

test('an ITI-65 update keeps the content the new version still names and drops the rest; errors name the entries as sent', async () => {
  const first = await publish({ bytes: samplePdf('vedlegg 1'), contentType: 'application/pdf' });
  const kept = first.doc.content[0];
  const extra = samplePdf('vedlegg 2');
  const update = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:9d5c6d3e-0000-4000-8000-000000000001', resource: { resourceType: 'Binary', contentType: 'application/pdf', data: extra.toString('base64') }, request: { method: 'POST', url: 'Binary' } },
      {
        resource: { ...first.doc, meta: undefined, content: [kept, { attachment: { contentType: 'application/pdf', url: 'urn:uuid:9d5c6d3e-0000-4000-8000-000000000001' } }] },
        request: { method: 'PUT', url: `DocumentReference/${first.id}` },
      },
    ],
  };
  const res = await w.s.fhir('/', { method: 'POST', body: update, headers: await asDoctor(w) });
  assert.equal(res.status, 200, res.text);
  assert.match(res.body.entry[0].response.location, /^Binary\//);
  const doc = res.body.entry[1].resource;
  assert.equal(doc.meta.versionId, '2');
  assert.equal(doc.content[0].attachment.url, first.url, 'kept');
  assert.ok((await fetchBytes(doc.content[1].attachment.url, await asGp(w))).bytes.equals(extra));

  const replace = { ...update, entry: [update.entry[0], { ...update.entry[1], resource: { ...update.entry[1].resource, content: [update.entry[1].resource.content[1]] } }] };
  const replaced = await w.s.fhir('/', { method: 'POST', body: replace, headers: await asDoctor(w) });
  assert.equal(replaced.status, 200, replaced.text);
  assert.equal((await fetchBytes(first.url, await asGp(w))).status, 404, 'content the new version does not name is gone');
  const contentId = first.url.split('/').pop();
  assert.equal(Number((await w.s.platform.db.query<{ n: number }>(`select count(*)::int as n from document_content where id = $1`, [contentId]))[0].n), 0);

  const bad = structuredClone(update) as any;
  bad.entry[1].resource.status = 'not-a-status';
  const refused = await w.s.fhir('/', { method: 'POST', body: bad, headers: await asDoctor(w) });
  assert.equal(refused.status, 422, refused.text);
  assert.ok(refused.body.issue.some((i: any) => i.expression?.some((x: string) => x.startsWith('Bundle.entry[1]'))), JSON.stringify(refused.body.issue));
});

test('a parent restricts their 10-year-old’s document for them; the child’s document stays the child’s', async () => {
  const { id } = await publish({ bytes: samplePdf('Barnets epikrise'), contentType: 'application/pdf', patient: P.child }, await asDoctor(w, 'SAMTYKKE', P.child));
  const parent = await asCitizen(w, P.parent);
  const res = await w.s.fhir(`/DocumentReference/${id}/$restrict`, { method: 'POST', headers: { ...parent, 'nhn-patient-nin': P.child } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.subject.reference, 'Patient/child');
  assert.ok(res.body.meta.security.some((s: any) => s.code === 'NORS'));
  const doctor = await w.s.fhir(`/DocumentReference?patient.identifier=${NIN_SYSTEM}|${P.child}`, { headers: await asDoctor(w, 'SAMTYKKE', P.child) });
  assert.equal(doctor.headers.get('NHN-SecurityLabel-Nors-Count'), '1');
  assert.ok(!doctor.body.entry?.length);
  const rows = await w.s.platform.db.query<any>(`select agent_id, on_behalf_of, interaction from audit_event where compartment = 'child' and interaction = 'operation'`);
  assert.equal(rows.length, 1, 'in the child’s access log');
});
