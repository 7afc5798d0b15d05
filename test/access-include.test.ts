import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { openTestDb } from './helpers/db.ts';
import { fakeRegistry, HPR, ORG, PEOPLE } from './helpers/access-fixtures.ts';
import { accessTestApp } from './helpers/access-app.ts';
import type { Db } from '../src/store/db.ts';
import { createRepository } from '../src/store/repository.ts';
import { loadAccessConfig } from '../src/access/config.ts';
import { citizenClaims, devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { savePrivacy } from '../src/access/privacy.ts';

/**
 * Hidden data must not come back through _include/_revinclude or chained searches either, and
 * totals count only what the caller may see. Data is written through the repository so the search
 * index is complete.
 */
let db: Db;
let app: FastifyInstance;
let authority: DevAuthority;
const P = PEOPLE.plain.patientId!;

before(async () => {
  db = await openTestDb();
  const repo = await createRepository(db);
  const subject = { reference: `Patient/${P}` };
  await repo.putMany(
    [
      { resourceType: 'Patient', id: P, identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: PEOPLE.plain.nin }] },
      { resourceType: 'DocumentReference', id: 'doc-open', status: 'current', subject, content: [{ attachment: { url: 'Binary/x' } }] },
      { resourceType: 'DocumentReference', id: 'doc-nors', meta: { security: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9603', code: 'NORS' }] }, status: 'current', subject, content: [{ attachment: { url: 'Binary/y' } }] },
      { resourceType: 'Observation', id: 'lab-1', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }], code: { text: 'Hb' }, subject },
      { resourceType: 'DiagnosticReport', id: 'rep-1', status: 'final', code: { text: 'Blood' }, subject, result: [{ reference: 'Observation/lab-1' }] },
    ] as any,
    { referentialIntegrity: false }
  );
  authority = await devAuthority('https://dev-auth.test/include');
  app = await accessTestApp({ db, registry: fakeRegistry(), authority, config: { ...loadAccessConfig({}), issuers: [] } });
});
after(async () => {
  await app?.close();
  await db?.close();
});

async function fetchAs(url: string, basis: string) {
  const token = await authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital }));
  const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, 'nhn-access-basis': basis, 'nhn-patient-nin': PEOPLE.plain.nin } });
  assert.equal(res.statusCode, 200, res.body);
  return res;
}
const get = async (url: string, basis: string) => (await fetchAs(url, basis)).json();
const ids = (b: any) => (b.entry ?? []).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`).sort();

test('_revinclude does not bring in a NORS document under SAMTYKKE, and does under FORHOYET_SAMTYKKE', async () => {
  assert.deepEqual(ids(await get(`/fhir/Patient?_id=${P}&_revinclude=DocumentReference:subject`, 'SAMTYKKE')), ['DocumentReference/doc-open', `Patient/${P}`]);
  assert.deepEqual(ids(await get(`/fhir/Patient?_id=${P}&_revinclude=DocumentReference:subject`, 'FORHOYET_SAMTYKKE')), ['DocumentReference/doc-nors', 'DocumentReference/doc-open', `Patient/${P}`]);
});

test('search totals count only visible documents; the hidden ones are counted in NHN-SecurityLabel-Nors-Count', async () => {
  const samtykke = await fetchAs('/fhir/DocumentReference?_total=accurate', 'SAMTYKKE');
  assert.equal(samtykke.json().total, 1);
  assert.equal(samtykke.headers['nhn-securitylabel-nors-count'], '1');
  const forhoyet = await fetchAs('/fhir/DocumentReference?_total=accurate', 'FORHOYET_SAMTYKKE');
  assert.equal(forhoyet.json().total, 2);
  assert.equal(forhoyet.headers['nhn-securitylabel-nors-count'], '0');
});

test('restricted lab results vanish from _include and chained searches, and come back under FORHOYET', async () => {
  await savePrivacy(db, P, PEOPLE.plain.nin, { reserved: [], restrictAll: false, restricted: ['lab-results'], blockedHpr: [] });
  assert.deepEqual(ids(await get(`/fhir/DiagnosticReport?_include=DiagnosticReport:result`, 'SAMTYKKE')), []);
  assert.deepEqual(ids(await get(`/fhir/DiagnosticReport?_include=DiagnosticReport:result`, 'FORHOYET_SAMTYKKE')), ['DiagnosticReport/rep-1', 'Observation/lab-1']);
  // A chained search must not reveal that a hidden report exists.
  assert.deepEqual(ids(await get(`/fhir/Patient?_has:DiagnosticReport:subject:status=final`, 'SAMTYKKE')), []);
  assert.deepEqual(ids(await get(`/fhir/Patient?_has:DiagnosticReport:subject:status=final`, 'FORHOYET_SAMTYKKE')), [`Patient/${P}`]);
  await savePrivacy(db, P, PEOPLE.plain.nin, { reserved: [], restrictAll: false, restricted: [], blockedHpr: [] });
});

test('a citizen sees their own NORS document but not through another person', async () => {
  const token = await authority.sign(citizenClaims(PEOPLE.plain.nin));
  const res = await app.inject({ method: 'GET', url: '/fhir/DocumentReference', headers: { authorization: `Bearer ${token}` } });
  assert.deepEqual(ids(res.json()), ['DocumentReference/doc-nors', 'DocumentReference/doc-open']);
  const other = await authority.sign(citizenClaims(PEOPLE.adult.nin));
  const res2 = await app.inject({ method: 'GET', url: '/fhir/DocumentReference', headers: { authorization: `Bearer ${other}` } });
  assert.deepEqual(ids(res2.json()), []);
});
