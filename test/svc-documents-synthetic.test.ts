import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { DocumentReference, Patient, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { DEFAULT_REFERENCE_DATE, generatePopulation } from '../src/registry/generator.ts';
import { ClinicalHistories } from '../src/services/synthetic.ts';
import { textPdf } from '../src/services/documents/pdf.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { fetchBytes } from './svc-documents-fixtures.ts';

/**
 * Synthetic documents: a minority of citizens get one to three, deterministic, dated on or before
 * the population's reference date, every reference resolvable; their PDFs are rendered on retrieval
 * (ITI-68) and match the size and hash their DocumentReference states.
 */
function population(persons: number): Resource[] {
  const histories = new ClinicalHistories(42, DEFAULT_REFERENCE_DATE);
  const out: Resource[] = [];
  for (const batch of generatePopulation({ persons, seed: 42, batchSize: 200 }))
    out.push(...histories.extend(batch));
  return keep(out);
}
// The other services' synthetic data is theirs to test; this file keeps the registry and the documents.
const isClinical = (r: Resource) => !['Organization', 'Practitioner', 'PractitionerRole', 'Patient', 'RelatedPerson', 'Endpoint', 'Person', 'Consent'].includes(r.resourceType);
const keep = (rs: Resource[]) => rs.filter((r) => !isClinical(r) || r.resourceType === 'DocumentReference');

/** The offsets a PDF's cross-reference table gives point at its objects, and startxref at the table. */
function checkPdfStructure(pdf: Buffer) {
  const text = pdf.toString('latin1');
  assert.ok(text.startsWith('%PDF-1.4\n') && text.endsWith('%%EOF\n'));
  const startxref = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)![1]);
  assert.equal(text.slice(startxref, startxref + 4), 'xref');
  const offsets = [...text.slice(startxref).matchAll(/^(\d{10}) 00000 n $/gm)].map((m) => Number(m[1]));
  assert.equal(offsets.length, 5);
  offsets.forEach((off, i) => assert.equal(text.slice(off, off + `${i + 1} 0 obj`.length), `${i + 1} 0 obj`));
  const length = Number(/\/Length (\d+) >>\nstream\n/.exec(text)![1]);
  const start = text.indexOf('stream\n') + 'stream\n'.length;
  assert.equal(text.slice(start + length, start + length + '\nendstream'.length), '\nendstream');
}

let s: TestServer;
let authority: DevAuthority;
let world: Resource[];
before(async () => {
  world = population(400);
  s = await startTestServer({ auth: 'on', devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
  await s.platform.repo.putMany(world, { referentialIntegrity: false });
});
after(async () => s?.close());

test('a minority of citizens get 1–3 documents, deterministic, on or before the reference date, with resolvable references', () => {
  const docs = world.filter((r): r is DocumentReference => r.resourceType === 'DocumentReference');
  const patients = world.filter((r) => r.resourceType === 'Patient');
  const perPatient = new Map<string, number>();
  for (const d of docs) perPatient.set(d.subject!.reference!, (perPatient.get(d.subject!.reference!) ?? 0) + 1);
  assert.ok(perPatient.size > patients.length * 0.05 && perPatient.size < patients.length * 0.3, `${perPatient.size} of ${patients.length}`);
  assert.ok([...perPatient.values()].every((n) => n >= 1 && n <= 3));
  assert.ok(docs.every((d) => d.date!.slice(0, 10) <= DEFAULT_REFERENCE_DATE));
  const ids = new Set(world.map((r) => `${r.resourceType}/${r.id}`));
  for (const d of docs) for (const ref of [d.subject, d.custodian, ...(d.author ?? [])]) assert.ok(ids.has(ref!.reference!), ref!.reference);
  assert.equal(new Set(docs.map((d) => d.id)).size, docs.length);
  assert.deepEqual(population(400).filter((r) => r.resourceType === 'DocumentReference'), docs, 'deterministic');
});

test('the GP retrieves a synthetic discharge summary: a valid one-page PDF whose size and hash are the attachment’s', async () => {
  const docs = world.filter((r): r is DocumentReference => r.resourceType === 'DocumentReference');
  const patients = new Map(world.filter((r): r is Patient => r.resourceType === 'Patient').map((p) => [`Patient/${p.id}`, p]));
  const doc = docs.find((d) => d.category?.[0]?.coding?.[0]?.code === 'A00-1' && patients.get(d.subject!.reference!)?.generalPractitioner)!;
  const patient = patients.get(doc.subject!.reference!)!;
  const role = world.find((r): r is PractitionerRole => r.resourceType === 'PractitionerRole' && `PractitionerRole/${r.id}` === patient.generalPractitioner![0].reference)!;
  const gp = world.find((r) => r.resourceType === 'Practitioner' && `Practitioner/${r.id}` === role.practitioner!.reference) as any;
  const org = world.find((r) => r.resourceType === 'Organization' && `Organization/${r.id}` === role.organization!.reference) as any;
  const hpr = gp.identifier.find((i: any) => i.system === 'urn:oid:2.16.578.1.12.4.1.4.4').value;
  const nin = patient.identifier![0].value!;
  const orgnr = org.identifier?.find((i: any) => i.system === 'urn:oid:2.16.578.1.12.4.1.4.101')?.value ?? '000000000';
  const token = await authority.sign(practitionerClaims({ hpr, org: orgnr, patient: nin, purpose: 'COC' } as any));
  const got = await fetchBytes(`${s.base}/${doc.content[0].attachment.url}`, { authorization: `Bearer ${token}`, 'nhn-access-basis': 'UNNTAK', 'nhn-patient-nin': nin, accept: 'application/pdf' });
  assert.equal(got.status, 200, got.bytes.toString());
  assert.equal(got.headers.get('content-type'), 'application/pdf');
  assert.equal(got.bytes.length, doc.content[0].attachment.size);
  assert.equal(createHash('sha1').update(got.bytes).digest('base64'), doc.content[0].attachment.hash);
  checkPdfStructure(got.bytes);
  assert.ok(got.bytes.length > 500 && got.bytes.length < 2500, `${got.bytes.length} bytes`);
  assert.ok(got.bytes.toString('latin1').includes(doc.description!.replace(/[()\\]/g, '').slice(0, 20).replace(/[^\x20-\xff]/g, '?')));
});

test('the PDF writer keeps its cross-reference table right with Norwegian letters and PDF string escapes', () => {
  checkPdfStructure(textPdf('Epikrise – Åse Østby (æøå)', ['Parentes (slik) og backslash \\ og en lang linje '.repeat(8), 'Ærlig talt: øl på Ål.']));
});
