import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { citizenClaims, devAuthority, type DevAuthority } from '../src/access/dev-authority.ts';
import { DEFAULT_REFERENCE_DATE } from '../src/registry/generator.ts';
import { ageAt } from '../src/registry/dates.ts';
import { syntheticPopulation } from './helpers/synthetic-population.ts';

/**
 * The synthetic population's medication: deterministic, realistic (the old take several drugs,
 * children few), cheap, dated on or before the reference date, stored through the validating write
 * path with every reference resolving, and readable by the citizen as their medication list.
 */
const PERSONS = 800;
const SEED = 'med-test';
const MEDICATION = new Set(['MedicationRequest', 'MedicationDispense', 'MedicationStatement', 'List']);

function population(): { registry: Resource[]; medication: Resource[] } {
  const { registry, kept } = syntheticPopulation({ persons: PERSONS, seed: SEED, batchSize: 400, keep: (r) => MEDICATION.has(r.resourceType) });
  return { registry, medication: kept };
}

let s: TestServer;
let authority: DevAuthority;
let pop: ReturnType<typeof population>;
before(async () => {
  pop = population();
  s = await startTestServer({ auth: 'on', devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
});
after(async () => s?.close());

const patientOf = (r: any) => r.subject.reference.split('/')[1];

test('the same seed gives the same medication histories', () => {
  assert.deepEqual(population().medication, pop.medication);
});

test('histories are realistic and cheap: the old take several drugs, children few; dates before the reference date', () => {
  const patients = pop.registry.filter((r): r is Patient => r.resourceType === 'Patient');
  const ageOf = new Map(patients.map((p) => [p.id!, ageAt(p.birthDate!, DEFAULT_REFERENCE_DATE)]));
  const requests = pop.medication.filter((r: any) => r.resourceType === 'MedicationRequest') as any[];
  const active = (id: string) => requests.filter((r) => patientOf(r) === id && r.status === 'active').length;
  const old = patients.filter((p) => ageOf.get(p.id!)! >= 70);
  const children = patients.filter((p) => ageOf.get(p.id!)! < 12);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  assert.ok(mean(old.map((p) => active(p.id!))) >= 1.5, `the old: ${mean(old.map((p) => active(p.id!)))} active prescriptions`);
  assert.ok(mean(children.map((p) => active(p.id!))) < 0.3, 'children: few');
  assert.ok(pop.medication.length / patients.length < 8, `${pop.medication.length / patients.length} resources per citizen`);
  assert.ok(requests.some((r) => r.status === 'completed'), 'some prescriptions are used up');
  assert.ok(requests.some((r) => r.dispenseRequest.validityPeriod.end < DEFAULT_REFERENCE_DATE), 'some have expired');
  assert.ok(requests.some((r) => r.medicationReference.reference === 'Medication/fest-metformin-500' || r.medicationReference.reference === 'Medication/fest-metformin-1000'));
  for (const r of pop.medication as any[])
    for (const d of [r.authoredOn, r.whenHandedOver, r.date, r.dateAsserted].filter(Boolean)) assert.ok(d.slice(0, 10) <= DEFAULT_REFERENCE_DATE, `${r.id} dated ${d}`);
  assert.equal(new Set(pop.medication.map((r) => `${r.resourceType}/${r.id}`)).size, pop.medication.length, 'ids are unique');
});

test('stored through the validating write path with every reference resolving; the citizen reads their PLL with no løse resepter', async () => {
  await s.platform.repo.putMany(pop.registry, { referentialIntegrity: false });
  await s.platform.repo.putMany(pop.medication, { referentialIntegrity: true });
  const list: any = pop.medication.find((r: any) => r.resourceType === 'List' && r.entry.length >= 2);
  const patient = pop.registry.find((r) => r.resourceType === 'Patient' && r.id === patientOf(list)) as Patient;
  const token = await authority.sign(citizenClaims(patient.identifier![0].value!));
  const res = await s.fhir('/$medication-list', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, res.text);
  const lists = res.body.entry.map((e: any) => e.resource).filter((r: any) => r.resourceType === 'List');
  const pll = lists.find((l: any) => l.code.coding[0].code === 'pll');
  assert.equal(pll.entry.length, list.entry.length);
  assert.equal(res.body.entry.filter((e: any) => e.resource.resourceType === 'MedicationStatement').length, list.entry.length);
  assert.equal(lists.find((l: any) => l.code.coding[0].code === 'loose-prescriptions').entry, undefined, 'no løse resepter: no entry element');
});
