import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Db } from '../src/store/db.ts';
import { FhirError } from '../src/fhir/outcome.ts';
import { createRepository, type Repository } from '../src/store/repository.ts';
import { findMatches, search, type SearchInput } from '../src/store/search/index.ts';
import { raw, sql } from '../src/store/sql.ts';
import { openTestDb } from './helpers/db.ts';
import { readSynthea } from './helpers/synthea.ts';

/**
 * The search engine on small hand-made resources whose expected matches are evident from the
 * data below, plus paging over a few Synthea patients. (The exhaustive, oracle-checked suite
 * over the whole Synthea set is test/search-suite.test.ts.)
 */

const BASE = 'http://test.local/fhir';
let db: Db;
let repo: Repository;

const patients: Resource[] = [
  { resourceType: 'Patient', id: 'ostby', name: [{ family: 'Østby', given: ['Åse'] }], gender: 'female', birthDate: '1980-05-12',
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '12058012345' }], telecom: [{ system: 'phone', value: '+4799999999' }],
    generalPractitioner: [{ reference: 'Practitioner/gp1' }] },
  { resourceType: 'Patient', id: 'aasen', name: [{ family: 'Aasen', given: ['Ola'] }], gender: 'male', birthDate: '1975',
    identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '01017512345' }] },
  { resourceType: 'Patient', id: 'jose', name: [{ family: 'José', given: ['Müller'] }], gender: 'other', active: true },
] as Resource[];

const others: Resource[] = [
  { resourceType: 'Practitioner', id: 'gp1', name: [{ family: 'Lege', given: ['Kari'] }], identifier: [{ system: 'urn:oid:2.16.578.1.12.4.1.4.4', value: '9144900' }] },
  obs('o1', 'ostby', '8480-6', 120, 'mm[Hg]', '2020-03-01T10:00:00Z'),
  obs('o2', 'ostby', '8480-6', 135.5, 'mm[Hg]', '2021-06-15T08:30:00Z'),
  obs('o3', 'ostby', '29463-7', 72, 'kg', '2020-03'),
  obs('o4', 'aasen', '8480-6', 150, 'mm[Hg]', '2019-12-31T23:00:00Z'),
  { resourceType: 'Observation', id: 'o5', status: 'preliminary', code: { text: 'Blodprøve' }, subject: { reference: 'Patient/aasen' },
    effectivePeriod: { start: '2020-01-01', end: '2020-12-31' }, performer: [{ reference: 'Practitioner/gp1' }] },
  { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/ostby' }, code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }] },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] } },
  { resourceType: 'ValueSet', id: 'vs1', status: 'active', url: 'http://example.org/fhir/ValueSet/blood-pressure' },
  { resourceType: 'ValueSet', id: 'vs2', status: 'active', url: 'http://example.org/fhir/ValueSet/blood-pressure/systolic',
    compose: { include: [{ system: 'http://loinc.org', concept: [{ code: '8480-6' }] }] } },
  { resourceType: 'ValueSet', id: 'vs3', status: 'active', url: 'http://example.org/fhir/ValueSet/all-snomed', compose: { include: [{ system: 'http://snomed.info/sct' }] } },
  { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: { reference: 'Patient/ostby' } },
  { resourceType: 'Encounter', id: 'e2', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: { reference: 'Patient/aasen' } },
] as Resource[];

function obs(id: string, patient: string, code: string, value: number, unit: string, effective: string): Resource {
  return {
    resourceType: 'Observation', id, status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: effective,
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
  } as Resource;
}

async function run(resourceType: string | undefined, params: [string, string][], extra: Partial<SearchInput> = {}): Promise<Bundle> {
  return search(db, { resourceType, params, baseUrl: BASE, ...extra });
}
const ids = (b: Bundle, mode = 'match') => (b.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => e.resource!.id!).sort();
const find = async (type: string, params: [string, string][]) => ids(await run(type, [...params, ['_count', '1000']]));

async function rejects400(p: Promise<unknown>, re: RegExp) {
  await assert.rejects(p, (e: unknown) => e instanceof FhirError && e.status === 400 && re.test(e.message));
}

before(async () => {
  db = await openTestDb();
  repo = await createRepository(db);
  await repo.putMany([others[0], ...patients, ...others.slice(1)]);
});
after(async () => db?.close());

describe('string', () => {
  test('Norwegian letters match as a Norwegian expects', async () => {
    assert.deepEqual(await find('Patient', [['name', 'øst']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['name', 'ØSTBY']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['given', 'å']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['name', 'ost']]), [], 'ø is a letter of its own, not an o');
    assert.deepEqual(await find('Patient', [['name', 'a']]), ['aasen']);
  });
  test('accents are ignored; :exact and :contains', async () => {
    assert.deepEqual(await find('Patient', [['name', 'jose']]), ['jose']);
    assert.deepEqual(await find('Patient', [['given', 'mul']]), ['jose']);
    assert.deepEqual(await find('Patient', [['family:exact', 'Østby']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['family:exact', 'østby']]), []);
    assert.deepEqual(await find('Patient', [['family:contains', 'sen']]), ['aasen']);
  });
  test('comma is OR, repetition is AND', async () => {
    assert.deepEqual(await find('Patient', [['name', 'øst,aas']]), ['aasen', 'ostby']);
    assert.deepEqual(await find('Patient', [['name', 'øst'], ['name', 'åse']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['name', 'øst'], ['name', 'ola']]), []);
  });
});

describe('token', () => {
  test('system|code, |code, system|, code', async () => {
    assert.deepEqual(await find('Observation', [['code', 'http://loinc.org|8480-6']]), ['o1', 'o2', 'o4']);
    assert.deepEqual(await find('Observation', [['code', '8480-6']]), ['o1', 'o2', 'o4']);
    assert.deepEqual(await find('Observation', [['code', 'http://snomed.info/sct|8480-6']]), []);
    assert.deepEqual(await find('Observation', [['code', '|8480-6']]), []);
    assert.deepEqual(await find('Observation', [['status', '|final']]), ['o1', 'o2', 'o3', 'o4']);
    assert.deepEqual(await find('Observation', [['code', 'http://loinc.org|']]), ['o1', 'o2', 'o3', 'o4']);
  });
  test('identifier, ContactPoint, boolean', async () => {
    assert.deepEqual(await find('Patient', [['identifier', 'urn:oid:2.16.578.1.12.4.1.4.1|12058012345']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['phone', '+4799999999']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['active', 'true']]), ['jose']);
  });
  test(':not, :text, :missing, :in', async () => {
    assert.deepEqual(await find('Observation', [['code:not', '8480-6']]), ['o3', 'o5']);
    assert.deepEqual(await find('Observation', [['code:text', 'blodprø']]), ['o5']);
    assert.deepEqual(await find('Condition', [['code:text', 'diabetes']]), ['c1']);
    assert.deepEqual(await find('Condition', [['code:text', 'mellitus']]), [], ':text matches the start of the text, like string search');
    assert.deepEqual(await find('Patient', [['birthdate:missing', 'true']]), ['jose']);
    assert.deepEqual(await find('Patient', [['birthdate:missing', 'false']]), ['aasen', 'ostby']);
    assert.deepEqual(await find('Observation', [['status:in', 'http://hl7.org/fhir/ValueSet/observation-status']]), ['o1', 'o2', 'o3', 'o4', 'o5']);
    assert.deepEqual(await find('Observation', [['status:not-in', 'http://hl7.org/fhir/ValueSet/observation-status']]), []);
  });
  test(':in with a ValueSet stored on the server; :below and :above in a code system hierarchy', async () => {
    assert.deepEqual(await find('Observation', [['code:in', 'http://example.org/fhir/ValueSet/blood-pressure/systolic']]), ['o1', 'o2', 'o4']);
    assert.deepEqual(await find('Condition', [['code:in', 'http://example.org/fhir/ValueSet/all-snomed']]), ['c1']);
    assert.deepEqual(await find('Observation', [['code:in', 'http://example.org/fhir/ValueSet/all-snomed']]), []);
    // v3-ActCode: ACUTE and NONAC are below IMP (inpatient); AMB is another branch of _ActEncounterCode
    assert.deepEqual(await find('Encounter', [['class:below', 'http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP']]), ['e1']);
    assert.deepEqual(await find('Encounter', [['class:below', 'http://terminology.hl7.org/CodeSystem/v3-ActCode|_ActEncounterCode']]), ['e1', 'e2']);
    assert.deepEqual(await find('Encounter', [['class:above', 'http://terminology.hl7.org/CodeSystem/v3-ActCode|ACUTE']]), ['e1']);
    await assert.rejects(run('Encounter', [['class:below', 'urn:unknown|X']], { strict: true }), (e: any) => e.status === 400);
  });
  test('a 100-value OR list', async () => {
    const codes = Array.from({ length: 99 }, (_, i) => `code-${i}`);
    assert.deepEqual(await find('Observation', [['code', [...codes, '29463-7'].join(',')]]), ['o3']);
    assert.deepEqual(await find('Observation', [['code', [...codes.map((c) => `http://loinc.org|${c}`), 'http://loinc.org|29463-7'].join(',')]]), ['o3']);
  });
});

describe('date', () => {
  test('partial dates and prefixes use range semantics', async () => {
    assert.deepEqual(await find('Patient', [['birthdate', '1980']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['birthdate', '1980-05']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['birthdate', '1975-06-01']]), [], 'a year-only birth date is not within one day');
    assert.deepEqual(await find('Patient', [['birthdate', 'lt1976']]), ['aasen']);
    assert.deepEqual(await find('Patient', [['birthdate', 'gt1975']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['birthdate', 'ge1975']]), ['aasen', 'ostby']);
    assert.deepEqual(await find('Patient', [['birthdate', 'ne1980']]), ['aasen']);
  });
  test('datetimes, periods, sa and eb', async () => {
    assert.deepEqual(await find('Observation', [['date', '2020-03']]), ['o1', 'o3']);
    assert.deepEqual(await find('Observation', [['date', '2020']]), ['o1', 'o3', 'o5']);
    assert.deepEqual(await find('Observation', [['date', 'ge2020-01-01'], ['date', 'lt2021']]), ['o1', 'o3', 'o5']);
    assert.deepEqual(await find('Observation', [['date', 'sa2020-06-01']]), ['o2']);
    assert.deepEqual(await find('Observation', [['date', 'eb2020-01-01']]), ['o4']);
    assert.deepEqual(await find('Observation', [['date', '2019-12-31T23:00:00Z']]), ['o4']);
    assert.deepEqual(await find('Observation', [['date', '2020-01-01T00:00:00+01:00']]), ['o4'], 'the same instant in another zone');
    assert.deepEqual(await find('Observation', [['date', '2020-01-01T00:00:00+02:00']]), []);
  });
  test('malformed dates and prefixes are a 400 naming the parameter', async () => {
    await rejects400(run('Observation', [['date', '2020-13']]), /date/);
    await rejects400(run('Observation', [['date', 'xx2020']]), /prefix 'xx'.*date/);
    await rejects400(run('Observation', [['value-quantity', 'abc']]), /value-quantity/);
  });
  test('chains, _has and _sort have limits, refused as a 400 before any SQL grows', async () => {
    // A chain is compiled once per target type at every level: 100 bytes of composed-of made 11 MB of SQL.
    let t = performance.now();
    await rejects400(run('Library', [[Array(6).fill('composed-of').join('.'), 'x']]), /follows 5 references; at most 3/);
    await rejects400(run('Observation', [['subject:Patient.organization.partof.partof.name', 'x']]), /follows 4 references; at most 3/);
    await rejects400(run('Patient', [['_has:Patient:link:'.repeat(20) + 'name', 'x']]), /nests 20 _has; at most 4/);
    await rejects400(run('Observation', [['_sort', Array(9).fill('_id').join(',')]]), /_sort names 9 keys/);
    assert.ok(performance.now() - t < 1000, `took ${(performance.now() - t).toFixed(0)} ms`);
    // What is within the limits still runs.
    assert.deepEqual(await find('Observation', [['subject:Patient.name', 'østby'], ['code', '8480-6']]), ['o1', 'o2']);
    assert.deepEqual(await find('Patient', [['_has:Observation:subject:_has:Observation:has-member:code', 'none']]), []);
    // A parameter repeated 30,000 times (a POST _search form) is planned in linear time: 32 s when each repeat copied the list.
    t = performance.now();
    await run('Patient', Array.from({ length: 30_000 }, () => ['_elements', 'id'] as [string, string]));
    assert.ok(performance.now() - t < 2000, `took ${(performance.now() - t).toFixed(0)} ms`);
  });
  test('a malformed number of any length is refused at once', async () => {
    // 30,000 digits and an x: 2 s of the event loop when the pattern could split the digits two ways.
    const t = performance.now();
    await rejects400(run('Observation', [['value-quantity', `${'1'.repeat(30_000)}x`]]), /value-quantity/);
    assert.ok(performance.now() - t < 500, `took ${(performance.now() - t).toFixed(0)} ms`);
    assert.deepEqual(await find('Observation', [['value-quantity', '136.']]), ['o2'], 'a number may end in its point');
  });
});

describe('quantity and number', () => {
  test('precision of the searched number sets the eq range', async () => {
    assert.deepEqual(await find('Observation', [['value-quantity', '135']]), []);
    assert.deepEqual(await find('Observation', [['value-quantity', '136']]), ['o2'], '136 means [135.5, 136.5)');
    assert.deepEqual(await find('Observation', [['value-quantity', '135.5']]), ['o2']);
    assert.deepEqual(await find('Observation', [['value-quantity', 'gt130|http://unitsofmeasure.org|mm[Hg]']]), ['o2', 'o4']);
    assert.deepEqual(await find('Observation', [['value-quantity', 'gt50||kg']]), ['o3']);
    assert.deepEqual(await find('Observation', [['value-quantity', 'le120']]), ['o1', 'o3']);
    assert.deepEqual(await find('Observation', [['value-quantity', 'ap75']]), ['o3'], 'within 10 %');
    assert.deepEqual(await find('Observation', [['value-quantity', 'ap140']]), ['o2', 'o4'], 'within 10 %');
  });
  test('composite keeps both parts on one element', async () => {
    assert.deepEqual(await find('Observation', [['code-value-quantity', 'http://loinc.org|8480-6$gt125']]), ['o2', 'o4']);
    assert.deepEqual(await find('Observation', [['code-value-quantity', '29463-7$gt125']]), []);
  });
});

describe('reference, uri', () => {
  test('relative, id only, absolute on this server, typed, by identifier', async () => {
    assert.deepEqual(await find('Observation', [['subject', 'Patient/aasen']]), ['o4', 'o5']);
    assert.deepEqual(await find('Observation', [['patient', 'aasen']]), ['o4', 'o5']);
    assert.deepEqual(await find('Observation', [['subject', `${BASE}/Patient/aasen`]]), ['o4', 'o5']);
    assert.deepEqual(await find('Observation', [['subject:Patient', 'aasen']]), ['o4', 'o5']);
    assert.deepEqual(await find('Observation', [['subject:Group', 'aasen']]), []);
    assert.deepEqual(await find('Observation', [['subject', 'aasen,ostby']]), ['o1', 'o2', 'o3', 'o4', 'o5']);
  });
  test('uri :below and :above', async () => {
    assert.deepEqual(await find('ValueSet', [['url:below', 'http://example.org/fhir/ValueSet/blood']]), ['vs1', 'vs2']);
    assert.deepEqual(await find('ValueSet', [['url:above', 'http://example.org/fhir/ValueSet/blood-pressure/systolic']]), ['vs1', 'vs2']);
    assert.deepEqual(await find('ValueSet', [['url:above', 'http://example.org/fhir/ValueSet/blood-pressure']]), ['vs1']);
    assert.deepEqual(await find('ValueSet', [['url', 'http://example.org/fhir/ValueSet/blood-pressure']]), ['vs1']);
    // A prefix per path step: 16,000 slashes (a GET's worth) would bind 128 MB of prefixes.
    await rejects400(run('ValueSet', [['url:above', `http://example.org/${'a/'.repeat(8000)}`]]), /url:above has more than 64 path steps/);
  });
});

describe('chains and _has', () => {
  test('chains of two levels', async () => {
    assert.deepEqual(await find('Observation', [['subject:Patient.name', 'øst']]), ['o1', 'o2', 'o3']);
    assert.deepEqual(await find('Observation', [['patient.general-practitioner.name', 'lege']]), ['o1', 'o2', 'o3']);
    assert.deepEqual(await find('Observation', [['patient.general-practitioner:Practitioner.identifier', '9144900']]), ['o1', 'o2', 'o3']);
  });
  test('_has, also nested', async () => {
    assert.deepEqual(await find('Patient', [['_has:Observation:patient:code', '29463-7']]), ['ostby']);
    assert.deepEqual(await find('Patient', [['_has:Observation:patient:value-quantity', 'gt140']]), ['aasen']);
    assert.deepEqual(await find('Practitioner', [['_has:Patient:general-practitioner:_has:Observation:patient:code', '29463-7']]), ['gp1']);
    assert.deepEqual(await find('Practitioner', [['_has:Patient:general-practitioner:_has:Observation:patient:code', '8462-4']]), []);
  });
});

describe('result shaping', () => {
  test('_include, _revinclude and :iterate', async () => {
    const b = await run('Observation', [['code', '29463-7'], ['_include', 'Observation:patient']]);
    assert.deepEqual(ids(b), ['o3']);
    assert.deepEqual(ids(b, 'include'), ['ostby']);
    const r = await run('Patient', [['_id', 'aasen'], ['_revinclude', 'Observation:subject']]);
    assert.deepEqual(ids(r, 'include'), ['o4', 'o5']);
    const it = await run('Observation', [['_id', 'o1'], ['_include', 'Observation:patient'], ['_include:iterate', 'Patient:general-practitioner']]);
    assert.deepEqual(ids(it, 'include'), ['gp1', 'ostby']);
    const noIt = await run('Observation', [['_id', 'o1'], ['_include', 'Observation:patient'], ['_include', 'Patient:general-practitioner']]);
    assert.deepEqual(ids(noIt, 'include'), ['ostby']);
  });
  test('_summary, _elements, _total', async () => {
    const count = await run('Observation', [['_summary', 'count']]);
    assert.equal(count.total, 5);
    assert.equal(count.entry, undefined);
    const none = await run('Observation', []);
    assert.equal(none.total, undefined, 'no total unless asked');
    assert.equal((await run('Observation', [['_total', 'accurate'], ['_count', '1']])).total, 5);
    const el = await run('Patient', [['_id', 'ostby'], ['_elements', 'birthDate']]);
    const p = el.entry![0].resource as any;
    assert.equal(p.birthDate, '1980-05-12');
    assert.equal(p.name, undefined);
    assert.ok(p.meta.tag.some((t: any) => t.code === 'SUBSETTED'));
    const sum = (await run('Patient', [['_id', 'ostby'], ['_summary', 'true']])).entry![0].resource as any;
    assert.ok(sum.name && sum.birthDate);
  });
  test('_sort on several parameters, ascending and descending', async () => {
    const b = await run('Observation', [['_sort', 'code,-date']]);
    // codes: 29463-7 (o3) < 8480-6 (o1, o2, o4 by date desc: o2, o1, o4); o5 has no coded code → last
    assert.deepEqual(b.entry!.map((e) => e.resource!.id), ['o3', 'o2', 'o1', 'o4', 'o5']);
    const d = await run('Observation', [['_sort', '-date']]);
    assert.deepEqual(d.entry!.map((e) => e.resource!.id), ['o2', 'o5', 'o3', 'o1', 'o4']);
  });
  test('unknown parameters are reported, or a 400 when strict', async () => {
    const b = await run('Patient', [['nosuch', 'x'], ['name', 'øst']]);
    assert.deepEqual(ids(b), ['ostby']);
    const outcome = b.entry!.find((e) => e.search?.mode === 'outcome')!.resource as any;
    assert.match(outcome.issue[0].diagnostics, /nosuch/);
    await assert.rejects(run('Patient', [['nosuch', 'x']], { strict: true }), (e: any) => e.status === 400);
    await assert.rejects(run('Patient', [['name:above', 'x']], { strict: true }), (e: any) => e.status === 400);
  });
});

describe('scope', () => {
  test('compartment search and access filter restrict matches, totals and includes', async () => {
    assert.deepEqual(ids(await run('Observation', [], { compartment: { type: 'Patient', id: 'aasen' } })), ['o4', 'o5']);
    const onlyFinal = (a: string) => sql`${raw(a)}.type <> 'Patient' or ${raw(a)}.id <> 'ostby'`;
    const b = await run('Observation', [['_include', 'Observation:patient'], ['_total', 'accurate']], { accessFilter: onlyFinal });
    assert.equal(b.total, 5);
    assert.deepEqual(ids(b, 'include'), ['aasen']);
    const hidden = await run('Patient', [['_total', 'accurate']], { accessFilter: onlyFinal });
    assert.deepEqual(ids(hidden), ['aasen', 'jose']);
    assert.equal(hidden.total, 2);
  });
  test('deleted resources never match; findMatches for conditional operations', async () => {
    await repo.putMany([{ resourceType: 'Patient', id: 'gone', name: [{ family: 'Borte' }] } as Resource]);
    assert.deepEqual(await findMatches(db, 'Patient', [['family', 'borte']]).then((m) => m.map((x) => x.id)), ['gone']);
    await repo.putMany([obs('o-gone', 'gone', 'gone-1', 1, 'kg', '2020-01-01')]);
    assert.deepEqual(await find('Observation', [['subject:Patient.name', 'borte']]), ['o-gone']);
    assert.deepEqual(await find('Observation', [['patient.family', 'borte'], ['code', 'http://loinc.org|gone-1']]), ['o-gone']);
    await repo.delete('Patient', 'gone');
    assert.deepEqual(await find('Patient', [['family', 'borte']]), []);
    // A chain finds its targets from their index rows: a deleted Patient has none left.
    assert.deepEqual(await find('Observation', [['subject:Patient.name', 'borte']]), []);
    assert.deepEqual(await find('Observation', [['patient.family', 'borte'], ['code', 'http://loinc.org|gone-1']]), []);
    assert.deepEqual(await findMatches(db, 'Patient', [['family', 'borte']]), []);
    const m = await findMatches(db, 'Patient', [['identifier', 'urn:oid:2.16.578.1.12.4.1.4.1|01017512345']]);
    assert.deepEqual(m.map((x) => x.id), ['aasen']);
    await rejects400(findMatches(db, 'Patient', [['nosuch', 'x']]), /nosuch/);
  });
});

describe('a chain with a selective code, paged', () => {
  // Pages of a chain search are keyset pages over the code's rids: matches on both sides of a
  // long run of rows that match the code but not the chain must all come, once, in rid order.
  test('every match is found once, before and after a long run of rows that do not match', async () => {
    const early = ['w-early-1', 'w-early-2', 'w-early-3'];
    const late = ['w-late-1', 'w-late-2'];
    const filler = Array.from({ length: 220 }, (_, i) => obs(`w-fill-${i}`, 'aasen', 'walk-1', i, 'kg', '2020-01-01'));
    await repo.putMany(early.map((id) => obs(id, 'ostby', 'walk-1', 1, 'kg', '2020-01-01')));
    await repo.putMany(filler);
    await repo.putMany(late.map((id) => obs(id, 'ostby', 'walk-1', 1, 'kg', '2020-01-01')));
    const params: [string, string][] = [['subject:Patient.name', 'østby'], ['code', 'http://loinc.org|walk-1'], ['_count', '1']];
    const seen: string[] = [];
    let b = await run('Observation', params);
    for (;;) {
      seen.push(...(b.entry ?? []).map((e) => e.resource!.id!));
      const next = b.link?.find((l) => l.relation === 'next');
      if (!next) break;
      b = await run('Observation', [...new URL(next.url).searchParams.entries()] as [string, string][]);
    }
    // written one after the other, so their rids (the default order) follow the same order
    assert.deepEqual(seen, [...early, ...late]);
    assert.deepEqual(await find('Observation', [['subject:Patient.name', 'aasen'], ['code', 'http://loinc.org|walk-1']]), filler.map((o) => o.id!).sort());
  });
});

describe('one code among many patients’ data, paged (the walk through compartments)', () => {
  // With references to many patients (a chain through Patient resolves to them, or a long list),
  // the first pages come from walking the code's rows in rid order, pre-filtered on the rows'
  // compartments. Rows in a listed patient's compartment whose subject is not that patient must
  // still be checked out, and every match must come once, in rid order, across pages.
  test('every match once and in rid order, by chain and by list; look-alikes in the compartment are not matches', async () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ resourceType: 'Patient', id: `mange-${i}`, name: [{ family: 'Mangfold', given: [`P${i}`] }] }) as Resource);
    await repo.putMany([...many, { resourceType: 'Group', id: 'g1', type: 'person', actual: true } as Resource]);
    const expected: string[] = [];
    for (let round = 0; round < 3; round++) {
      const batch: Resource[] = [];
      for (let i = 0; i < 60; i += 1 + round) {
        batch.push(obs(`mange-${round}-${i}`, `mange-${i}`, 'walk-2', i, 'kg', '2021-01-01'));
        expected.push(`mange-${round}-${i}`);
      }
      // the same code for someone else, in between
      for (let k = 0; k < 40; k++) batch.push(obs(`mange-other-${round}-${k}`, 'aasen', 'walk-2', k, 'kg', '2021-01-01'));
      // in a listed patient's compartment (performer), but about a group: not a match
      batch.push({ ...obs(`mange-group-${round}`, 'x', 'walk-2', 0, 'kg', '2021-01-01'), subject: { reference: 'Group/g1' }, performer: [{ reference: `Patient/mange-${round}` }] } as Resource);
      await repo.putMany(batch);
    }
    const statements: string[] = [];
    const spy = { query: (text: string, values?: unknown[]) => (statements.push(text), db.query(text, values)) } as unknown as Db;
    const walkAll = async (params: [string, string][]) => {
      const seen: string[] = [];
      let b = await search(spy, { resourceType: 'Observation', params: [...params, ['_count', '7']], baseUrl: BASE });
      for (;;) {
        seen.push(...(b.entry ?? []).map((e) => e.resource!.id!));
        const next = b.link?.find((l) => l.relation === 'next');
        if (!next) return seen;
        b = await search(spy, { resourceType: 'Observation', params: [...new URL(next.url).searchParams.entries()] as [string, string][], baseUrl: BASE });
      }
    };
    assert.deepEqual(await walkAll([['subject:Patient.name', 'mangfold'], ['code', 'http://loinc.org|walk-2']]), expected);
    assert.deepEqual(await walkAll([['patient', many.map((p) => p.id).join(',')], ['code', 'walk-2']]), expected);
    assert.deepEqual(await walkAll([['subject', many.map((p) => `Patient/${p.id}`).join(',')], ['code', 'walk-2']]), expected);
    assert.ok(statements.some((t) => t.includes(".compartment || '') = any(")), 'the pages came from the walk');
    // performer is not the compartment's element: no walk, same answer from the ordinary plan
    assert.deepEqual(await find('Observation', [['performer', many.map((p) => `Patient/${p.id}`).join(',')], ['code', 'walk-2']]), ['mange-group-0', 'mange-group-1', 'mange-group-2']);
  });
});

describe('paging over Synthea', () => {
  let total = 0;
  before(async () => {
    await repo.putMany(readSynthea({ maxPatients: 1 }));
    total = (await run('Observation', [['_summary', 'count']])).total!;
  });

  async function walk(params: [string, string][], during?: (page: number) => Promise<void>) {
    const seen: string[] = [];
    let b = await run('Observation', params);
    for (let page = 0; ; page++) {
      seen.push(...ids(b).length ? b.entry!.filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!) : []);
      await during?.(page);
      const next = b.link?.find((l) => l.relation === 'next');
      if (!next) break;
      b = await run('Observation', [...new URL(next.url).searchParams.entries()] as [string, string][]);
    }
    return seen;
  }

  test('every page is walked without gaps or repeats, in the requested order', async () => {
    const seen = await walk([['_count', '37'], ['_sort', '-date,_id']]);
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total);
    const all = (await run('Observation', [['_count', '1000'], ['_sort', '-date,_id']])).entry!.map((e) => e.resource!.id);
    assert.deepEqual(seen, all);
  });

  test('writes during the walk neither skip nor repeat the resources that were there', async () => {
    const before = new Set((await run('Observation', [['_count', '1000']])).entry!.map((e) => e.resource!.id!));
    let n = 0;
    const seen = await walk([['_count', '25']], async () => {
      n++;
      await repo.putMany([obs(`late-${n}`, 'aasen', '8480-6', 100 + n, 'mm[Hg]', '2022-01-01T00:00:00Z')]);
    });
    assert.equal(new Set(seen).size, seen.length, 'no repeats');
    for (const id of before) assert.ok(seen.includes(id), `missing ${id}`);
  });

  test('previous returns the same page again', async () => {
    const first = await run('Observation', [['_count', '10'], ['_sort', 'date']]);
    const second = await run('Observation', [...new URL(first.link!.find((l) => l.relation === 'next')!.url).searchParams.entries()] as any);
    const back = await run('Observation', [...new URL(second.link!.find((l) => l.relation === 'previous')!.url).searchParams.entries()] as any);
    assert.deepEqual(back.entry!.map((e) => e.resource!.id), first.entry!.map((e) => e.resource!.id));
    assert.equal(second.entry!.length, 10);
  });
});
