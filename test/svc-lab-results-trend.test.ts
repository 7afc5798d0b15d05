import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { chemistry, ids, startLabWorld, urineCulture, CRP_NLK, DAY, HB, type LabWorld } from './svc-lab-results-fixtures.ts';
import { startTestServer } from './helpers/server.ts';
import { DEFAULT_REFERENCE_DATE } from '../src/registry/generator.ts';
import { syntheticPopulation } from './helpers/synthetic-population.ts';
import { parseRules } from '../src/services/lab-results/settings.ts';
import { references, parseRelativeReference } from '../src/fhir/json.ts';

/**
 * The citizen's trend per analyte (search and $trend), the discipline switches for sources and
 * consumers from LAB_RESULTS_RULES, who may publish, and the synthetic lab histories.
 */
const RULES = {
  pathology: { source: false },
  immunology: { citizen: false },
  'clinical-pharmacology': { personnel: false },
  unspecified: { source: false },
  microbiology: { citizenDelayDays: 2 },
};
let w: LabWorld;
before(async () => {
  w = await startLabWorld({ LAB_RESULTS_RULES: JSON.stringify(RULES) });
});
after(async () => w?.s.close());

const get = async (path: string, headers: Record<string, string>) => w.s.fhir(path, { headers });
const enc = (c: { system: string; code: string }) => encodeURIComponent(`${c.system}|${c.code}`);
const points = (body: any) => body.parameter.filter((p: any) => p.name === 'point').map((p: any) => Object.fromEntries(p.part.map((x: any) => [x.name, x])));

test('the trend of one analyte: plain search sorted by date and $trend points with value, unit, range and flag', async () => {
  const at = (days: number) => new Date(w.clock.now.getTime() - days * DAY).toISOString();
  for (const [prefix, days, hb, crp] of [['t1', 400, 13.1, 2], ['t3', 10, 10.9, 48], ['t2', 200, 12.4, 3]] as const) {
    const r = await w.publish(chemistry(prefix, { issued: at(days), hb, crp }));
    assert.equal(r.status, 200, r.text);
  }
  await w.publish(chemistry('other', { patientId: 'ola', issued: at(5), hb: 15, crp: 1 }));
  const c = await w.as.citizen();

  const search = await get(`/Observation?patient=anna&code=${enc(HB)}&_sort=date`, c);
  assert.equal(search.status, 200, search.text);
  assert.deepEqual(ids(search.body), ['Observation/t1-hb', 'Observation/t2-hb', 'Observation/t3-hb']);

  const trend = await get(`/Observation/$trend?code=${enc(HB)}`, c);
  assert.equal(trend.status, 200, trend.text);
  const hb = points(trend.body);
  assert.deepEqual(hb.map((p: any) => p.value.valueQuantity.value), [13.1, 12.4, 10.9]);
  assert.deepEqual(hb.map((p: any) => p.flag.valueCoding.code), ['N', 'N', 'L']);
  assert.equal(hb[2].unit.valueString, 'g/dL');
  assert.equal(hb[2].low.valueQuantity.value, 11.7);
  assert.equal(hb[2].high.valueQuantity.value, 15.3);
  assert.equal(hb[0].time.valueDateTime, at(400));
  assert.equal(hb[0].observation.valueReference.reference, 'Observation/t1-hb');

  const crp = points((await get(`/Observation/$trend?code=${enc(CRP_NLK)}&patient=anna`, c)).body);
  assert.deepEqual(crp.map((p: any) => [p.value.valueQuantity.value, p.flag.valueCoding.code]), [[2, 'N'], [3, 'N'], [48, 'H']], 'by the NLK code');

  const gp = points((await get(`/Observation/$trend?code=${enc(HB)}`, await w.as.gp())).body);
  assert.equal(gp.length, 3, 'the GP, patient from nhn-patient-nin');
  const elsewhere = await get(`/Observation/$trend?code=${enc(HB)}&patient=ola`, c);
  assert.equal(elsewhere.status, 200);
  assert.deepEqual(points(elsewhere.body), [], 'another person’s results are not in my trend');
  const noCode = await get('/Observation/$trend', c);
  assert.equal(noCode.status, 400);
  assert.deepEqual(noCode.body.issue[0].expression, ['code']);
});

test('the trend follows the release rules: a result still waiting is not a point yet', async () => {
  await w.publish(chemistry('wait', { issued: w.clock.now.toISOString(), hb: 11.5, crp: 4 }));
  const until = new Date(w.clock.now.getTime() + 2 * DAY).toISOString();
  const r = await w.s.fhir('/DiagnosticReport/wait-dr/$citizen-release', {
    method: 'POST', headers: await w.as.gp(), body: { resourceType: 'Parameters', parameter: [{ name: 'decision', valueCode: 'delay' }, { name: 'until', valueDateTime: until }] },
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(points((await get(`/Observation/$trend?code=${enc(HB)}`, await w.as.citizen())).body).length, 3);
  assert.equal(points((await get(`/Observation/$trend?code=${enc(HB)}`, await w.as.gp())).body).length, 4);
  w.clock.advance(2.01);
  assert.equal(points((await get(`/Observation/$trend?code=${enc(HB)}`, await w.as.citizen())).body).length, 4);
});

test('a source whose discipline is switched off is refused, and the whole transaction with it', async () => {
  const refused = await w.publish(chemistry('pat', { issued: w.clock.now.toISOString(), hb: 1, crp: 1, discipline: ['pathology', 'SP'] }));
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.body.issue[0].details.coding[0].code, 'lab-discipline-off');
  assert.deepEqual(refused.body.issue[0].expression, ['Observation.category']);
  assert.equal((await get('/ServiceRequest/pat-sr', await w.as.gp())).status, 404, 'nothing of the transaction was stored');

  const obs = { resourceType: 'Observation', status: 'final', subject: { reference: 'Patient/anna' }, code: { text: 'Hb' }, category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }] };
  const noDiscipline = await w.s.fhir('/Observation', { method: 'POST', body: obs, headers: await w.as.lab() });
  assert.equal(noDiscipline.status, 400, noDiscipline.text);
  assert.equal(noDiscipline.body.issue[0].details.coding[0].code, 'lab-discipline-missing');
});

test('consumers do not see disciplines switched off for them', async () => {
  assert.equal((await w.publish(chemistry('imm', { issued: w.clock.now.toISOString(), hb: 1, crp: 1, discipline: ['immunology', 'IMM'] }))).status, 200);
  assert.equal((await w.publish(chemistry('pha', { issued: w.clock.now.toISOString(), hb: 1, crp: 1, discipline: ['clinical-pharmacology', 'TX'] }))).status, 200);
  w.clock.advance(30);
  const c = await w.as.citizen();
  const gp = await w.as.gp();
  assert.equal((await get('/DiagnosticReport/imm-dr', c)).status, 404, 'immunology is off for citizens');
  assert.equal((await get('/DiagnosticReport/imm-dr', gp)).status, 200, 'and on for personnel');
  assert.equal((await get('/DiagnosticReport/pha-dr', gp)).status, 404, 'clinical pharmacology is off for personnel');
  assert.equal((await get('/DiagnosticReport/pha-dr', c)).status, 200, 'and on for citizens');
  const searched = ids((await get('/DiagnosticReport?patient=anna&_count=100', gp)).body);
  assert.ok(searched.includes('DiagnosticReport/imm-dr') && !searched.includes('DiagnosticReport/pha-dr'));
});

test('the configured microbiology delay applies (2 days instead of 14)', async () => {
  assert.equal((await w.publish(urineCulture('uc', { issued: w.clock.now.toISOString() }))).status, 200);
  assert.equal((await get('/Observation/uc-org', await w.as.citizen())).status, 404);
  w.clock.advance(2.01);
  assert.equal((await get('/Observation/uc-org', await w.as.citizen())).status, 200);
});

test('laboratory personnel publish with the patient in context', async () => {
  const r = await w.s.fhir('/', { method: 'POST', body: chemistry('bylab', { issued: w.clock.now.toISOString(), hb: 14.2, crp: 1 }), headers: await w.as.labDoctor() });
  assert.equal(r.status, 200, r.text);
  assert.equal((await get('/Observation/bylab-hb', await w.as.gp())).status, 200);
});

test('citizens cannot publish lab results', async () => {
  const body = { ...chemistry('self', { issued: w.clock.now.toISOString(), hb: 1, crp: 1 }).entry![1].resource, id: undefined };
  const r = await w.s.fhir('/Observation', { method: 'POST', body, headers: await w.as.citizen() });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.issue[0].details.coding[0].code, 'lab-results-source-only');
});

test('a malformed rule table stops the server at start', async () => {
  await assert.rejects(startTestServer({ env: { LAB_RESULTS_RULES: '{"virology": {"citizenDelayDays": 1}}' } }), /unknown discipline 'virology'/);
  assert.throws(() => parseRules('{"genetics": {"citizenDelayDays": -1}}'), /citizenDelayDays/);
  assert.throws(() => parseRules('{"genetics": {"citizen": "no"}}'), /genetics.citizen must be true or false/);
});

test('synthetic lab histories: deterministic, valid, referentially whole, dated before the reference date, about five resources a citizen', async () => {
  const generate = () => syntheticPopulation({ persons: 300, seed: '42', keep: (r) => !!r.id?.startsWith('lab-') });
  const { registry, kept } = generate();
  const all = [...registry, ...kept];
  const lab = kept;
  assert.deepEqual(generate().kept, lab, 'deterministic');
  const perCitizen = lab.length / 300;
  assert.ok(perCitizen > 2 && perCitizen < 12, `resources per citizen: ${perCitizen}`);
  assert.ok(lab.some((r) => (r as any).hasMember?.length), 'microbiology with hasMember');
  assert.ok(lab.some((r) => JSON.stringify(r).includes('urn:oid:2.16.578.1.12.4.1.1.7280')), 'NLK codes');
  const known = new Set(all.map((r) => `${r.resourceType}/${r.id}`));
  for (const r of lab) {
    for (const ref of references(r)) {
      const p = parseRelativeReference(ref.value);
      if (p) assert.ok(known.has(`${p.type}/${p.id}`), `${r.resourceType}/${r.id} → ${ref.value}`);
    }
    for (const d of [(r as any).issued, (r as any).effectiveDateTime, (r as any).authoredOn]) if (d) assert.ok(d.slice(0, 10) <= DEFAULT_REFERENCE_DATE, d);
  }
  assert.equal(new Set(lab.map((r) => `${r.resourceType}/${r.id}`)).size, lab.length, 'unique ids');
  // Stored through the repository's validation (the registry itself is the registry suite's business).
  const counts = await w.s.platform.repo.putMany(lab.slice(0, 400), { referentialIntegrity: false });
  assert.equal(counts.created, 400);
});
