import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { citizenClaims, devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { savePrivacy } from '../src/access/privacy.ts';
import { makeOrgnr } from '../src/registry/identifiers.ts';
import { homeAddress, nameOf, organization, parentRelation, patient, practitioner, practitionerRole } from '../src/registry/resources.ts';
import { bornYearsAgo as years, ninAged as nin, OSLO as oslo, osloHome as home } from './helpers/people.ts';

/**
 * The access policy on the real FHIR server: registry data as the registry stores it, real
 * signed tokens, and every REST path (read, search, history, $everything, writes, transactions).
 */
let s: TestServer;
let authority: DevAuthority;

const ORG = { gp: makeOrgnr('91000001')!, hospital: makeOrgnr('91000002')! };
const HPR = { gp: '7100001', doctor: '7100002', nurse: '7100003' };
const P = { adult: nin(45, 101), other: nin(50, 102), parent: nin(40, 103), child11: nin(11, 104), child13: nin(13, 106) };

const gpRole = { roleId: 'role-gp', display: 'Fastlege', since: '2020-01-01' };
const registry: Resource[] = [
  organization({ id: 'org-gp', kind: 'gp-office' as any, name: 'Legesenteret', orgnr: ORG.gp, municipality: oslo }),
  organization({ id: 'org-hospital', kind: 'hospital' as any, name: 'Sykehuset', orgnr: ORG.hospital, municipality: oslo }),
  practitioner({ id: 'pr-gp', hpr: HPR.gp, nin: nin(50, 201), given: 'Gro', family: 'Lege', gender: 'female', birthDate: years(50), category: 'LE', authorisedSince: '2000-01-01' }),
  practitioner({ id: 'pr-doctor', hpr: HPR.doctor, nin: nin(45, 203), given: 'Didrik', family: 'Doktor', gender: 'male', birthDate: years(45), category: 'LE', authorisedSince: '2005-01-01' }),
  practitioner({ id: 'pr-nurse', hpr: HPR.nurse, nin: nin(35, 205), given: 'Nina', family: 'Sykepleier', gender: 'female', birthDate: years(35), category: 'SP', authorisedSince: '2012-01-01' }),
  practitionerRole({ id: 'role-gp', practitionerId: 'pr-gp', practitionerName: 'Gro Lege', organizationId: 'org-gp', category: 'LE', kind: 'fastlege', since: '2020-01-01' }),
  practitionerRole({ id: 'role-doctor', practitionerId: 'pr-doctor', practitionerName: 'Didrik Doktor', organizationId: 'org-hospital', category: 'LE', kind: 'hospital', since: '2020-01-01' }),
  practitionerRole({ id: 'role-nurse', practitionerId: 'pr-nurse', practitionerName: 'Nina Sykepleier', organizationId: 'org-hospital', category: 'SP', kind: 'hospital', since: '2020-01-01' }),
  patient({ id: 'adult', nin: P.adult, given: 'Åse', family: 'Østby', gender: 'female', birthDate: years(45), address: home('Storgata 1'), protection: 'ugradert', gp: gpRole }),
  patient({ id: 'other', nin: P.other, given: 'Ola', family: 'Nordmann', gender: 'male', birthDate: years(50), address: home('Lillegata 2'), protection: 'ugradert' }),
  patient({ id: 'parent', nin: P.parent, given: 'Kari', family: 'Mor', gender: 'female', birthDate: years(40), address: home('Parkveien 3'), protection: 'ugradert' }),
  patient({ id: 'child11', nin: P.child11, given: 'Per', family: 'Mor', gender: 'male', birthDate: years(11), address: home('Parkveien 3'), protection: 'ugradert' }),
  patient({ id: 'child13', nin: P.child13, given: 'Pål', family: 'Mor', gender: 'male', birthDate: years(13), address: home('Parkveien 3'), protection: 'ugradert' }),
  parentRelation({ id: 'rel-11', childId: 'child11', parentNin: P.parent, parentName: nameOf('Kari', 'Mor'), parentGender: 'female', responsibility: 'felles' }),
  parentRelation({ id: 'rel-13', childId: 'child13', parentNin: P.parent, parentName: nameOf('Kari', 'Mor'), parentGender: 'female', responsibility: 'felles' }),
];
const lab = (id: string, patientId: string): Resource =>
  ({
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
    code: { coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value: 13.5, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
  }) as Resource;

before(async () => {
  s = await startTestServer({ auth: 'on', devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
  await s.platform.repo.putMany([...registry, lab('lab-adult', 'adult'), lab('lab-other', 'other'), lab('lab-child11', 'child11'), lab('lab-child13', 'child13')]);
});
after(async () => s?.close());

const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });
const doctor = (patientNin: string, o: Record<string, unknown> = {}) =>
  authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital, patient: patientNin, ...o } as any));
const gp = (patientNin: string) => authority.sign(practitionerClaims({ hpr: HPR.gp, org: ORG.gp, patient: patientNin, purpose: 'COC' } as any));
const citizen = (n: string) => authority.sign(citizenClaims(n));
const audits = async () => s.platform.db.query<any>('select * from audit_event order by seq');

test('without a token personal data is a 401; metadata is public', async () => {
  assert.equal((await s.fhir('/Observation/lab-adult')).status, 401);
  assert.equal((await s.fhir('/metadata')).status, 200);
});

test('a doctor under SAMTYKKE reads the attested patient only, and every read is audited', async () => {
  const token = await doctor(P.adult);
  const before = (await audits()).length;
  const ok = await s.fhir('/Observation/lab-adult', { headers: bearer(token, { 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': P.adult }) });
  assert.equal(ok.status, 200, ok.text);
  const other = await s.fhir('/Observation/lab-other', { headers: bearer(token, { 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': P.adult }) });
  assert.ok([403, 404].includes(other.status), other.text);
  const rows = (await audits()).slice(before);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows.map((r) => r.outcome), ['success', 'denied']);
});

test('searches, history and $everything only show what the caller may see', async () => {
  const headers = bearer(await doctor(P.adult), { 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': P.adult });
  const all = await s.fhir('/Observation?_total=accurate', { headers });
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.body.entry.map((e: any) => e.resource.id), ['lab-adult']);
  assert.equal(all.body.total, 1);
  const hist = await s.fhir('/Observation/_history', { headers });
  assert.deepEqual(hist.body.entry.map((e: any) => e.resource.id), ['lab-adult']);
  // Another patient's result has no history for this doctor: it does not exist for them.
  assert.equal((await s.fhir('/Observation/lab-other/_history', { headers })).status, 404);
  const everything = await s.fhir('/Patient/adult/$everything', { headers });
  assert.equal(everything.status, 200, everything.text);
  assert.ok(everything.body.entry.every((e: any) => e.resource.id !== 'lab-other' && e.resource.id !== 'other'));
  const elsewhere = await s.fhir('/Patient/other/$everything', { headers });
  assert.ok([403, 404].includes(elsewhere.status), elsewhere.text);
});

test('conditional matching sees only what the caller may see: another patient’s matching result is neither counted nor revealed', async () => {
  const headers = bearer(await doctor(P.adult), { 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': P.adult });
  // Both lab-adult and lab-other have this code; only lab-adult is visible to this doctor.
  const criteria = 'code=http://loinc.org|718-7';
  const created = await s.fhir('/Observation', { method: 'POST', body: lab('ignored', 'adult'), headers: { ...headers, 'if-none-exist': criteria } });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.body.id, 'lab-adult');
  const updated = await s.fhir(`/Observation?${criteria}`, { method: 'PUT', body: { ...lab('lab-adult', 'adult'), status: 'amended' }, headers });
  assert.equal(updated.status, 200, updated.text);
  assert.equal(updated.body.id, 'lab-adult');
  const other = JSON.parse((await s.platform.db.query<{ content: string }>(`select content from resource where type = 'Observation' and id = 'lab-other'`))[0].content);
  assert.equal(other.status, 'final', 'the hidden match is untouched');
  await s.fhir('/Observation/lab-adult', { method: 'PUT', body: lab('lab-adult', 'adult'), headers });
});

test('the patient’s own GP reads under UNNTAK; a blocked GP is refused even in an emergency', async () => {
  const headers = bearer(await gp(P.adult), { 'nhn-access-basis': 'UNNTAK', 'nhn-patient-nin': P.adult });
  assert.equal((await s.fhir('/Observation/lab-adult', { headers })).status, 200);
  await savePrivacy(s.platform.db, 'adult', P.adult, { reserved: [], restrictAll: false, restricted: [], blockedHpr: [HPR.doctor] });
  const blocked = await s.fhir('/Observation/lab-adult', {
    headers: bearer(await doctor(P.adult, { purpose: 'ETREAT', purposeDetails: 'BLAALYS' }), { 'nhn-access-basis': 'AKUTT', 'nhn-patient-nin': P.adult }),
  });
  assert.ok([403, 404].includes(blocked.status), blocked.text);
  await savePrivacy(s.platform.db, 'adult', P.adult, { reserved: [], restrictAll: false, restricted: [], blockedHpr: [] });
});

test('a parent sees an 11-year-old’s lab result but not a 13-year-old’s; a citizen cannot write for someone else', async () => {
  const token = await citizen(P.parent);
  const eleven = await s.fhir('/Observation/lab-child11', { headers: bearer(token, { 'nhn-patient-nin': P.child11 }) });
  assert.equal(eleven.status, 200, eleven.text);
  const thirteen = await s.fhir('/Observation/lab-child13', { headers: bearer(token, { 'nhn-patient-nin': P.child13 }) });
  assert.ok([403, 404].includes(thirteen.status), thirteen.text);
  const write = await s.fhir('/Observation', { method: 'POST', body: { ...lab('x', 'other'), id: undefined }, headers: bearer(await citizen(P.adult)) });
  assert.equal(write.status, 403, write.text);
  const inTransaction = await s.fhir('/', {
    method: 'POST',
    headers: bearer(await citizen(P.adult)),
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { ...lab('y', 'other'), id: undefined }, request: { method: 'POST', url: 'Observation' } }] },
  });
  assert.equal(inTransaction.status, 403, inTransaction.text);
  const [{ n }] = await s.platform.db.query<{ n: number }>(`select count(*)::int as n from resource where type = 'Observation'`);
  assert.equal(n, 4, 'refused writes stored nothing');
});

test('changing or deleting needs the right to see the stored version; citizens change only what citizens registered', async () => {
  const own = bearer(await citizen(P.adult));
  // The lab's result: visible to the citizen, but not theirs to change or delete.
  const labChange = await s.fhir('/Observation/lab-adult', { method: 'PUT', body: { ...lab('lab-adult', 'adult'), status: 'cancelled' }, headers: own });
  assert.equal(labChange.status, 403, labChange.text);
  assert.equal(labChange.body.issue[0].details.coding[0].code, 'not-citizen-data');
  assert.equal((await s.fhir('/Observation/lab-adult', { method: 'DELETE', headers: own })).status, 403);
  // A home measurement the citizen registered: theirs to change and delete.
  const measurement = {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body weight' }] },
    subject: { reference: 'Patient/adult' },
    valueQuantity: { value: 71, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
  };
  const created = await s.fhir('/Observation', { method: 'POST', body: measurement, headers: own });
  assert.equal(created.status, 201, created.text);
  const changed = await s.fhir(`/Observation/${created.body.id}`, { method: 'PUT', body: { ...created.body, valueQuantity: { ...measurement.valueQuantity, value: 70 } }, headers: own });
  assert.equal(changed.status, 200, changed.text);
  assert.equal((await s.fhir(`/Observation/${created.body.id}`, { method: 'DELETE', headers: own })).status, 204);

  // A restricted result is hidden from a doctor under SAMTYKKE: it cannot be overwritten or deleted
  // either, and the answer is the read's 404, with no version number.
  await savePrivacy(s.platform.db, 'adult', P.adult, { reserved: [], restrictAll: false, restricted: ['lab-results'], blockedHpr: [] });
  try {
    const headers = bearer(await doctor(P.adult), { 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': P.adult });
    const overwrite = await s.fhir('/Observation/lab-adult', { method: 'PUT', body: { ...lab('lab-adult', 'adult'), status: 'cancelled' }, headers: { ...headers, 'if-match': 'W/"99"' } });
    assert.equal(overwrite.status, 404, overwrite.text);
    assert.doesNotMatch(overwrite.text, /version/);
    assert.equal((await s.fhir('/Observation/lab-adult', { method: 'DELETE', headers })).status, 404);
    const opened = bearer(await doctor(P.adult), { 'nhn-access-basis': 'FORHOYET_SAMTYKKE', 'nhn-patient-nin': P.adult });
    assert.equal((await s.fhir('/Observation/lab-adult', { headers: opened })).body.status, 'final', 'nothing was changed');
  } finally {
    await savePrivacy(s.platform.db, 'adult', P.adult, { reserved: [], restrictAll: false, restricted: [], blockedHpr: [] });
  }
});
