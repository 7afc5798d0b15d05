import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { citizenClaims, devAuthority, practitionerClaims, systemClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { ATTESTATION_TYPE } from '../src/access/claims.ts';
import { EXT } from '../src/services/critical-info/terms.ts';
import { criticalCondition, drugReaction, foodAllergy, HPR, NIN, ongoingTreatment, ORG, procedureChange, REGISTRY } from './helpers/svc-critical-info.ts';

/**
 * Kjernejournal critical information over real HTTP with real tokens (domain.md §1): doctors
 * register, change and withdraw; a nurse is refused; a pharmacy reads drug reactions and nothing
 * else; every version names its writer; validUntil makes entries inactive as the clock moves; the
 * citizen reads their own entries and sees every access in their log.
 */
let s: TestServer;
let authority: DevAuthority;
let now = new Date();

before(async () => {
  s = await startTestServer({ auth: 'on', clock: () => now, devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
  await s.platform.repo.putMany(REGISTRY);
});
after(async () => s?.close());

type Who = 'doctor' | 'gp' | 'nurse' | 'pharmacist';
const PERSONNEL: Record<Who, { hpr: string; org: string; authorisation: string; basis: string; purpose?: string }> = {
  doctor: { hpr: HPR.doctor, org: ORG.hospital, authorisation: 'LE', basis: 'SAMTYKKE' },
  gp: { hpr: HPR.gp, org: ORG.gp, authorisation: 'LE', basis: 'UNNTAK', purpose: 'COC' },
  nurse: { hpr: HPR.nurse, org: ORG.hospital, authorisation: 'SP', basis: 'SAMTYKKE' },
  pharmacist: { hpr: HPR.pharmacist, org: ORG.pharmacy, authorisation: 'FA1', basis: 'SAMTYKKE' },
};

async function as(who: Who, patientNin = NIN.adult): Promise<Record<string, string>> {
  const p = PERSONNEL[who];
  const token = await authority.sign(practitionerClaims({ hpr: p.hpr, org: p.org, authorisation: p.authorisation, patient: patientNin, ...(p.purpose ? { purpose: p.purpose } : {}) }));
  return { authorization: `Bearer ${token}`, 'nhn-access-basis': p.basis, 'nhn-patient-nin': patientNin };
}
const asCitizen = async (nin = NIN.adult) => ({ authorization: `Bearer ${await authority.sign(citizenClaims(nin))}` });

const code = (body: any) => body?.issue?.[0]?.details?.coding?.[0]?.code;
const changedBy = (r: any) => {
  const ext = r.extension?.find((e: any) => e.url === EXT.changedBy);
  const part = (url: string) => ext?.extension?.find((e: any) => e.url === url);
  return { hpr: part('hpr')?.valueIdentifier?.value, org: part('organisation')?.valueIdentifier?.value, authorisation: part('authorisation')?.valueCoding?.code };
};
const ids = (bundle: any) => (bundle.entry ?? []).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`).sort();

async function register(who: Who, resource: any) {
  const res = await s.fhir(`/${resource.resourceType}`, { method: 'POST', body: resource, headers: await as(who) });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

let reaction: any;
let peanut: any;
let pacemaker: any;
let dialysis: any;
let bloodFlag: any;

test('a doctor registers every category; each entry names its registering doctor and organisation', async () => {
  reaction = await register('doctor', drugReaction('adult'));
  peanut = await register('doctor', foodAllergy('adult'));
  pacemaker = await register('doctor', criticalCondition('adult'));
  dialysis = await register('doctor', ongoingTreatment('adult'));
  bloodFlag = await register('doctor', procedureChange('adult'));
  for (const r of [reaction, peanut, pacemaker, dialysis]) {
    assert.deepEqual(changedBy(r), { hpr: HPR.doctor, org: ORG.hospital, authorisation: 'LE' });
    assert.equal(r.recorder?.reference, 'Practitioner/pr-doctor');
  }
  assert.equal(bloodFlag.author?.reference, 'Practitioner/pr-doctor');
  assert.deepEqual(changedBy(bloodFlag), { hpr: HPR.doctor, org: ORG.hospital, authorisation: 'LE' });
});

test('a pharmacist sees the drug reaction and none of the other critical information', async () => {
  const headers = await as('pharmacist');
  const search = await s.fhir('/AllergyIntolerance?patient=adult&_total=accurate', { headers });
  assert.equal(search.status, 200, search.text);
  assert.deepEqual(ids(search.body), [`AllergyIntolerance/${reaction.id}`]);
  assert.equal(search.body.total, 1);
  assert.equal((await s.fhir(`/AllergyIntolerance/${reaction.id}`, { headers })).status, 200);
  for (const r of [peanut, pacemaker, dialysis, bloodFlag]) assert.equal((await s.fhir(`/${r.resourceType}/${r.id}`, { headers })).status, 404, `${r.resourceType} hidden`);
  assert.deepEqual(ids((await s.fhir('/Condition?patient=adult', { headers })).body), []);
  assert.deepEqual(ids((await s.fhir('/Flag?patient=adult', { headers })).body), []);
  const op = await s.fhir('/$critical-information', { headers });
  assert.equal(op.status, 200, op.text);
  assert.deepEqual(ids(op.body), [`AllergyIntolerance/${reaction.id}`]);
  const everything = await s.fhir('/Patient/adult/$everything', { headers });
  assert.equal(everything.status, 200, everything.text);
  const critical = (everything.body.entry ?? []).filter((e: any) => ['AllergyIntolerance', 'Condition', 'Procedure', 'Flag'].includes(e.resource.resourceType));
  assert.deepEqual(critical.map((e: any) => e.resource.id), [reaction.id]);
});

test('a nurse may read but not register: 403 kj-doctor-only and nothing stored', async () => {
  const headers = await as('nurse');
  assert.equal((await s.fhir(`/Condition/${pacemaker.id}`, { headers })).status, 200);
  const count = async () => Number((await s.platform.db.query<{ n: number }>(`select count(*)::int as n from resource_history where type = 'AllergyIntolerance'`))[0].n);
  const before = await count();
  const res = await s.fhir('/AllergyIntolerance', { method: 'POST', body: drugReaction('adult'), headers });
  assert.equal(res.status, 403, res.text);
  assert.equal(res.body.resourceType, 'OperationOutcome');
  assert.equal(code(res.body), 'kj-doctor-only');
  assert.match(res.body.issue[0].diagnostics, /Only doctors/);
  const update = await s.fhir(`/AllergyIntolerance/${reaction.id}`, { method: 'PUT', body: { ...reaction, criticality: 'low' }, headers });
  assert.equal(update.status, 403, update.text);
  const withdraw = await s.fhir(`/AllergyIntolerance/${reaction.id}`, { method: 'DELETE', headers });
  assert.equal(withdraw.status, 403, withdraw.text);
  const txn = await s.fhir('/', {
    method: 'POST',
    headers,
    body: { resourceType: 'Bundle', type: 'transaction', entry: [{ fullUrl: 'urn:uuid:6f1b2c3d-0000-4000-8000-000000000001', resource: procedureChange('adult'), request: { method: 'POST', url: 'Flag' } }] },
  });
  assert.equal(txn.status, 403, txn.text);
  assert.equal(await count(), before);
  assert.equal((await s.fhir(`/AllergyIntolerance/${reaction.id}`, { headers })).body.meta.versionId, '1');
});

test('every later change records its own doctor on its version; the history keeps each one', async () => {
  const confirmed = {
    ...reaction,
    extension: [{ url: EXT.certainty, valueCoding: { system: 'https://samhandling.dev/fhir/CodeSystem/kj-certainty', code: 'confirmed' } }],
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
  };
  const res = await s.fhir(`/AllergyIntolerance/${reaction.id}`, { method: 'PUT', body: confirmed, headers: { ...(await as('gp')), 'if-match': 'W/"1"' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.meta.versionId, '2');
  assert.deepEqual(changedBy(res.body), { hpr: HPR.gp, org: ORG.gp, authorisation: 'LE' });
  assert.equal(res.body.recorder.reference, 'Practitioner/pr-doctor', 'the first registrar stays the recorder');
  // A client cannot forge the stamp: whatever it sends is replaced by who it is.
  const forged = { ...res.body, criticality: 'low', recorder: { reference: 'Practitioner/pr-gp' }, extension: [...res.body.extension.filter((e: any) => e.url !== EXT.changedBy), { url: EXT.changedBy, extension: [{ url: 'hpr', valueIdentifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.4', value: '9999999' } }] }] };
  const third = await s.fhir(`/AllergyIntolerance/${reaction.id}`, { method: 'PUT', body: forged, headers: await as('doctor') });
  assert.equal(third.status, 200, third.text);
  assert.deepEqual(changedBy(third.body), { hpr: HPR.doctor, org: ORG.hospital, authorisation: 'LE' });
  assert.equal(third.body.recorder.reference, 'Practitioner/pr-doctor', 'nor the recorder');
  const history = await s.fhir(`/AllergyIntolerance/${reaction.id}/_history`, { headers: await as('doctor') });
  assert.equal(history.status, 200, history.text);
  const byVersion = Object.fromEntries(history.body.entry.map((e: any) => [e.resource.meta.versionId, changedBy(e.resource).hpr]));
  assert.deepEqual(byVersion, { '1': HPR.doctor, '2': HPR.gp, '3': HPR.doctor });
  reaction = third.body;
});

test('validUntil: the entry is active until then and inactive after, as the server clock moves', async () => {
  const until = new Date(now.getTime() + 24 * 3600 * 1000).toISOString();
  const mrsa = await register('doctor', criticalCondition('adult', 'infection', { code: { text: 'MRSA-bærer' }, extension: [{ url: EXT.validUntil, valueDateTime: until }] }));
  const state = (bundle: any, id: string) => bundle.entry.find((e: any) => e.resource.id === id)?.extension?.find((x: any) => x.url === EXT.entryState)?.valueCode;
  const headers = await as('doctor');
  let op = await s.fhir('/$critical-information', { headers });
  assert.equal(state(op.body, mrsa.id), 'active');
  const saved = now;
  now = new Date(now.getTime() + 2 * 24 * 3600 * 1000);
  try {
    op = await s.fhir('/$critical-information', { headers });
    assert.equal(op.status, 200, op.text);
    assert.equal(state(op.body, mrsa.id), 'inactive');
    assert.equal(state(op.body, reaction.id), 'active');
    const active = await s.fhir('/$critical-information?state=active', { headers });
    assert.ok(!ids(active.body).includes(`Condition/${mrsa.id}`));
    const inactive = await s.fhir('/$critical-information?state=inactive', { headers });
    assert.deepEqual(ids(inactive.body), [`Condition/${mrsa.id}`]);
    // Plain FHIR reads and searches still return it as stored; valid-until finds it by its end.
    assert.equal((await s.fhir(`/Condition/${mrsa.id}`, { headers })).status, 200);
    const ended = await s.fhir(`/Condition?patient=adult&valid-until=le${now.toISOString()}`, { headers });
    assert.equal(ended.status, 200, ended.text);
    assert.deepEqual(ids(ended.body), [`Condition/${mrsa.id}`]);
    const later = await s.fhir(`/Condition?patient=adult&valid-until=gt${now.toISOString()}`, { headers });
    assert.deepEqual(ids(later.body), []);
    const bad = await s.fhir('/$critical-information?state=expired', { headers });
    assert.equal(bad.status, 400);
    assert.equal(code(bad.body), 'invalid-state');
  } finally {
    now = saved;
  }
});

test('DELETE withdraws: a new version marked entered-in-error, the earlier versions kept', async () => {
  const headers = await as('doctor');
  const del = await s.fhir(`/Flag/${bloodFlag.id}`, { method: 'DELETE', headers });
  assert.equal(del.status, 200, del.text);
  assert.equal(del.body.status, 'entered-in-error');
  assert.equal(del.body.meta.versionId, '2');
  assert.deepEqual(changedBy(del.body), { hpr: HPR.doctor, org: ORG.hospital, authorisation: 'LE' });
  const read = await s.fhir(`/Flag/${bloodFlag.id}`, { headers });
  assert.equal(read.status, 200);
  assert.equal(read.body.status, 'entered-in-error');
  const v1 = await s.fhir(`/Flag/${bloodFlag.id}/_history/1`, { headers });
  assert.equal(v1.body.status, 'active');
  const delAllergy = await s.fhir(`/AllergyIntolerance/${peanut.id}`, { method: 'DELETE', headers });
  assert.equal(delAllergy.status, 200, delAllergy.text);
  assert.equal(delAllergy.body.verificationStatus.coding[0].code, 'entered-in-error');
  assert.equal(delAllergy.body.clinicalStatus, undefined);
  const wrongCondition = await register('doctor', criticalCondition('adult', 'critical-condition', { code: { text: 'Feilregistrert' } }));
  const delCondition = await s.fhir(`/Condition/${wrongCondition.id}`, { method: 'DELETE', headers });
  assert.equal(delCondition.status, 200, delCondition.text);
  assert.equal(delCondition.body.verificationStatus.coding[0].code, 'entered-in-error');
  const op = await s.fhir('/$critical-information', { headers });
  assert.ok(!ids(op.body).includes(`Flag/${bloodFlag.id}`));
  const withdrawn = await s.fhir('/$critical-information?state=entered-in-error', { headers });
  assert.deepEqual(ids(withdrawn.body), [`AllergyIntolerance/${peanut.id}`, `Condition/${wrongCondition.id}`, `Flag/${bloodFlag.id}`].sort());
  // Withdrawing again changes nothing.
  const again = await s.fhir(`/Flag/${bloodFlag.id}`, { method: 'DELETE', headers });
  assert.equal(again.status, 200);
  assert.equal(again.body.meta.versionId, '2');
  // Erasing through a transaction is refused: withdrawal is the only way out.
  const txn = await s.fhir('/', { method: 'POST', headers, body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'DELETE', url: `Procedure/${dialysis.id}` } }] } });
  assert.equal(txn.status, 409, txn.text);
  assert.equal(code(txn.body), 'kj-withdraw-not-erase');
  const conditional = await s.fhir(`/Procedure?_id=${dialysis.id}`, { method: 'DELETE', headers });
  assert.equal(conditional.status, 409, conditional.text);
  // Withdrawal honours If-Match: a doctor working on a stale version is told so.
  const stale = await s.fhir(`/Procedure/${dialysis.id}`, { method: 'DELETE', headers: { ...headers, 'if-match': 'W/"7"' } });
  assert.equal(stale.status, 412, stale.text);
  assert.equal((await s.fhir(`/Procedure/${dialysis.id}`, { headers })).body.status, 'in-progress');
});

test('an API write of critical information must claim its profile', async () => {
  const headers = await as('doctor');
  const { meta: _m, ...unprofiled } = drugReaction('adult');
  const plain = await s.fhir('/AllergyIntolerance', { method: 'POST', body: unprofiled, headers });
  assert.equal(plain.status, 422, plain.text);
  assert.equal(code(plain.body), 'kj-profile-required');
  assert.deepEqual(plain.body.issue[0].expression, ['AllergyIntolerance.meta.profile']);
  const tagged = await s.fhir('/Condition', { method: 'POST', body: { ...criticalCondition('adult'), meta: { tag: criticalCondition('adult').meta.tag } }, headers });
  assert.equal(tagged.status, 422, tagged.text);
  assert.equal(code(tagged.body), 'kj-profile-required');
  // A Condition that is not critical information is the GP's own business, untouched by these rules.
  const own = await s.fhir('/Condition', { method: 'POST', body: { resourceType: 'Condition', subject: { reference: 'Patient/adult' }, code: { text: 'Hypertensjon' } }, headers: await as('nurse') });
  assert.equal(own.status, 201, own.text);
  const ownDelete = await s.fhir(`/Condition/${own.body.id}`, { method: 'DELETE', headers: await as('nurse') });
  assert.equal(ownDelete.status, 204, ownDelete.text);
  assert.equal((await s.fhir(`/Condition/${own.body.id}`, { headers })).status, 410);
});

test('a prescribing doctor records a drug reaction in a transaction, as the prescription flow does', async () => {
  const headers = await as('gp');
  const res = await s.fhir('/', {
    method: 'POST',
    headers,
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6f1b2c3d-0000-4000-8000-000000000002',
          resource: drugReaction('adult', { code: { coding: [{ system: 'http://www.whocc.no/atc', code: 'M01AE01', display: 'Ibuprofen' }] } }),
          request: { method: 'POST', url: 'AllergyIntolerance' },
        },
      ],
    },
  });
  assert.equal(res.status, 200, res.text);
  const location = res.body.entry[0].response.location as string;
  const id = location.split('/')[1];
  const stored = await s.fhir(`/AllergyIntolerance/${id}`, { headers: await as('pharmacist') });
  assert.equal(stored.status, 200, stored.text);
  assert.deepEqual(changedBy(stored.body), { hpr: HPR.gp, org: ORG.gp, authorisation: 'LE' });
  assert.equal(stored.body.recorder.reference, 'Practitioner/pr-gp');
});

test('the citizen reads their own critical information, all of it', async () => {
  const headers = await asCitizen();
  const op = await s.fhir('/$critical-information', { headers });
  assert.equal(op.status, 200, op.text);
  const got = ids(op.body);
  for (const r of [reaction, pacemaker, dialysis]) assert.ok(got.includes(`${r.resourceType}/${r.id}`), `${r.resourceType} shown to the citizen`);
  const search = await s.fhir('/AllergyIntolerance?patient=adult', { headers });
  assert.equal(search.status, 200, search.text);
  assert.ok(ids(search.body).includes(`AllergyIntolerance/${reaction.id}`));
  assert.equal((await s.fhir(`/Condition/${pacemaker.id}`, { headers })).status, 200);
  // Someone else's citizen token sees none of it.
  assert.equal((await s.fhir(`/Condition/${pacemaker.id}`, { headers: await asCitizen(NIN.other) })).status, 404);
});

test('a parent reads an 11-year-old’s critical information only when living at the child’s address', async () => {
  const home = await s.fhir('/AllergyIntolerance', { method: 'POST', body: foodAllergy('child-home'), headers: await as('doctor', NIN.childHome) });
  assert.equal(home.status, 201, home.text);
  const away = await s.fhir('/AllergyIntolerance', { method: 'POST', body: foodAllergy('child-away'), headers: await as('doctor', NIN.childAway) });
  assert.equal(away.status, 201, away.text);
  const parent = (await asCitizen(NIN.parent)).authorization;
  const atHome = await s.fhir('/$critical-information', { headers: { authorization: parent, 'nhn-patient-nin': NIN.childHome } });
  assert.equal(atHome.status, 200, atHome.text);
  assert.deepEqual(ids(atHome.body), [`AllergyIntolerance/${home.body.id}`]);
  const elsewhere = await s.fhir('/$critical-information', { headers: { authorization: parent, 'nhn-patient-nin': NIN.childAway } });
  assert.equal(elsewhere.status, 200, elsewhere.text);
  assert.deepEqual(ids(elsewhere.body), []);
  assert.equal((await s.fhir(`/AllergyIntolerance/${away.body.id}`, { headers: { authorization: parent, 'nhn-patient-nin': NIN.childAway } })).status, 404);
});

test('every access to the critical information is in the citizen’s access log', async () => {
  const log = await s.fhir('/$access-log?_count=200', { headers: await asCitizen() });
  assert.equal(log.status, 200, log.text);
  const entries = JSON.stringify(log.body.entries);
  for (const hpr of [HPR.doctor, HPR.gp, HPR.nurse, HPR.pharmacist]) assert.ok(entries.includes(hpr), `HPR ${hpr} is in the log`);
  const rows = await s.platform.db.query<{ content: string }>(`select content from audit_event`);
  const audited = rows.map((r) => r.content).join('\n');
  // The pharmacist's read of the drug reaction, the nurse's refused registration and the doctor's withdrawal.
  assert.ok(audited.includes(`AllergyIntolerance/${reaction.id}`));
  assert.ok(audited.includes(`Flag/${bloodFlag.id}/_history/2`));
  const denied = await s.platform.db.query<{ n: number }>(`select count(*)::int as n from audit_event where outcome = 'denied'`);
  assert.ok(Number(denied[0].n) >= 4, 'the refused writes are logged as refusals');
});

test('the status call tells whether active critical information exists, a pharmacy only about drug reactions, without an audit record', async () => {
  const status = async (who: Who, patientNin: string) => {
    const res = await s.fhir('/$privacy-status', { headers: await as(who, patientNin) });
    assert.equal(res.status, 200, res.text);
    return Object.fromEntries(res.body.parameter.map((p: any) => [p.name, p.valueBoolean ?? p.valueInstant]));
  };
  const until = new Date(now.getTime() + 24 * 3600 * 1000).toISOString();
  const res = await s.fhir('/AllergyIntolerance', { method: 'POST', body: foodAllergy('other', { extension: [{ url: EXT.validUntil, valueDateTime: until }] }), headers: await as('doctor', NIN.other) });
  assert.equal(res.status, 201, res.text);
  const seq = async () => Number((await s.platform.db.query<{ n: number }>(`select coalesce(max(seq), 0)::int as n from audit_event`))[0].n);
  const before = await seq();
  assert.equal((await status('doctor', NIN.other)).hasActiveCriticalInformation, true);
  assert.equal((await status('pharmacist', NIN.other)).hasActiveCriticalInformation, false, 'a food allergy is not for the pharmacy');
  assert.equal((await status('pharmacist', NIN.adult)).hasActiveCriticalInformation, true, 'the drug reaction is');
  assert.equal(await seq(), before, 'the status call is not logged as clinical access');
  const saved = now;
  now = new Date(now.getTime() + 2 * 24 * 3600 * 1000);
  try {
    assert.equal((await status('doctor', NIN.other)).hasActiveCriticalInformation, false, 'expired by validUntil');
    assert.equal((await status('doctor', NIN.adult)).hasActiveCriticalInformation, true);
  } finally {
    now = saved;
  }
});

/** An EHR or pharmacy system acting for a user it attests (no HPR number in the token). */
async function asSystem(org: string, authorisation: string, scope: string): Promise<Record<string, string>> {
  const attestation = {
    type: ATTESTATION_TYPE,
    practitioner: { authorization: { code: authorisation, system: 'urn:oid:2.16.578.1.12.4.1.1.9060' }, legal_entity: { id: org, system: 'urn:oid:2.16.578.1.12.4.1.4.101' } },
    care_relationship: { purpose_of_use: { code: 'TREAT', system: 'urn:oid:2.16.840.1.113883.1.11.20448' }, healthcare_service: { code: '01', system: 'urn:oid:2.16.578.1.12.4.1.1.8666' } },
    patients: [{ identifier: { id: NIN.adult, system: 'urn:oid:2.16.578.1.12.4.1.4.1' } }],
  };
  const token = await authority.sign({ ...systemClaims({ clientId: `system-${org}`, org, scope }), authorization_details: [attestation] });
  return { authorization: `Bearer ${token}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': NIN.adult };
}

test('systems: a pharmacy system attesting a pharmacist reads drug reactions only; an EHR attesting a doctor may register, one attesting a nurse may not', async () => {
  const pharmacy = await asSystem(ORG.pharmacy, 'FA1', 'system/AllergyIntolerance.rs system/Condition.rs');
  const search = await s.fhir('/AllergyIntolerance?patient=adult', { headers: pharmacy });
  assert.equal(search.status, 200, search.text);
  const got = ids(search.body);
  assert.ok(got.length >= 1);
  for (const id of got) {
    const r = (await s.fhir(`/${id}`, { headers: pharmacy })).body;
    assert.deepEqual(r.category, ['medication'], `${id} is a drug reaction`);
  }
  assert.equal((await s.fhir(`/Condition/${pacemaker.id}`, { headers: pharmacy })).status, 404);
  const ehr = await asSystem(ORG.hospital, 'LE', 'system/AllergyIntolerance.cruds');
  const created = await s.fhir('/AllergyIntolerance', { method: 'POST', body: drugReaction('adult'), headers: ehr });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(changedBy(created.body), { hpr: undefined, org: ORG.hospital, authorisation: 'LE' });
  const nurseSystem = await asSystem(ORG.hospital, 'SP', 'system/AllergyIntolerance.cruds');
  const refused = await s.fhir('/AllergyIntolerance', { method: 'POST', body: drugReaction('adult'), headers: nurseSystem });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(code(refused.body), 'kj-doctor-only');
});
