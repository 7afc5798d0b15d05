import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resource } from '@medplum/fhirtypes';
import { expressionForType, fixAsExpressions, getSearchParam, registerSearchParameter, searchParamsFor } from '../src/fhir/search-parameters.ts';
import type { Db } from '../src/store/db.ts';
import { deleteSearchIndex, INDEX_TABLES, writeSearchIndex } from '../src/store/search-index.ts';
import { extractIndexRows } from '../src/store/search/extract.ts';
import { loadCustomSearchParameters, reindex } from '../src/store/search/reindex.ts';
import { dateRange, normalizeString } from '../src/store/search/values.ts';
import { openTestDb } from './helpers/db.ts';

describe('search parameter definitions', () => {
  test('every R4 resource type has its parameters, including the Resource-level ones', () => {
    const obs = searchParamsFor('Observation');
    for (const code of ['code', 'date', 'patient', 'subject', 'value-quantity', 'code-value-quantity', '_id', '_lastUpdated', '_tag', '_profile', '_security', '_source'])
      assert.ok(obs.has(code), code);
    assert.equal(getSearchParam('Patient', 'name')?.type, 'string');
    assert.equal(getSearchParam('Patient', 'general-practitioner')?.type, 'reference');
  });

  test('`as` on a collection is rewritten to ofType, and only the part for the type is kept', () => {
    assert.equal(fixAsExpressions('(Observation.value as Quantity)'), '(Observation.value.ofType(Quantity))');
    assert.equal(fixAsExpressions('value.as(CodeableConcept)'), 'value.ofType(CodeableConcept)');
    const expr = 'Condition.code | (MedicationRequest.medication as CodeableConcept) | Observation.code';
    assert.equal(expressionForType(expr, 'MedicationRequest'), '(MedicationRequest.medication.ofType(CodeableConcept))');
    assert.equal(expressionForType('Resource.meta.tag', 'Patient'), 'Patient.meta.tag');
    assert.equal(expressionForType(expr, 'Patient'), undefined);
  });
});

describe('value rules', () => {
  test('string normalisation is case- and accent-insensitive but keeps æ ø å', () => {
    assert.equal(normalizeString('Østby'), 'østby');
    assert.equal(normalizeString('ÆRØ Åsen'), 'ærø åsen');
    assert.equal(normalizeString('José Müller'), 'jose muller');
    assert.ok(normalizeString('Østby').startsWith(normalizeString('øst')));
    assert.ok(!normalizeString('Åsen').startsWith(normalizeString('as')), 'å is its own letter, not an accented a');
  });

  test('partial dates stand for their whole period', () => {
    assert.deepEqual(dateRange('2020'), { lo: new Date('2020-01-01T00:00:00Z'), hi: new Date('2020-12-31T23:59:59.999Z') });
    assert.deepEqual(dateRange('2020-02'), { lo: new Date('2020-02-01T00:00:00Z'), hi: new Date('2020-02-29T23:59:59.999Z') });
    assert.deepEqual(dateRange('2020-02-03T10:00+01:00'), { lo: new Date('2020-02-03T09:00:00Z'), hi: new Date('2020-02-03T09:00:59.999Z') });
    assert.equal(dateRange('2021-02-30'), undefined);
    assert.equal(dateRange('yesterday'), undefined);
  });
});

describe('extraction', () => {
  const obs: Resource = {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    meta: { tag: [{ system: 'urn:t', code: 'x' }] },
    code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic' }], text: 'Blodtrykk' },
    subject: { reference: 'Patient/p1' },
    performer: [{ identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.4', value: '9144900' } }],
    effectivePeriod: { start: '2020-03', end: '2020-04-02' },
    component: [
      { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 80, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    ],
  } as Resource;
  const rows = extractIndexRows(obs);

  test('tokens carry system and code, texts go to the :text rows', () => {
    assert.ok(rows.token.some((t) => t.p === 'Observation.code' && t.system === 'http://loinc.org' && t.code === '8480-6'));
    assert.ok(rows.token.some((t) => t.p === 'Observation.status' && t.system === null && t.code === 'final'));
    assert.ok(rows.token.some((t) => t.p === 'Observation._tag' && t.system === 'urn:t' && t.code === 'x'));
    assert.deepEqual(rows.string.filter((s) => s.p === 'Observation.code:text').map((s) => s.norm).sort(), ['blodtrykk', 'systolic']);
  });

  test('references split into type and id; identifier-only references feed :identifier', () => {
    assert.ok(rows.reference.some((r) => r.p === 'Observation.patient' && r.target_type === 'Patient' && r.target_id === 'p1'));
    assert.ok(rows.token.some((t) => t.p === 'Observation.performer:identifier' && t.code === '9144900'));
  });

  test('periods index as their whole span', () => {
    const d = rows.date.find((r) => r.p === 'Observation.date')!;
    assert.equal(d.lo.toISOString(), '2020-03-01T00:00:00.000Z');
    assert.equal(d.hi.toISOString(), '2020-04-02T23:59:59.999Z');
  });

  test('composites keep each component code together with its own value', () => {
    const c = rows.composite.filter((r) => r.p === 'Observation.component-code-value-quantity');
    assert.deepEqual(c.map((r) => [r.code1, Number(r.num2)]).sort(), [['8462-4', 80], ['8480-6', 120]]);
  });
});

describe('index tables', () => {
  let db: Db;
  before(async () => {
    db = await openTestDb();
  });
  after(async () => db?.close());

  const count = async (table: string, rid: number) => (await db.query<{ n: number }>(`select count(*)::int as n from ${table} where rid = $1`, [rid]))[0].n;

  test('writeSearchIndex replaces the rows of a rid, carries the compartment, and deleteSearchIndex removes them', async () => {
    const patient: Resource = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Østby', given: ['Åse'] }], birthDate: '1980-05', gender: 'female' } as Resource;
    await db.transaction((tx) => writeSearchIndex(tx, [{ rid: 101, type: 'Patient', compartment: 'p1', resource: patient }]));
    const names = await db.query<{ norm: string; compartment: string }>(`select norm, compartment from sp_string where rid = 101 and p = 'Patient.name'`);
    assert.deepEqual(names.map((n) => n.norm).sort(), ['østby', 'åse'].sort());
    assert.ok(names.every((n) => n.compartment === 'p1'));

    const renamed = { ...patient, name: [{ family: 'Nilsen' }] } as Resource;
    await db.transaction((tx) => writeSearchIndex(tx, [{ rid: 101, type: 'Patient', compartment: 'p1', resource: renamed }]));
    const after = await db.query<{ norm: string }>(`select norm from sp_string where rid = 101 and p = 'Patient.name'`);
    assert.deepEqual(after.map((n) => n.norm), ['nilsen']);
    assert.equal(await count('sp_date', 101), 1);

    await db.transaction((tx) => deleteSearchIndex(tx, [101]));
    for (const t of INDEX_TABLES) assert.equal(await count(t, 101), 0, t);
  });

  test('a value reached twice in one resource is indexed once, in a few rows and in thousands', async () => {
    const coding = { system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin' };
    const observation = {
      resourceType: 'Observation', id: 'o-dup', status: 'final', subject: { reference: 'Patient/p1' },
      code: { coding: [coding, { ...coding }, { system: 'http://loinc.org', code: '4548-4' }], text: 'Hemoglobin' },
      effectiveTiming: { event: ['2020-01-01', '2020-01-01'] }, // the same date twice
    } as Resource;
    const concepts = Array.from({ length: 40 }, (_, i) => ({ code: `c${i % 30}` })); // 30 codes, ten of them twice
    const codeSystem = { resourceType: 'CodeSystem', id: 'cs-dup', status: 'active', content: 'complete', concept: concepts } as Resource;
    await db.transaction((tx) =>
      writeSearchIndex(tx, [
        { rid: 106, type: 'Observation', compartment: 'p1', resource: observation },
        { rid: 107, type: 'CodeSystem', compartment: null, resource: codeSystem },
      ])
    );
    const values = async (sql: string) => (await db.query<{ v: string }>(sql)).map((r) => r.v).sort();
    assert.deepEqual(await values(`select code as v from sp_token where rid = 106 and p = 'Observation.code'`), ['4548-4', '718-7']);
    assert.deepEqual(await values(`select value as v from sp_string where rid = 106 and p = 'Observation.code:text'`), ['Hemoglobin']);
    assert.equal(await count('sp_date', 106), 1);
    assert.equal((await values(`select code as v from sp_token where rid = 107 and p = 'CodeSystem.code'`)).length, 30);
  });

  test('a batch writes many resources in one call', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({
      rid: 1000 + i,
      type: 'Observation',
      compartment: `p${i}`,
      resource: { resourceType: 'Observation', status: 'final', code: { text: `c${i}` }, subject: { reference: `Patient/p${i}` }, valueQuantity: { value: i } } as Resource,
    }));
    await db.transaction((tx) => writeSearchIndex(tx, entries));
    const rows = await db.query<{ rid: number; value: string }>(`select rid, value from sp_quantity where p = 'Observation.value-quantity' order by rid`);
    assert.deepEqual(rows.map((r) => [Number(r.rid), Number(r.value)]), entries.map((e, i) => [e.rid, i]));
  });

  test('values with tabs, line breaks and backslashes, and the text \\N, are stored as they are, not as separators or null', async () => {
    const awkward = ['tab\there', 'two\nlines', 'cr\rhere', 'back\\slash', '\\N', 'end\\'];
    const patient = { resourceType: 'Patient', id: 'p2', name: awkward.map((family) => ({ family })) } as Resource;
    await db.transaction((tx) => writeSearchIndex(tx, [{ rid: 102, type: 'Patient', compartment: 'p\t2', resource: patient }]));
    const rows = await db.query<{ value: string; compartment: string }>(`select value, compartment from sp_string where rid = 102 and p = 'Patient.family'`);
    assert.deepEqual(rows.map((r) => r.value).sort(), [...awkward].sort());
    assert.ok(rows.every((r) => r.compartment === 'p\t2'));
  });

  test('COPY through the database itself appends all the rows of every table, or none when one is refused', async () => {
    const uris = async () => (await db.query<{ value: string }>(`select value from sp_uri where rid = 103 order by value`)).map((r) => r.value);
    const tokens = async () => (await db.query<{ code: string }>(`select code from sp_token where rid = 103 order by code`)).map((r) => r.code);
    const uri = (rows: string) => ({ table: 'sp_uri', columns: ['rid', 'compartment', 'p', 'value'], rows });
    const token = (rows: string) => ({ table: 'sp_token', columns: ['rid', 'compartment', 'p', 'system', 'code'], rows });
    await db.writeBatch([uri('103\t\\N\tX.url\tu1\n103\t\\N\tX.url\tu2\n'), token('103\t\\N\tX.code\ts\tc1\n')]);
    assert.deepEqual([await uris(), await tokens()], [['u1', 'u2'], ['c1']]);
    // The second table's input is refused: the first's rows go too.
    await assert.rejects(db.writeBatch([uri('103\t\\N\tX.url\tu3\n'), token('103\t\\N\tX.code\ts\tc2\nnot-a-rid\t\\N\tX.code\ts\tc3\n')]), /not-a-rid/);
    assert.deepEqual([await uris(), await tokens()], [['u1', 'u2'], ['c1']]);
  });

  test('after a refused COPY the transaction goes on from a savepoint, on the same connection, and commits what follows', async () => {
    const uri = (rows: string) => ({ table: 'sp_uri', columns: ['rid', 'compartment', 'p', 'value'], rows });
    // The refused input is the first of three and the largest, so data is still arriving after the error.
    const many = Array.from({ length: 20_000 }, (_, i) => `104\t\\N\tX.url\tmany${i}\n`).join('');
    await db.transaction(async (tx) => {
      await tx.query('savepoint before_copy');
      await assert.rejects(tx.writeBatch([uri(`x\t\\N\tX.url\tbad\n${many}`), uri(many), uri('104\t\\N\tX.url\tlater\n')]), /"x"/);
      await tx.query('rollback to savepoint before_copy');
      await tx.writeBatch([uri('104\t\\N\tX.url\tv1\n'), uri('104\t\\N\tX.url\tv2\n')]);
      assert.deepEqual(await tx.query(`select 1 as one`), [{ one: 1 }]);
    });
    const rows = await db.query<{ value: string }>(`select value from sp_uri where rid = 104 order by value`);
    assert.deepEqual(rows.map((r) => r.value), ['v1', 'v2']);
  });

  test('a write batch that opens the transaction is undone with it when a later statement fails', async () => {
    const uri = (rows: string) => ({ table: 'sp_uri', columns: ['rid', 'compartment', 'p', 'value'], rows });
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.writeBatch([uri('105\t\\N\tX.url\tw1\n')]);
        await tx.query('select 1 / 0');
      }),
      /division by zero/
    );
    assert.deepEqual(await db.query(`select value from sp_uri where rid = 105`), []);
    // And when the batch that opens it fails itself: the transaction is rolled back, and the connections go on.
    await assert.rejects(
      db.transaction((tx) => tx.writeBatch([uri('105\t\\N\tX.url\tw2\n'), uri('not-a-rid\t\\N\tX.url\tw3\n')])),
      /not-a-rid/
    );
    for (let i = 0; i < 5; i++) await db.transaction((tx) => tx.writeBatch([uri(`105\t\\N\tX.url\tok${i}\n`)]));
    const rows = await db.query<{ value: string }>(`select value from sp_uri where rid = 105 order by value`);
    assert.deepEqual(rows.map((r) => r.value), ['ok0', 'ok1', 'ok2', 'ok3', 'ok4']);
  });

  test('a custom SearchParameter is indexed for new writes', async () => {
    registerSearchParameter({
      resourceType: 'SearchParameter',
      url: 'https://samhandling.dev/fhir/SearchParameter/patient-birthplace-test',
      name: 'birthplace',
      status: 'active',
      code: 'birthplace-test',
      base: ['Patient'],
      type: 'string',
      expression: "Patient.extension.where(url = 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace').value.ofType(Address)",
    } as any);
    const p = {
      resourceType: 'Patient',
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Tromsø' } }],
    } as Resource;
    await db.transaction((tx) => writeSearchIndex(tx, [{ rid: 2000, type: 'Patient', compartment: 'x', resource: p }]));
    const rows = await db.query<{ norm: string }>(`select norm from sp_string where rid = 2000 and p = 'Patient.birthplace-test'`);
    assert.deepEqual(rows.map((r) => r.norm), ['tromsø']);
  });

  test('a stored custom SearchParameter is loaded and reindex indexes the existing resources of a type', async () => {
    const insert = (type: string, id: string, content: object) =>
      db.query(`insert into resource (type, id, version, compartment, last_updated, content) values ($1, $2, 1, $3, now(), $4)`, [
        type, id, type === 'Patient' ? id : null, JSON.stringify({ resourceType: type, id, ...content }),
      ]);
    await insert('SearchParameter', 'sp-nickname', {
      url: 'https://samhandling.dev/fhir/SearchParameter/patient-nickname-test', name: 'nickname', status: 'active',
      code: 'nickname-test', base: ['Patient'], type: 'string', expression: "Patient.name.where(use = 'nickname').given",
    });
    await insert('Patient', 'rx1', { name: [{ use: 'nickname', given: ['Kalle'] }] });
    await insert('Observation', 'rx2', { status: 'final', code: { text: 'x' } });
    assert.equal(await loadCustomSearchParameters(db), 1);
    const { resources } = await reindex(db, { types: ['Patient'] });
    assert.equal(resources, 1);
    const rows = await db.query<{ norm: string }>(`select s.norm from sp_string s join resource r on r.rid = s.rid where r.id = 'rx1' and s.p = 'Patient.nickname-test'`);
    assert.deepEqual(rows.map((r) => r.norm), ['kalle']);
    const obsRows = await db.query(`select 1 from sp_token t join resource r on r.rid = t.rid where r.id = 'rx2'`);
    assert.equal(obsRows.length, 0, 'other types were left alone');
  });
});
