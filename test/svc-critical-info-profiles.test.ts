import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { CATEGORY_SYSTEM, CERTAINTY_SYSTEM, EXT, PROFILE, SERVICE_TAG } from '../src/services/critical-info/terms.ts';
import { criticalCondition, drugReaction, foodAllergy, HPR, NIN, ongoingTreatment, ORG, procedureChange, REGISTRY } from './helpers/svc-critical-info.ts';

/**
 * The Norwegian critical-information profiles, enforced on the real server: each profile with
 * valid instances and invalid ones, each invalid one refused for its own reason (the stable code,
 * or the invariant's key, and the FHIRPath of the problem).
 */
let s: TestServer;
let authority: DevAuthority;
let headers: Record<string, string>;

before(async () => {
  s = await startTestServer({ auth: 'on', devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
  await s.platform.repo.putMany(REGISTRY);
  const token = await authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital, patient: NIN.adult }));
  headers = { authorization: `Bearer ${token}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': NIN.adult };
});
after(async () => s?.close());

const errors = async (resource: any) => {
  const res = await s.fhir(`/${resource.resourceType}/$validate`, { method: 'POST', body: resource, headers });
  assert.equal(res.status, 200, res.text);
  return (res.body.issue as any[]).filter((i) => i.severity === 'error');
};

/** The reason an invalid instance is refused: a stable code or an invariant key, where it applies. */
type Reason = { code?: string; invariant?: string; expression?: string };

function assertRefused(issues: any[], reason: Reason, label: string) {
  const match = issues.find(
    (i) =>
      (!reason.code || i.details?.coding?.[0]?.code === reason.code) &&
      (!reason.invariant || String(i.diagnostics).includes(`Constraint ${reason.invariant} not met`)) &&
      (!reason.expression || (i.expression ?? []).includes(reason.expression))
  );
  assert.ok(match, `${label}: expected ${JSON.stringify(reason)}, got ${JSON.stringify(issues.map((i) => [i.details?.coding?.[0]?.code, i.diagnostics?.slice(0, 80), i.expression]))}`);
}

const certainty = (code: string) => ({ url: EXT.certainty, valueCoding: { system: CERTAINTY_SYSTEM, code } });
const allergyVerification = (code: string) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code }] });

const VALID: Record<string, any[]> = {
  KjAllergyIntolerance: [
    drugReaction('adult'),
    drugReaction('adult', { extension: [certainty('confirmed')], verificationStatus: allergyVerification('confirmed'), recorder: { reference: 'Practitioner/pr-doctor' } }),
    drugReaction('adult', { extension: [certainty('refuted'), { url: EXT.validUntil, valueDateTime: '2030-06-30' }], verificationStatus: allergyVerification('refuted') }),
    drugReaction('adult', { code: { coding: [{ system: 'http://snomed.info/sct', code: '373270004' }] }, extension: undefined }),
    foodAllergy('adult'),
    { ...drugReaction('adult', { verificationStatus: allergyVerification('entered-in-error') }), clinicalStatus: undefined },
  ],
  KjCondition: [
    criticalCondition('adult'),
    criticalCondition('adult', 'infection', { code: { text: 'MRSA-bærer' }, extension: [{ url: EXT.validUntil, valueDateTime: '2030-01-01T12:00:00+01:00' }] }),
    criticalCondition('adult', 'anaesthesia-problem', { recorder: { reference: 'PractitionerRole/role-pr-doctor' } }),
    {
      ...criticalCondition('adult', 'intubation-problem'),
      clinicalStatus: undefined,
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' }] },
    },
  ],
  KjProcedure: [ongoingTreatment('adult'), ongoingTreatment('adult', { status: 'completed' })],
  KjFlag: [procedureChange('adult'), procedureChange('adult', { status: 'inactive', author: { reference: 'Practitioner/pr-doctor' } })],
};

const INVALID: [string, any, Reason][] = [
  ['presumed certainty with a confirmed verificationStatus', drugReaction('adult', { verificationStatus: allergyVerification('confirmed') }), { invariant: 'kj-ai-2' }],
  ['a certainty code outside the code system', drugReaction('adult', { extension: [certainty('maybe')] }), { invariant: 'kj-ai-1' }],
  ['two certainties', drugReaction('adult', { extension: [certainty('presumed'), certainty('unconfirmed')] }), { invariant: 'kj-ai-1' }],
  ['a drug reaction with only a text', drugReaction('adult', { code: { text: 'penicillin' } }), { invariant: 'kj-ai-3' }],
  ['a hypersensitivity without verificationStatus', drugReaction('adult', { verificationStatus: undefined, extension: undefined }), { code: 'element-required', expression: 'AllergyIntolerance.verificationStatus' }],
  ['a hypersensitivity without a substance', foodAllergy('adult', { code: undefined }), { code: 'element-required', expression: 'AllergyIntolerance.code' }],
  ['two categories', drugReaction('adult', { category: ['medication', 'food'] }), { code: 'cardinality', expression: 'AllergyIntolerance.category' }],
  ['recorded by the patient', drugReaction('adult', { recorder: { reference: 'Patient/adult' } }), { invariant: 'kj-6' }],
  ['validUntil of month precision', drugReaction('adult', { extension: [certainty('presumed'), { url: EXT.validUntil, valueDateTime: '2030-06' }] }), { invariant: 'kj-1' }],
  ['validUntil as a string', foodAllergy('adult', { extension: [{ url: EXT.validUntil, valueString: '2030-06-30' }] }), { invariant: 'kj-1' }],
  ['a condition without the service tag', { ...criticalCondition('adult'), meta: { profile: [PROFILE.Condition] } }, { invariant: 'kj-3' }],
  ['a condition with a category of another type', criticalCondition('adult', 'ongoing-treatment'), { invariant: 'kj-4' }],
  ['a condition with two categories', criticalCondition('adult', 'infection', { category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'infection' }] }, { coding: [{ system: CATEGORY_SYSTEM, code: 'critical-condition' }] }] }), { invariant: 'kj-4' }],
  ['a condition about a group', criticalCondition('adult', 'infection', { subject: { reference: 'Group/g1' } }), { invariant: 'kj-5' }],
  ['a condition without code', criticalCondition('adult', 'infection', { code: undefined }), { code: 'element-required', expression: 'Condition.code' }],
  ['an active condition without clinicalStatus', criticalCondition('adult', 'infection', { clinicalStatus: undefined }), { invariant: 'kj-c-1' }],
  ['a tagged condition claiming no profile', { ...criticalCondition('adult'), meta: { tag: [{ ...SERVICE_TAG }] } }, { code: 'kj-profile-required', expression: 'Condition.meta.profile' }],
  ['a treatment without category', ongoingTreatment('adult', { category: undefined }), { code: 'element-required', expression: 'Procedure.category' }],
  ['a treatment categorised as an infection', ongoingTreatment('adult', { category: { coding: [{ system: CATEGORY_SYSTEM, code: 'infection' }] } }), { invariant: 'kj-4' }],
  ['a treatment without code', ongoingTreatment('adult', { code: undefined }), { code: 'element-required', expression: 'Procedure.code' }],
  ['a procedure change without category', procedureChange('adult', { category: undefined }), { code: 'element-required', expression: 'Flag.category' }],
  ['a procedure change about a practitioner', procedureChange('adult', { subject: { reference: 'Practitioner/pr-doctor' } }), { invariant: 'kj-5' }],
  ['a procedure change authored by an organisation', procedureChange('adult', { author: { reference: 'Organization/org-hospital' } }), { invariant: 'kj-6' }],
  ['a Flag claiming the Condition profile', { ...procedureChange('adult'), meta: { profile: [PROFILE.Condition] } }, { code: 'profile-type-mismatch' }],
  [
    'an Observation tagged as critical information',
    { resourceType: 'Observation', meta: { tag: [{ ...SERVICE_TAG }] }, status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/adult' } },
    { code: 'kj-type-not-allowed' },
  ],
];

test('the four profiles are published as constraint StructureDefinitions on their types', async () => {
  for (const [type, url] of Object.entries(PROFILE)) {
    const name = url.split('/').pop();
    const res = await s.fhir(`/StructureDefinition/${name}`, { headers });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.url, url);
    assert.equal(res.body.type, type);
    assert.equal(res.body.derivation, 'constraint');
    assert.equal(res.body.baseDefinition, `http://hl7.org/fhir/StructureDefinition/${type}`);
    assert.ok(res.body.snapshot.element.length > 10 && res.body.differential.element.length > 1);
  }
});

for (const [name, instances] of Object.entries(VALID)) {
  test(`${name}: valid instances pass`, async () => {
    for (const [i, r] of instances.entries()) {
      assert.deepEqual(await errors(r), [], `${name} #${i}`);
    }
  });
}

test('invalid instances are refused, each for its own reason', async () => {
  for (const [label, resource, reason] of INVALID) assertRefused(await errors(resource), reason, label);
});

test('an invalid instance is refused on create with 422 and nothing is stored', async () => {
  const before = await s.platform.db.query<{ n: number }>(`select count(*)::int as n from resource where type = 'AllergyIntolerance'`);
  const res = await s.fhir('/AllergyIntolerance', { method: 'POST', body: drugReaction('adult', { verificationStatus: allergyVerification('confirmed') }), headers });
  assert.equal(res.status, 422, res.text);
  assert.equal(res.body.resourceType, 'OperationOutcome');
  assertRefused(res.body.issue, { invariant: 'kj-ai-2' }, 'create');
  const after = await s.platform.db.query<{ n: number }>(`select count(*)::int as n from resource where type = 'AllergyIntolerance'`);
  assert.equal(Number(after[0].n), Number(before[0].n));
  const ok = await s.fhir('/AllergyIntolerance', { method: 'POST', body: drugReaction('adult'), headers });
  assert.equal(ok.status, 201, ok.text);
});
