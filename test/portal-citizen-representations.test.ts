import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { citizenClaims, devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { seedPopulation } from '../src/cli/seed.ts';
import { PEOPLE, PRACTITIONERS, referenceClock } from './helpers/browser.ts';

/**
 * GET /fhir/$representations: the portal's "act for" switch offers exactly whom the policy lets
 * the citizen act for, with exactly the services open for each. Over HTTP with real tokens.
 */
let s: TestServer;
let authority: DevAuthority;
before(async () => {
  s = await startTestServer({ auth: 'on', clock: referenceClock(), devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
  await seedPopulation(s.platform.repo, { persons: 50, seed: 42, clinical: false });
});
after(async () => s?.close());

const asCitizen = async (nin: string, headers: Record<string, string> = {}) =>
  s.fhir('/$representations', { headers: { authorization: `Bearer ${await authority.sign(citizenClaims(nin))}`, ...headers } });

test('a parent is offered themself and both children; the 13-year-old without lab results, medication, documents or critical information', async () => {
  const res = await asCitizen(PEOPLE.parent);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.self, PEOPLE.parent);
  const byNin = new Map<string, any>(res.body.people.map((p: any) => [p.nin, p]));
  assert.deepEqual([...byNin.keys()].sort(), [PEOPLE.parent, PEOPLE.child11, PEOPLE.child13].sort());
  assert.equal(res.body.people[0].relation, 'self', 'self first');
  const codes = (nin: string) => byNin.get(nin).services.map((x: any) => x.code);
  assert.ok(codes(PEOPLE.child11).includes('lab-results'));
  for (const closed of ['lab-results', 'medication', 'documents', 'critical-information']) assert.ok(!codes(PEOPLE.child13).includes(closed), closed);
  assert.equal(byNin.get(PEOPLE.child11).relation, 'parent');
  assert.equal(byNin.get(PEOPLE.child11).mayManagePrivacy, true, 'a parent manages the privacy of a child under 12');
  assert.equal(byNin.get(PEOPLE.child13).mayManagePrivacy, false, "a 13-year-old's privacy choices are their own");
  assert.ok(byNin.get(PEOPLE.child11).name && byNin.get(PEOPLE.child11).patientId);
  assert.ok(res.body.catalogue.some((x: any) => x.code === 'lab-results' && x.reservable && x.restrictable));
});

test('a power-of-attorney holder is offered the giver', async () => {
  const res = await asCitizen(PEOPLE.attorneyHolder);
  assert.equal(res.status, 200, res.text);
  const giver = res.body.people.find((p: any) => p.nin === PEOPLE.attorneyGiver);
  assert.equal(giver?.relation, 'power-of-attorney');
});

test('a reserved service is not offered for the person; someone the citizen may not act for is refused', async () => {
  const res11 = async () => (await asCitizen(PEOPLE.parent)).body.people.find((p: any) => p.nin === PEOPLE.child11);
  const { patientId } = await res11();
  const token = await authority.sign(citizenClaims(PEOPLE.parent));
  const put = await s.fhir('/$privacy-settings', {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'nhn-patient-nin': PEOPLE.child11 },
    body: {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: `Patient/${patientId}` },
      provision: {
        type: 'permit',
        provision: [{ type: 'deny', action: [{ coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/privacy-action', code: 'reserve' }] }], code: [{ coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/service', code: 'lab-results' }] }] }],
      },
    },
  });
  assert.equal(put.status, 200, put.text);
  assert.ok(!(await res11()).services.some((x: any) => x.code === 'lab-results'));

  const refused = await asCitizen(PEOPLE.parent, { 'nhn-patient-nin': PEOPLE.attorneyGiver });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.issue[0].details.coding[0].code, 'no-representation');
});

test('health personnel are refused', async () => {
  const token = await authority.sign(practitionerClaims({ hpr: PRACTITIONERS.gp.hpr, org: PRACTITIONERS.gp.org, patient: PEOPLE.parent, purpose: 'COC' } as any));
  const res = await s.fhir('/$representations', { headers: { authorization: `Bearer ${token}`, 'nhn-patient-nin': PEOPLE.parent, 'nhn-access-basis': 'UNNTAK' } });
  assert.equal(res.status, 403);
  assert.equal(res.body.issue[0].details.coding[0].code, 'citizens-only');
});
