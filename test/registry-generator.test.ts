import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Organization, Patient, Practitioner, PractitionerRole, RelatedPerson, Resource } from '@medplum/fhirtypes';
import { generatePopulation, wellKnownIdentities, CITIZENS_PER_GP } from '../src/registry/generator.ts';
import { checkNationalId, checkNorwegianIdentifiers } from '../src/registry/identifiers.ts';
import { COUNTIES } from '../src/registry/municipalities.ts';
import { EXT, SYSTEM } from '../src/registry/systems.ts';
import { createValidator } from '../src/fhir/validation.ts';

const REF = '2025-06-01';
const hashOf = (persons: number, seed: number | string, referenceDate = REF) => {
  const h = createHash('sha256');
  for (const batch of generatePopulation({ persons, seed, referenceDate })) for (const r of batch) h.update(JSON.stringify(r));
  return h.digest('hex');
};

// One mid-sized population shared by the structural tests.
const PERSONS = 12_000;
const all: Resource[] = [...generatePopulation({ persons: PERSONS, seed: 42, referenceDate: REF })].flat();
const of = <T extends Resource>(type: T['resourceType']) => all.filter((r) => r.resourceType === type) as T[];
const patients = of<Patient>('Patient');
const byId = new Map(all.map((r) => [`${r.resourceType}/${r.id}`, r]));
const ninOf = (p: Patient) => p.identifier!.find((i) => i.system === SYSTEM.fnr)!.value!;
const patientByNin = new Map(patients.map((p) => [ninOf(p), p]));
const ageAt = (birth: string) => {
  const [by, bm, bd] = birth.split('-').map(Number);
  const [y, m, d] = REF.split('-').map(Number);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
};
const codes = (r: RelatedPerson, system: string) => (r.relationship ?? []).flatMap((c) => c.coding ?? []).filter((c) => c.system === system).map((c) => c.code);
const parentLinks = of<RelatedPerson>('RelatedPerson').filter((r) => codes(r, SYSTEM.familyRelation).length);
const powers = of<RelatedPerson>('RelatedPerson').filter((r) => codes(r, SYSTEM.powerOfAttorney).length);
const sameAddress = (a: Patient, b: Patient) => !!a.address && JSON.stringify(a.address) === JSON.stringify(b.address);

test('the same seed gives a byte-identical stream; another seed or reference date a different one', () => {
  const a = hashOf(500, 7);
  assert.equal(hashOf(500, 7), a);
  assert.notEqual(hashOf(500, 8), a);
  assert.notEqual(hashOf(500, 7, '2026-01-01'), a);
});

test('exactly the requested number of citizens, with unique ids and unique identifiers', () => {
  assert.equal(patients.length, PERSONS);
  assert.equal(byId.size, all.length, 'every Type/id is unique');
  const seen = new Map<string, string>();
  for (const r of all) {
    if (r.resourceType === 'RelatedPerson' || r.resourceType === 'Endpoint') continue; // they repeat their person's / organisation's number
    for (const id of (r as { identifier?: { system?: string; value?: string }[] }).identifier ?? []) {
      const key = `${id.system}|${id.value}`;
      assert.ok(!seen.has(key), `${key} used by ${seen.get(key)} and ${r.resourceType}/${r.id}`);
      seen.set(key, `${r.resourceType}/${r.id}`);
    }
  }
});

test('every Norwegian identifier passes its check rule (as test data), and every national id is synthetic', () => {
  for (const r of all) assert.deepEqual(checkNorwegianIdentifiers(r, { testData: true }), [], `${r.resourceType}/${r.id}`);
  // Synthetic (Tenor, month + 80), so a server without test data refuses them: nobody real is impersonated.
  for (const p of patients.slice(0, 500)) {
    const v = ninOf(p);
    const r = checkNationalId(v, 'fnr', { testData: true });
    assert.ok(r.ok && r.synthetic === 'tenor' && r.birthDate === p.birthDate && r.gender === p.gender, v);
    assert.equal(checkNationalId(v, 'fnr', { testData: false }).ok, false);
  }
});

test('every reference resolves within the generated set', () => {
  const refs: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'reference' && typeof v === 'string') refs.push(v);
      else walk(v);
    }
  };
  all.forEach(walk);
  assert.ok(refs.length > PERSONS);
  const missing = refs.filter((r) => !byId.has(r));
  assert.deepEqual(missing.slice(0, 5), []);
  // Family relations name people who exist in the registry.
  for (const r of [...parentLinks, ...powers]) assert.ok(patientByNin.has(r.identifier![0].value!), `${r.id}`);
});

test('the age pyramid is close to SSB 2024 (0–17 ≈ 20 %, 18–66 ≈ 62 %, 67+ ≈ 17 %)', () => {
  const ages = patients.map((p) => ageAt(p.birthDate!));
  const share = (f: (a: number) => boolean) => ages.filter(f).length / ages.length;
  const young = share((a) => a < 18);
  const old = share((a) => a >= 67);
  assert.ok(young > 0.17 && young < 0.25, `0–17: ${young}`);
  assert.ok(old > 0.13 && old < 0.21, `67+: ${old}`);
  assert.ok(share((a) => a >= 90) > 0.003, 'some nonagenarians');
  // Every age from 0 to 95 occurs.
  const present = new Set(ages);
  for (let a = 0; a <= 95; a++) assert.ok(present.has(a), `age ${a}`);
});

test('families: children of every age 0–17 with parents registered at the same address', () => {
  const childrenByAge = new Map<number, number>();
  for (const link of parentLinks) {
    const child = byId.get(link.patient.reference!) as Patient;
    const parent = patientByNin.get(link.identifier![0].value!)!;
    const childAge = ageAt(child.birthDate!);
    assert.ok(childAge < 18, 'relations are recorded for minors');
    assert.ok(ageAt(parent.birthDate!) - childAge >= 18, 'parents are adults older than their children');
    assert.equal(codes(link, SYSTEM.familyRelation)[0], parent.gender === 'female' ? 'mor' : 'far');
    if (sameAddress(child, parent) && codes(link, SYSTEM.parentalResponsibility).length) {
      childrenByAge.set(childAge, (childrenByAge.get(childAge) ?? 0) + 1);
    }
  }
  for (let a = 0; a <= 17; a++) assert.ok((childrenByAge.get(a) ?? 0) > 0, `a child of ${a} living with a parent holding responsibility`);
  // Some children have a parent elsewhere (separated parents), with and without shared responsibility.
  const away = parentLinks.filter((l) => !sameAddress(byId.get(l.patient.reference!) as Patient, patientByNin.get(l.identifier![0].value!)!));
  assert.ok(away.some((l) => codes(l, SYSTEM.parentalResponsibility).includes('felles')));
  assert.ok(away.some((l) => codes(l, SYSTEM.parentalResponsibility).length === 0));
});

test('address protection, deaths and powers of attorney occur and follow the rules', () => {
  const protection = (p: Patient) => p.extension!.find((e) => e.url === EXT.addressProtection)!.valueCoding!.code;
  const strict = patients.filter((p) => protection(p) === 'strengt_fortrolig');
  assert.ok(strict.length >= 1);
  for (const p of strict) assert.equal(p.address, undefined, 'a strictly confidential address is never written');
  assert.ok(patients.some((p) => protection(p) !== 'ugradert' && protection(p) !== 'strengt_fortrolig'));
  const dead = patients.filter((p) => p.deceasedDateTime);
  assert.ok(dead.length > PERSONS * 0.002 && dead.length < PERSONS * 0.03, `${dead.length} deceased`);
  for (const p of dead) {
    assert.ok(p.deceasedDateTime! <= REF);
    assert.equal(p.generalPractitioner, undefined, 'the dead are on no GP list');
  }
  assert.ok(powers.length >= 5);
  const kinds = new Set(powers.map((r) => codes(r, SYSTEM.powerOfAttorney)[0]));
  assert.deepEqual([...kinds].sort(), ['assigned', 'ordinary']);
  for (const r of powers) {
    const giver = byId.get(r.patient.reference!) as Patient;
    const holder = patientByNin.get(r.identifier![0].value!)!;
    assert.ok(ageAt(giver.birthDate!) >= 16 && ageAt(holder.birthDate!) >= 18);
    assert.equal(protection(giver), 'ugradert', 'no power of attorney for people with a confidential address');
    assert.notEqual(giver.id, holder.id);
  }
});

test('organisations: four RHFs, trusts, hospitals, departments with RESH, municipalities in every county, endpoints', () => {
  const orgs = of<Organization>('Organization');
  const kind = (o: Organization) => o.type![0].coding!.find((c) => c.system === SYSTEM.organizationKind)!.code!;
  const ofKind = (k: string) => orgs.filter((o) => kind(o) === k);
  assert.deepEqual(ofKind('rhf').map((o) => o.name).sort(), ['Helse Midt-Norge RHF', 'Helse Nord RHF', 'Helse Sør-Øst RHF', 'Helse Vest RHF']);
  const parent = (o: Organization) => byId.get(o.partOf?.reference ?? '') as Organization | undefined;
  for (const hf of ofKind('hf')) assert.equal(kind(parent(hf)!), 'rhf');
  for (const h of ofKind('hospital')) assert.equal(kind(parent(h)!), 'hf');
  for (const d of ofKind('department')) {
    assert.equal(kind(parent(d)!), 'hospital');
    assert.ok(d.identifier!.some((i) => i.system === SYSTEM.resh));
  }
  assert.ok(ofKind('hf').length >= 19 && ofKind('hospital').length >= 40);
  for (const k of ['pharmacy', 'laboratory', 'health-station', 'gp-office', 'municipality']) assert.ok(ofKind(k).length > 0, k);
  const district = (o: Organization) => (o.address![0] as any)._district.extension[0].valueCoding.code as string;
  const counties = new Set(ofKind('municipality').map((m) => district(m).slice(0, 2)));
  assert.deepEqual([...counties].sort(), COUNTIES.map((c) => c.number).sort());
  for (const o of orgs.filter((o) => o.identifier!.some((i) => i.system === SYSTEM.herId))) {
    const ep = byId.get(o.endpoint![0].reference!)!;
    assert.equal((ep as any).managingOrganization.reference, `Organization/${o.id}`);
  }
});

test('personnel: doctors, nurses, pharmacists, midwives with HPR numbers and roles in organisations', () => {
  const practitioners = of<Practitioner>('Practitioner');
  const categories = new Set(practitioners.map((p) => p.qualification![0].code.coding![0].code));
  for (const c of ['LE', 'SP', 'FA1', 'FA2', 'JO']) assert.ok(categories.has(c), c);
  for (const p of practitioners) assert.ok(p.identifier!.some((i) => i.system === SYSTEM.hpr));
  for (const role of of<PractitionerRole>('PractitionerRole')) {
    assert.equal(byId.get(role.practitioner!.reference!)?.resourceType, 'Practitioner');
    assert.equal(byId.get(role.organization!.reference!)?.resourceType, 'Organization');
  }
});

test('GP lists: about 1,000 citizens per GP, each citizen with a GP in their own county', () => {
  const lists = new Map<string, number>();
  const countyOfRole = (ref: string) => {
    const role = byId.get(ref) as PractitionerRole;
    const office = byId.get(role.organization!.reference!) as Organization;
    return ((office.address![0] as any)._district.extension[0].valueCoding.code as string).slice(0, 2);
  };
  let listed = 0;
  for (const p of patients) {
    const gp = p.generalPractitioner?.[0];
    if (!gp) continue;
    listed++;
    lists.set(gp.reference!, (lists.get(gp.reference!) ?? 0) + 1);
    const since = gp.extension!.find((e) => e.url === EXT.gpPeriod)!.valuePeriod!.start!;
    assert.ok(since >= '2001-06-01' && since <= REF && since >= p.birthDate!, `${p.id} listed ${since}`);
    if (p.address) assert.equal(countyOfRole(gp.reference!), (p.address[0] as any)._district.extension[0].valueCoding.code.slice(0, 2));
  }
  assert.ok(listed > PERSONS * 0.95);
  const mean = listed / lists.size;
  assert.ok(lists.size >= COUNTIES.length && mean > CITIZENS_PER_GP * 0.6 && mean < CITIZENS_PER_GP * 1.3, `${lists.size} GPs, mean ${mean}`);
});

test('well-known identities exist in the population with the promised ages and relations', () => {
  const wk = wellKnownIdentities(42, REF);
  assert.deepEqual(wellKnownIdentities(42, REF), wk, 'deterministic');
  const p = (x: { patientId: string; nin: string }) => {
    const found = byId.get(`Patient/${x.patientId}`) as Patient;
    assert.equal(ninOf(found), x.nin);
    return found;
  };
  assert.equal(ageAt(p(wk.child11).birthDate!), 11);
  assert.equal(ageAt(p(wk.child13).birthDate!), 13);
  assert.equal(ageAt(p(wk.teen17).birthDate!), 17);
  assert.equal(ageAt(p(wk.teen15).birthDate!), 15);
  for (const c of [wk.child11, wk.child13]) {
    const links = parentLinks.filter((l) => l.patient.reference === `Patient/${c.patientId}`);
    assert.deepEqual(links.map((l) => l.identifier![0].value).sort(), [wk.parent.nin, wk.otherParent.nin].sort());
    assert.ok(sameAddress(p(c), p(wk.parent)));
  }
  assert.ok(!sameAddress(p(wk.childOfSeparated), p(wk.absentParent)));
  const power = powers.find((r) => r.patient.reference === `Patient/${wk.powerGiver.patientId}`)!;
  assert.equal(power.identifier![0].value, wk.powerHolder.nin);
  assert.ok(p(wk.deceased).deceasedDateTime);
  assert.equal(p(wk.confidential).address, undefined);
  for (const pr of [wk.gp, wk.hospitalDoctor, wk.nurse, wk.midwife, wk.pharmacist]) {
    const prac = byId.get(`Practitioner/${pr.practitionerId}`) as Practitioner;
    assert.ok(prac.identifier!.some((i) => i.system === SYSTEM.hpr && i.value === pr.hpr));
    assert.equal(prac.qualification![0].code.coding![0].code, pr.category);
  }
  assert.deepEqual([wk.gp.category, wk.hospitalDoctor.category, wk.nurse.category, wk.midwife.category, wk.pharmacist.category], ['LE', 'LE', 'SP', 'JO', 'FA1']);
  assert.equal(p(wk.child11).generalPractitioner![0].reference, `PractitionerRole/${wk.gp.roleId}`);
  // The same identities whatever the population size.
  const small = [...generatePopulation({ persons: 50, seed: 42, referenceDate: REF })].flat();
  assert.ok(small.some((r) => r.resourceType === 'Patient' && r.id === wk.child13.patientId && ninOf(r as Patient) === wk.child13.nin));
});

test('a sample of every generated resource type passes the server validator without errors', () => {
  const validator = createValidator();
  const sample = new Map<string, Resource[]>();
  for (const r of all) {
    const list = sample.get(r.resourceType) ?? [];
    if (list.length < 25) sample.set(r.resourceType, [...list, r]);
  }
  for (const r of [...sample.values()].flat()) {
    const errors = validator.validate(r).filter((i) => i.severity === 'error' || i.severity === 'fatal');
    assert.deepEqual(errors, [], `${r.resourceType}/${r.id}`);
  }
});
