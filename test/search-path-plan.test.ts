import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { loadBaseDefinitions } from '../src/fhir/profiles.ts';
import { extractIndexRows, extraction, IDENTIFIER_SUFFIX, TEXT_SUFFIX } from '../src/store/search/extract.ts';
import { compilePathPlan } from '../src/fhir/path-plan.ts';
import { allResourceTypes, searchParamsFor } from '../src/fhir/search-parameters.ts';
import { compartmentPlans, patientCompartmentOf } from '../src/fhir/compartment.ts';
import { references } from '../src/fhir/json.ts';
import { SHARED_DATA } from './helpers/paths.ts';

/**
 * Index extraction walks plain paths itself instead of running FHIRPath; the index rows must be
 * exactly the ones FHIRPath's values give, for every parameter of every official R4 example and
 * every Synthea resource.
 */
loadBaseDefinitions();

function corpus(): Resource[] {
  const out: Resource[] = [];
  const examples = path.join(SHARED_DATA, 'r4-examples');
  for (const f of fs.readdirSync(examples).filter((f) => f.endsWith('.json'))) {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(examples, f), 'utf8'));
      if (r.resourceType) out.push(r);
    } catch {
      // not a resource
    }
  }
  const synthea = path.join(SHARED_DATA, 'synthea');
  for (const f of fs.readdirSync(synthea).filter((f) => f.endsWith('.json'))) {
    for (const e of JSON.parse(fs.readFileSync(path.join(synthea, f), 'utf8')).entry ?? []) out.push(e.resource);
  }
  return out;
}

const rowSet = (rows: ReturnType<typeof extractIndexRows>) =>
  Object.fromEntries(Object.entries(rows).map(([table, list]) => [table, new Set((list as unknown[]).map((r) => JSON.stringify(r)))]));

/**
 * FHIRPath's union drops values it finds equal, and @medplum/core's decimal equality finds
 * 1e-245 g equal to a neighbouring quantity of this example; the path walk keeps it as a row of
 * its own, so a search for it finds it. No other difference is allowed.
 */
const EXTRA_ROWS_ALLOWED = new Set(['Observation/decimal']);

test('path plans give exactly the index rows FHIRPath gives, on the R4 examples and Synthea', () => {
  const resources = corpus();
  assert.ok(resources.length > 10_000);
  let compared = 0;
  for (const r of resources) {
    extraction.pathPlans = false;
    const slow = rowSet(extractIndexRows(r));
    extraction.pathPlans = true;
    const fast = rowSet(extractIndexRows(r));
    for (const table of Object.keys(slow)) {
      const missing = [...slow[table]].filter((x) => !fast[table].has(x));
      assert.deepEqual(missing, [], `${r.resourceType}/${r.id}: ${table} rows FHIRPath gives but the path walk does not`);
      const extra = [...fast[table]].filter((x) => !slow[table].has(x));
      if (!EXTRA_ROWS_ALLOWED.has(`${r.resourceType}/${r.id}`)) assert.deepEqual(extra, [], `${r.resourceType}/${r.id}: ${table} rows only the path walk gives`);
      compared += slow[table].size;
    }
  }
  assert.ok(compared > 100_000, `compared ${compared} rows`);
});

test('the patient compartment found by path plans is the one FHIRPath finds', () => {
  // Synthea's references are urn:uuid: placeholders until a transaction resolves them; resolve them here.
  const resources = corpus().map((r) => structuredClone(r));
  const typeOf = new Map(resources.map((r) => [`urn:uuid:${r.id}`, r.resourceType]));
  for (const r of resources) for (const ref of references(r)) if (typeOf.has(ref.value)) ref.set(`${typeOf.get(ref.value)}/${ref.value.slice(9)}`);
  let inCompartment = 0;
  for (const r of resources) {
    compartmentPlans.enabled = false;
    const slow = patientCompartmentOf(r);
    compartmentPlans.enabled = true;
    assert.equal(patientCompartmentOf(r), slow, `${r.resourceType}/${r.id}`);
    if (slow) inCompartment++;
  }
  assert.ok(inCompartment > 9_000, `${inCompartment} resources in a patient's compartment`);
});

test('plain paths compile; expressions that need FHIRPath stay with it', () => {
  const params = searchParamsFor('Observation');
  const plan = (code: string) => compilePathPlan(params.get(code)!.expression!, 'Observation');
  for (const code of ['code', 'subject', 'patient', 'value-quantity', 'date', 'component-code']) assert.ok(plan(code), code);
  const valueString = compilePathPlan('(Observation.value.ofType(string)) | (Observation.value.ofType(CodeableConcept)).text', 'Observation')!;
  assert.ok(valueString, 'ofType inside a path compiles');
  const withValue = (value: object) => ({ resourceType: 'Observation', status: 'final', code: {}, ...value }) as Resource;
  assert.deepEqual(valueString(withValue({ valueCodeableConcept: { text: 'positiv' } })), [{ type: 'string', value: 'positiv' }]);
  assert.deepEqual(valueString(withValue({ valueString: 'svak' })), [{ type: 'string', value: 'svak' }]);
  assert.deepEqual(valueString(withValue({ valueQuantity: { value: 1 } })), []);
  const itself = compilePathPlan('Observation | Observation.component', 'Observation')!;
  assert.deepEqual(itself(withValue({ component: [{ code: {} }] })).map((v) => v.type), ['Observation', 'ObservationComponent'], "a composite's base may be the resource itself");
  assert.equal(compilePathPlan('Patient.deceased.exists() and Patient.deceased != false', 'Patient'), undefined);
  const subject = plan('patient')!;
  const obs = (reference: string) => ({ resourceType: 'Observation', status: 'final', code: {}, subject: { reference } }) as Resource;
  assert.equal(subject(obs('Patient/1')).length, 1, 'a relative Patient reference resolves to a Patient');
  assert.equal(subject(obs('Group/1')).length, 0);
  assert.equal(subject(obs('http://other.example/fhir/Patient/1')).length, 0, 'as in FHIRPath without a server, an absolute URL does not resolve');
});

test("a union parameter (Observation's combo-*) stores no rows, and its parts' rows are the ones it would store", () => {
  const unions = allResourceTypes().flatMap((t) => [...searchParamsFor(t).values()].filter((p) => p.keys[0] !== p.key));
  assert.deepEqual(unions.map((p) => p.key).sort(), [
    'Observation.combo-code',
    'Observation.combo-code-value-concept',
    'Observation.combo-code-value-quantity',
    'Observation.combo-data-absent-reason',
    'Observation.combo-value-concept',
    'Observation.combo-value-quantity',
  ]);
  const rowsOf = (rows: Record<string, unknown[]>, keys: string[]) =>
    Object.values(rows)
      .flat()
      .filter((x) => keys.includes((x as { p: string }).p))
      .map((x) => {
        const { p, ...rest } = x as { p: string };
        const colon = p.indexOf(':');
        return JSON.stringify([colon < 0 ? '' : p.slice(colon), rest]); // the suffix (`:text`) stays, the parameter goes
      });
  const suffixed = (keys: string[]) => keys.flatMap((k) => [k, k + TEXT_SUFFIX, k + IDENTIFIER_SUFFIX]);
  let compared = 0;
  for (const r of corpus()) {
    const mine = unions.filter((p) => p.resourceType === r.resourceType);
    if (!mine.length) continue;
    const stored = extractIndexRows(r) as unknown as Record<string, unknown[]>;
    assert.deepEqual(rowsOf(stored, suffixed(mine.map((p) => p.key))), [], `${r.resourceType}/${r.id}: rows stored for a union`);
    const parts = new Map(mine.map((p) => [p, p.keys]));
    for (const p of mine) p.keys = [p.key];
    let own: Record<string, unknown[]>;
    try {
      own = extractIndexRows(r) as unknown as Record<string, unknown[]>;
    } finally {
      for (const p of mine) p.keys = parts.get(p)!;
    }
    for (const p of mine) {
      const expected = new Set(rowsOf(own, suffixed([p.key])));
      const answered = new Set(rowsOf(stored, suffixed(p.keys)));
      assert.deepEqual([...answered].sort(), [...expected].sort(), `${r.resourceType}/${r.id}: ${p.code}`);
      compared += expected.size;
    }
  }
  assert.ok(compared > 10_000, `${compared} rows compared`);
});
