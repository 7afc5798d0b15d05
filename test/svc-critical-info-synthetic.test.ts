import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Patient, Practitioner, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { DEFAULT_REFERENCE_DATE } from '../src/registry/generator.ts';
import { ageAt } from '../src/registry/dates.ts';
import { syntheticPopulation } from './helpers/synthetic-population.ts';
import { EXT, PROFILE } from '../src/services/critical-info/terms.ts';

/**
 * The synthetic population's critical information: deterministic, a minority of citizens (children
 * fewer), realistic kinds, every entry valid against its profile with every reference resolvable
 * (stored through the validating write path with referential checks on), and readable through
 * the API like any registered entry.
 */
const PERSONS = 1500;
const SEED = 'kj-test';

function population(): { registry: Resource[]; critical: Resource[] } {
  const { registry, kept } = syntheticPopulation({ persons: PERSONS, seed: SEED, keep: (r) => !!r.id?.startsWith('kj-') });
  return { registry, critical: kept };
}

let s: TestServer;
let authority: DevAuthority;
let pop: ReturnType<typeof population>;

before(async () => {
  pop = population();
  s = await startTestServer({ auth: 'on', devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
});
after(async () => s?.close());

const patientOf = (r: any) => (r.patient ?? r.subject).reference.split('/')[1];

test('the same seed gives the same critical information', () => {
  assert.deepEqual(population().critical, pop.critical);
});

test('a minority of citizens has critical information, children fewer; the kinds are realistic', () => {
  const patients = pop.registry.filter((r): r is Patient => r.resourceType === 'Patient');
  const ageOf = new Map(patients.map((p) => [p.id!, ageAt(p.birthDate!, DEFAULT_REFERENCE_DATE)]));
  const withInfo = new Set(pop.critical.map(patientOf));
  const share = withInfo.size / patients.length;
  assert.ok(share > 0.04 && share < 0.25, `share with critical information ${share}`);
  const children = patients.filter((p) => ageOf.get(p.id!)! < 16);
  const childShare = children.filter((p) => withInfo.has(p.id!)).length / children.length;
  assert.ok(childShare < share, `children ${childShare} vs all ${share}`);
  const drugReactions = pop.critical.filter((r: any) => r.resourceType === 'AllergyIntolerance' && r.category[0] === 'medication');
  assert.ok(drugReactions.length > PERSONS * 0.03, `drug reactions ${drugReactions.length}`);
  assert.ok(drugReactions.every((r: any) => r.code.coding.some((c: any) => c.system === 'http://www.whocc.no/atc')));
  assert.ok(drugReactions.some((r: any) => r.code.coding.some((c: any) => c.code === 'J01CE02')), 'penicillin is among them');
  const certainties = new Set(drugReactions.map((r: any) => r.extension.find((e: any) => e.url === EXT.certainty).valueCoding.code));
  assert.deepEqual([...certainties].sort(), ['confirmed', 'presumed', 'refuted', 'unconfirmed']);
  const pacemakers = pop.critical.filter((r: any) => r.resourceType === 'Condition' && r.code.coding?.[0]?.code === 'Z95.0');
  assert.ok(pacemakers.length > 0 && pacemakers.every((r) => ageOf.get(patientOf(r))! >= 60));
  for (const r of pop.critical as any[]) {
    assert.deepEqual(r.meta.profile, [PROFILE[r.resourceType as keyof typeof PROFILE]]);
    for (const d of [r.recordedDate, r.performedDateTime, r.period?.start].filter(Boolean)) assert.ok(d <= DEFAULT_REFERENCE_DATE, `${r.id} dated ${d}`);
  }
  assert.equal(new Set(pop.critical.map((r) => r.id)).size, pop.critical.length, 'ids are unique');
});

test('every entry is stored through the validating write path with all references resolving, and reads back through the API', async () => {
  await s.platform.repo.putMany(pop.registry, { referentialIntegrity: false });
  await s.platform.repo.putMany(pop.critical, { referentialIntegrity: true });
  const reaction: any = pop.critical.find((r: any) => r.resourceType === 'AllergyIntolerance' && r.category[0] === 'medication');
  const patient = pop.registry.find((r) => r.resourceType === 'Patient' && r.id === patientOf(reaction)) as Patient;
  const nin = patient.identifier![0].value!;
  const doctor = pop.registry.find(
    (r): r is Practitioner => r.resourceType === 'Practitioner' && !!r.qualification?.some((q) => q.code.coding?.some((c) => c.code === 'LE'))
  )!;
  const hpr = doctor.identifier!.find((i) => i.system === 'urn:oid:2.16.578.1.12.4.1.4.4')!.value!;
  const token = await authority.sign(practitionerClaims({ hpr, org: '000000000', patient: nin }));
  const res = await s.fhir('/$critical-information', { headers: { authorization: `Bearer ${token}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': nin } });
  assert.equal(res.status, 200, res.text);
  assert.ok(res.body.entry.some((e: any) => e.resource.id === reaction.id));
});
