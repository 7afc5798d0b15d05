import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDb } from './helpers/db.ts';
import { fakeRegistry, HPR, ORG, PEOPLE, ROW_KINDS, rowId, seedAccessData, WITHOUT_NORS, type RowKind } from './helpers/access-fixtures.ts';
import type { Db } from '../src/store/db.ts';
import { loadAccessConfig } from '../src/access/config.ts';
import { devAuthority, citizenClaims, practitionerClaims, systemClaims, type PractitionerTokenOptions, type DevAuthority } from '../src/access/dev-authority.ts';
import { TokenVerifier } from '../src/access/tokens.ts';
import { principalFromClaims, type AccessHeaders } from '../src/access/claims.ts';
import { accessFilterSql, checkRead, checkWrite, resolveAccess } from '../src/access/policy.ts';
import { savePrivacy } from '../src/access/privacy.ts';
import { FhirError } from '../src/fhir/outcome.ts';
import { sql } from '../src/store/sql.ts';

/**
 * The access rules as a table: principal × access basis × privacy setting × data → what is
 * visible (or the refusal). Every case runs a real signed token through verification, the
 * principal builder and the policy, and checks that the read decision (code) and the search
 * predicate (SQL against the database) agree row by row.
 */
let db: Db;
let authority: DevAuthority;
let verifier: TokenVerifier;
const registry = fakeRegistry();
const config = { ...loadAccessConfig({}), issuers: [] };

before(async () => {
  db = await openTestDb();
  await seedAccessData(db);
  authority = await devAuthority('https://dev-auth.test/matrix');
  verifier = new TokenVerifier({ config, localIssuers: [{ issuer: { issuer: authority.issuer, kind: 'dev' }, jwks: authority.jwks }] });
  await savePrivacy(db, PEOPLE.restrictedLabs.patientId!, PEOPLE.restrictedLabs.nin, { reserved: [], restrictAll: false, restricted: ['lab-results'], blockedHpr: [] });
  await savePrivacy(db, PEOPLE.restrictedAll.patientId!, PEOPLE.restrictedAll.nin, { reserved: [], restrictAll: true, restricted: [], blockedHpr: [] });
  await savePrivacy(db, PEOPLE.blocker.patientId!, PEOPLE.blocker.nin, { reserved: [], restrictAll: false, restricted: [], blockedHpr: [HPR.gp, HPR.blockedDoctor] });
  await savePrivacy(db, PEOPLE.reservedLabs.patientId!, PEOPLE.reservedLabs.nin, { reserved: ['lab-results'], restrictAll: false, restricted: [], blockedHpr: [] });
});
after(async () => db?.close());

type Person = keyof typeof PEOPLE;
type Who =
  | { practitioner: Omit<PractitionerTokenOptions, 'patient'> & { patient?: Person } }
  | { citizen: Person; acr?: string }
  | { system: { org: string; scope: string }; attestation?: PractitionerTokenOptions };
interface Case {
  name: string;
  who: Who;
  /** nhn-access-basis */
  basis?: string;
  /** nhn-patient-nin header (by person key). */
  header?: Person;
  /** The patient whose rows are inspected. */
  patient: Person;
  expect: RowKind[] | { status: number; code: string };
}

const ALL = [...ROW_KINDS];
const minus = (...k: RowKind[]) => ALL.filter((x) => !k.includes(x));
const doctor = (o: Partial<PractitionerTokenOptions> = {}): Who => ({ practitioner: { hpr: HPR.doctor, org: ORG.hospital, ...o } as any });
const gp = (o: Partial<PractitionerTokenOptions> = {}): Who => ({ practitioner: { hpr: HPR.gp, org: ORG.gpOffice, ...o } as any });
const nurse = (o: Partial<PractitionerTokenOptions> = {}): Who => ({ practitioner: { hpr: HPR.nurse, org: ORG.hospital, authorisation: 'SP', ...o } as any });
const citizen = (p: Person, acr?: string): Who => ({ citizen: p, acr });
const denied = (status: number, code: string) => ({ status, code });

const cases: Case[] = [];
const add = (c: Case) => cases.push(c);

// Health personnel, ordinary patient, each access basis.
for (const [basis, who, expect] of [
  ['SAMTYKKE', doctor(), minus('docNors')],
  ['AKUTT', doctor({ purpose: 'ETREAT', purposeDetails: 'BLAALYS' }), minus('docNors')],
  ['UNNTAK', doctor(), minus('docNors')], // p-plain's GP is HPR.doctor
  ['UNNTAK', gp(), denied(403, 'unntak-not-gp')],
  ['UNNTAK', nurse(), denied(403, 'unntak-not-gp')],
  ['SAMTYKKE', nurse(), minus('docNors')],
  ['FORHOYET_SAMTYKKE', doctor(), ALL], // p-plain has a NORS document
  ['FORHOYET_AKUTT', doctor({ purpose: 'BTG' }), ALL],
  ['SAMTYKKE', doctor({ purpose: 'COC' }), minus('docNors')],
  ['SAMTYKKE', doctor({ purpose: 'BTG' }), minus('docNors')],
  ['BOGUS', doctor(), denied(403, 'access-basis-invalid')],
  [undefined, doctor(), denied(403, 'access-basis-missing')],
] as const)
  add({ name: `${(who as any).practitioner.hpr} ${basis ?? 'no basis'} on plain patient`, who, basis, header: 'plain', patient: 'plain', expect: expect as any });

// The patient's own GP under UNNTAK, and the same GP elsewhere.
add({ name: 'own GP under UNNTAK sees the list patient', who: gp(), basis: 'UNNTAK', header: 'adult', patient: 'adult', expect: minus('docNors') });
add({ name: 'own GP under UNNTAK, attestation in care_relation (spec v1.1 name)', who: gp({ careKey: 'care_relation' }), basis: 'UNNTAK', header: 'adult', patient: 'adult', expect: minus('docNors') });
add({ name: 'GP does not see a patient other than the one in the request', who: gp(), basis: 'UNNTAK', header: 'adult', patient: 'child11', expect: [] });

// Attestation and identity problems.
add({ name: 'missing purpose of use', who: doctor({ purpose: null }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: denied(403, 'purpose-of-use-missing') });
add({ name: 'purpose of use outside TREAT/ETREAT/COC/BTG', who: doctor({ purpose: 'HPAYMT' }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: denied(403, 'purpose-of-use-invalid') });
add({ name: 'neither healthcare_service nor purpose_of_use_details', who: doctor({ healthcareService: null, purposeDetails: null }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: denied(403, 'care-relationship-incomplete') });
add({ name: 'healthcare_service alone is enough', who: doctor({ purposeDetails: null }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: minus('docNors') });
add({ name: 'purpose_of_use_details alone is enough', who: doctor({ healthcareService: null }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: minus('docNors') });
add({ name: 'no attestation at all', who: doctor({ noAttestation: true }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: denied(403, 'attestation-missing') });
add({ name: 'security level 3', who: doctor({ securityLevel: 3 }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: denied(403, 'insufficient-security-level') });
add({ name: 'nurse claiming the doctor authorisation HPR does not hold', who: nurse({ authorisation: 'LE' }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: denied(403, 'authorisation-not-held') });
add({ name: 'HPR number not in the registry', who: { practitioner: { hpr: HPR.unknown, org: ORG.hospital } }, basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: denied(403, 'hpr-unknown') });
add({ name: 'header patient differs from the attested patient', who: doctor({ patient: 'adult' } as any), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: denied(403, 'patient-not-attested') });
add({ name: 'attested patient used when no header is sent', who: doctor({ patient: 'plain' } as any), basis: 'SAMTYKKE', patient: 'plain', expect: minus('docNors') });
add({ name: 'no patient in context: no patient data', who: doctor(), basis: 'SAMTYKKE', patient: 'plain', expect: [] });

// Blocks are absolute.
for (const basis of ['SAMTYKKE', 'AKUTT', 'FORHOYET_AKUTT', 'UNNTAK'])
  add({ name: `blocked GP under ${basis}`, who: gp({ purpose: basis.includes('AKUTT') ? 'ETREAT' : 'TREAT' }), basis, header: 'blocker', patient: 'blocker', expect: denied(403, 'blocked-by-patient') });
add({ name: 'blocked doctor under BTG', who: { practitioner: { hpr: HPR.blockedDoctor, org: ORG.hospital, purpose: 'BTG' } }, basis: 'AKUTT', header: 'blocker', patient: 'blocker', expect: denied(403, 'blocked-by-patient') });
add({ name: 'a different doctor is not blocked', who: doctor(), basis: 'SAMTYKKE', header: 'blocker', patient: 'blocker', expect: minus('docNors') });
add({ name: 'the blocked doctor still sees other patients', who: { practitioner: { hpr: HPR.blockedDoctor, org: ORG.hospital } }, basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: minus('docNors') });

// Restriction (sperring).
const LAB: RowKind[] = ['lab', 'labWithheld'];
add({ name: 'restricted labs under SAMTYKKE hidden', who: doctor(), basis: 'SAMTYKKE', header: 'restrictedLabs', patient: 'restrictedLabs', expect: minus(...LAB, 'docNors') });
add({ name: 'restricted labs under AKUTT still hidden', who: doctor({ purpose: 'ETREAT' }), basis: 'AKUTT', header: 'restrictedLabs', patient: 'restrictedLabs', expect: minus(...LAB, 'docNors') });
add({ name: 'restricted labs under FORHOYET_SAMTYKKE shown', who: doctor(), basis: 'FORHOYET_SAMTYKKE', header: 'restrictedLabs', patient: 'restrictedLabs', expect: ALL });
add({ name: 'restricted labs under FORHOYET_AKUTT shown', who: doctor({ purpose: 'ETREAT' }), basis: 'FORHOYET_AKUTT', header: 'restrictedLabs', patient: 'restrictedLabs', expect: ALL });
add({ name: 'restrict-all under SAMTYKKE: identity only', who: doctor(), basis: 'SAMTYKKE', header: 'restrictedAll', patient: 'restrictedAll', expect: ['patient'] });
add({ name: 'restrict-all under UNNTAK (GP): identity only', who: gp(), basis: 'UNNTAK', header: 'restrictedAll', patient: 'restrictedAll', expect: ['patient'] });
add({ name: 'restrict-all under AKUTT: identity only', who: doctor({ purpose: 'ETREAT' }), basis: 'AKUTT', header: 'restrictedAll', patient: 'restrictedAll', expect: ['patient'] });
add({ name: 'restrict-all under FORHOYET_SAMTYKKE: everything', who: doctor(), basis: 'FORHOYET_SAMTYKKE', header: 'restrictedAll', patient: 'restrictedAll', expect: ALL });
add({ name: 'FORHOYET when nothing is restricted fails', who: doctor(), basis: 'FORHOYET_SAMTYKKE', header: 'clean', patient: 'clean', expect: denied(403, 'nothing-restricted') });
add({ name: 'FORHOYET_AKUTT when nothing is restricted fails', who: doctor({ purpose: 'ETREAT' }), basis: 'FORHOYET_AKUTT', header: 'clean', patient: 'clean', expect: denied(403, 'nothing-restricted') });
add({ name: 'clean patient under SAMTYKKE', who: doctor(), basis: 'SAMTYKKE', header: 'clean', patient: 'clean', expect: minus('docNors') });
add({ name: 'NORS document alone makes FORHOYET valid', who: doctor(), basis: 'FORHOYET_SAMTYKKE', header: 'adult', patient: 'adult', expect: ALL });

// Reservation: the data does not exist, whatever the basis.
add({ name: 'reserved labs under SAMTYKKE', who: doctor(), basis: 'SAMTYKKE', header: 'reservedLabs', patient: 'reservedLabs', expect: minus(...LAB, 'docNors') });
add({ name: 'reserved labs under FORHOYET_SAMTYKKE', who: doctor(), basis: 'FORHOYET_SAMTYKKE', header: 'reservedLabs', patient: 'reservedLabs', expect: minus(...LAB) });
add({ name: 'reserved labs under AKUTT', who: doctor({ purpose: 'ETREAT' }), basis: 'AKUTT', header: 'reservedLabs', patient: 'reservedLabs', expect: minus(...LAB, 'docNors') });
add({ name: 'reserved labs hidden from the citizen too', who: citizen('reservedLabs'), patient: 'reservedLabs', expect: minus(...LAB) });

// Citizens: self.
add({ name: 'citizen sees own data except what services withhold', who: citizen('adult'), patient: 'adult', expect: minus('labWithheld') });
add({ name: 'citizen with own nin in the header', who: citizen('adult'), header: 'adult', patient: 'adult', expect: minus('labWithheld') });
add({ name: 'citizen restriction does not hide data from themself', who: citizen('restrictedAll'), patient: 'restrictedAll', expect: minus('labWithheld') });
add({ name: 'citizen blocking personnel still sees own data', who: citizen('blocker'), patient: 'blocker', expect: minus('labWithheld') });
add({ name: 'citizen at assurance substantial is refused', who: citizen('adult', 'idporten-loa-substantial'), patient: 'adult', expect: denied(403, 'insufficient-assurance') });
add({ name: 'citizen sees nothing of an unrelated person', who: citizen('adult'), patient: 'plain', expect: [] });
add({ name: 'citizen asking for an unrelated person', who: citizen('adult'), header: 'plain', patient: 'plain', expect: denied(403, 'no-representation') });
add({ name: '16-year-old sees own data', who: citizen('child16'), patient: 'child16', expect: minus('labWithheld') });

// Parents.
const KEPT_12_16: RowKind[] = ['patient', 'appt'];
add({ name: 'parent sees 11-year-old (same address) incl. lab results', who: citizen('adult'), header: 'child11', patient: 'child11', expect: minus('labWithheld') });
add({ name: 'parent sees 11-year-old without header (all represented)', who: citizen('adult'), patient: 'child11', expect: minus('labWithheld') });
add({ name: 'parent away from 11-year-old: no Kjernejournal', who: citizen('adult'), header: 'child11away', patient: 'child11away', expect: minus('labWithheld', 'allergy') });
add({ name: 'parent of 13-year-old: no lab results, appointments only', who: citizen('adult'), header: 'child13', patient: 'child13', expect: KEPT_12_16 });
add({ name: 'parent of 13-year-old without header', who: citizen('adult'), patient: 'child13', expect: KEPT_12_16 });
add({ name: 'parent of 16-year-old is refused', who: citizen('adult'), header: 'child16', patient: 'child16', expect: denied(403, 'no-representation') });
add({ name: 'parent of 16-year-old sees nothing without header', who: citizen('adult'), patient: 'child16', expect: [] });
add({ name: 'parent of a child with confidential address is refused', who: citizen('adult'), header: 'childConfidential', patient: 'childConfidential', expect: denied(403, 'no-representation') });
add({ name: 'parent without parental responsibility is refused', who: citizen('adult'), header: 'childNoResponsibility', patient: 'childNoResponsibility', expect: denied(403, 'no-representation') });
add({ name: 'child does not see the parent', who: citizen('child16'), header: 'adult', patient: 'adult', expect: denied(403, 'no-representation') });

// Power of attorney.
add({ name: 'adult holder of power of attorney sees the giver', who: citizen('adult'), header: 'elder', patient: 'elder', expect: minus('labWithheld') });
add({ name: '17-year-old holder of power of attorney is refused', who: citizen('holder17'), header: 'elder', patient: 'elder', expect: denied(403, 'no-representation') });
add({ name: '17-year-old holder sees nothing of the giver without header', who: citizen('holder17'), patient: 'elder', expect: [] });
add({ name: 'power from a 15-year-old giver is refused', who: citizen('adult'), header: 'giver15', patient: 'giver15', expect: denied(403, 'no-representation') });
add({ name: 'expired power of attorney is refused', who: citizen('adult'), header: 'expiredPower', patient: 'expiredPower', expect: denied(403, 'no-representation') });
add({ name: 'the giver does not see the holder', who: citizen('elder'), header: 'adult', patient: 'adult', expect: denied(403, 'no-representation') });

// Systems.
add({ name: 'system without attestation sees no data of other organisations', who: { system: { org: ORG.hospital, scope: 'system/*.rs' } }, patient: 'plain', expect: [] });
add({ name: 'system without SMART scopes is refused', who: { system: { org: ORG.hospital, scope: 'nhn:api' } }, patient: 'plain', expect: denied(403, 'no-scopes') });
add({
  name: 'system with attestation for a patient sees that patient',
  who: { system: { org: ORG.hospital, scope: 'system/*.rs' }, attestation: { hpr: '', org: ORG.hospital, patient: PEOPLE.plain.nin } },
  basis: 'SAMTYKKE',
  patient: 'plain',
  expect: minus('docNors'),
});
add({
  name: 'system with attestation but no purpose is refused',
  who: { system: { org: ORG.hospital, scope: 'system/*.rs' }, attestation: { hpr: '', org: ORG.hospital, patient: PEOPLE.plain.nin, purpose: null } },
  basis: 'SAMTYKKE',
  patient: 'plain',
  expect: denied(403, 'purpose-of-use-missing'),
});
add({ name: 'system scoped to Observation sees only Observations', who: { system: { org: ORG.hospital, scope: 'system/Observation.rs' }, attestation: { hpr: '', org: ORG.hospital, patient: PEOPLE.plain.nin } }, basis: 'SAMTYKKE', patient: 'plain', expect: ['lab', 'vital'] });

// SMART scopes narrow health personnel and citizens too.
add({ name: 'doctor with user/Observation.rs sees only Observations', who: doctor({ scope: 'openid user/Observation.rs' }), basis: 'SAMTYKKE', header: 'plain', patient: 'plain', expect: ['lab', 'vital'] });
add({ name: 'citizen with patient/AllergyIntolerance.rs', who: { citizen: 'adult' }, patient: 'adult', expect: ['allergy'] });

// Every patient × (doctor SAMTYKKE, citizen self) as a sweep, expectations from the fixture facts.
for (const key of Object.keys(PEOPLE) as Person[]) {
  const noNors = WITHOUT_NORS.has(PEOPLE[key].patientId!);
  let docExpect: Case['expect'];
  if (key === 'blocker') docExpect = minus('docNors');
  else if (key === 'restrictedLabs') docExpect = minus('lab', 'labWithheld', 'docNors');
  else if (key === 'reservedLabs') docExpect = minus('lab', 'labWithheld', 'docNors');
  else if (key === 'restrictedAll') docExpect = ['patient'];
  else docExpect = minus('docNors');
  add({ name: `sweep: doctor SAMTYKKE on ${key}`, who: doctor(), basis: 'SAMTYKKE', header: key, patient: key, expect: docExpect });
  let selfExpect: RowKind[] = key === 'reservedLabs' ? minus('lab', 'labWithheld') : minus('labWithheld');
  if (noNors) selfExpect = selfExpect.filter((k) => k !== 'docNors');
  add({ name: `sweep: citizen ${key} on self`, who: citizen(key), patient: key, expect: selfExpect });
}

async function tokenFor(who: Who): Promise<string> {
  if ('citizen' in who) {
    const scope = who === cases.find((c) => c.name.includes('patient/AllergyIntolerance'))?.who ? 'openid patient/AllergyIntolerance.rs' : undefined;
    return authority.sign(citizenClaims(PEOPLE[who.citizen].nin, { acr: who.acr, scope }));
  }
  if ('practitioner' in who) {
    const { patient, ...o } = who.practitioner;
    return authority.sign(practitionerClaims({ ...o, patient: patient ? PEOPLE[patient].nin : undefined }));
  }
  const claims = systemClaims({ clientId: 'lab-system', org: who.system.org, scope: who.system.scope });
  if (who.attestation) {
    const att = practitionerClaims(who.attestation).authorization_details as any[];
    (att[0] as any).practitioner = undefined;
    Object.assign(claims, { authorization_details: att });
  }
  return authority.sign(claims);
}

async function evaluate(c: Case): Promise<RowKind[] | { status: number; code: string }> {
  const token = await tokenFor(c.who);
  const headers: AccessHeaders = { accessBasis: c.basis, patientNin: c.header ? PEOPLE[c.header].nin : undefined };
  let ctx;
  try {
    const verified = await verifier.verify({ method: 'GET', url: 'http://localhost/fhir/Observation', authorization: `Bearer ${token}` });
    const principal = await principalFromClaims(verified.claims, headers, registry, verified.issuer.kind, config.citizenAcceptedAcr);
    ctx = await resolveAccess(principal, { db, registry, config });
  } catch (err) {
    if (err instanceof FhirError) return { status: err.status, code: err.issues[0].details?.coding?.[0]?.code ?? '?' };
    throw err;
  }
  const pid = PEOPLE[c.patient].patientId!;
  const rows = await db.query<{ id: string; compartment: string; content: string }>('select id, compartment, content from resource where compartment = $1', [pid]);
  const kindOf = (id: string) => ROW_KINDS.find((k) => rowId(pid, k) === id)!;
  const byCode: RowKind[] = [];
  for (const r of rows) {
    try {
      await checkRead(ctx, JSON.parse(r.content), r.compartment, db);
      byCode.push(kindOf(r.id));
    } catch (err) {
      if (!(err instanceof FhirError) || ![403, 404].includes(err.status)) throw err;
    }
  }
  const { text, values } = sql`select r.id from resource r where r.compartment = ${pid} and ${accessFilterSql(ctx, 'r')}`.toQuery();
  const bySql = (await db.query<{ id: string }>(text, values)).map((r) => kindOf(r.id));
  assert.deepEqual([...bySql].sort(), [...byCode].sort(), `${c.name}: the SQL filter and the read check disagree`);
  return byCode;
}

test(`the access matrix has at least 80 cases (${cases.length})`, () => {
  assert.ok(cases.length >= 80);
});

for (const c of cases) {
  test(c.name, async () => {
    const got = await evaluate(c);
    if (Array.isArray(c.expect)) {
      assert.ok(Array.isArray(got), `expected rows, got refusal ${JSON.stringify(got)}`);
      const expected = c.patient && WITHOUT_NORS.has(PEOPLE[c.patient].patientId!) ? c.expect.filter((k) => k !== 'docNors') : c.expect;
      assert.deepEqual([...(got as RowKind[])].sort(), [...expected].sort());
    } else {
      assert.deepEqual(got, c.expect);
    }
  });
}

// Writes: the same contexts decide what may be stored.

async function contextOf(who: Who, basis?: string, header?: Person) {
  const token = await tokenFor(who);
  const verified = await verifier.verify({ method: 'POST', url: 'http://localhost/fhir/Observation', authorization: `Bearer ${token}` });
  const principal = await principalFromClaims(verified.claims, { accessBasis: basis, patientNin: header ? PEOPLE[header].nin : undefined }, registry, verified.issuer.kind, config.citizenAcceptedAcr);
  return resolveAccess(principal, { db, registry, config });
}
const obs = (pid: string, category = 'vital-signs') => ({ resourceType: 'Observation', status: 'final', category: [{ coding: [{ code: category }] }], code: { text: 'x' }, subject: { reference: `Patient/${pid}` } }) as any;
const refusal = (fn: () => unknown) => {
  try {
    fn();
    return 'allowed';
  } catch (err) {
    if (err instanceof FhirError) return `${err.status} ${err.issues[0].details?.coding?.[0]?.code}`;
    throw err;
  }
};

const writeCases: { name: string; who: Who; basis?: string; header?: Person; resource: any; compartment: string | null; expect: string }[] = [
  { name: 'citizen records a measurement for themself', who: citizen('adult'), resource: obs('p-adult'), compartment: 'p-adult', expect: 'allowed' },
  { name: 'parent records a measurement for an 11-year-old', who: citizen('adult'), header: 'child11', resource: obs('p-child11'), compartment: 'p-child11', expect: 'allowed' },
  { name: 'citizen cannot write for an unrelated person', who: citizen('adult'), resource: obs('p-plain'), compartment: 'p-plain', expect: '403 patient-not-in-context' },
  { name: 'citizen cannot write prescriptions', who: citizen('adult'), resource: { resourceType: 'MedicationRequest', subject: { reference: 'Patient/p-adult' } }, compartment: 'p-adult', expect: '403 write-not-allowed' },
  { name: 'citizen cannot write outside patient compartments', who: citizen('adult'), resource: { resourceType: 'Organization', name: 'x' }, compartment: null, expect: '403 write-not-allowed' },
  { name: 'doctor writes a lab result for the patient in context', who: doctor(), basis: 'SAMTYKKE', header: 'plain', resource: obs('p-plain', 'laboratory'), compartment: 'p-plain', expect: 'allowed' },
  { name: 'doctor cannot store lab results the patient reserved against', who: doctor(), basis: 'SAMTYKKE', header: 'reservedLabs', resource: obs('p-reservedlabs', 'laboratory'), compartment: 'p-reservedlabs', expect: '403 patient-reserved' },
  { name: 'doctor cannot write for a patient outside the request context', who: doctor(), basis: 'SAMTYKKE', header: 'plain', resource: obs('p-adult'), compartment: 'p-adult', expect: '403 patient-not-in-context' },
  { name: 'read-only scopes cannot create', who: doctor({ scope: 'user/*.rs' }), basis: 'SAMTYKKE', header: 'plain', resource: obs('p-plain'), compartment: 'p-plain', expect: '403 scope-insufficient' },
  { name: 'the privacy Consent is not writable through the FHIR API', who: citizen('adult'), resource: { resourceType: 'Consent', policy: [{ uri: 'https://samhandling.dev/fhir/privacy-settings' }] }, compartment: 'p-adult', expect: '403 privacy-settings-api' },
];

for (const c of writeCases) {
  test(`write: ${c.name}`, async () => {
    const ctx = await contextOf(c.who, c.basis, c.header);
    assert.equal(refusal(() => checkWrite(ctx, c.resource, 'create', c.compartment)), c.expect);
  });
}

test('write: what health personnel and systems store carries their organisation, which is what systems later see', async () => {
  const ctx = await contextOf(doctor(), 'SAMTYKKE', 'plain');
  const stored = checkWrite(ctx, obs('p-plain'), 'create', 'p-plain');
  assert.deepEqual(stored.meta?.tag, [{ system: 'urn:oid:2.16.578.1.12.4.1.4.101', code: ORG.hospital }]);
  const system = await contextOf({ system: { org: ORG.hospital, scope: 'system/*.rs' } });
  await checkRead(system, { ...stored, id: 'x' }, 'p-plain', db);
  const otherSystem = await contextOf({ system: { org: ORG.other, scope: 'system/*.rs' } });
  await assert.rejects(checkRead(otherSystem, { ...stored, id: 'x' }, 'p-plain', db), (e: FhirError) => e.status === 404);
});
