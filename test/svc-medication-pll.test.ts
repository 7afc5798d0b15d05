import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { accessLog, HPR, NIN, prescription, startWorld, type World } from './svc-medication-fixtures.ts';

/** The patient's medication list (PLL) over HTTP with real tokens: reconciliation, versions, refusals, pause. */
let w: World;
let statin: any;
let metformin: any;
before(async () => {
  w = await startWorld();
  const gp = await w.as.gp(NIN.adult);
  statin = (await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult'), headers: gp })).body;
  metformin = (await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult', { drug: 'fest-metformin-500' }), headers: gp })).body;
});
after(async () => w?.s.close());

const parameters = (...entries: any[]) => ({ resourceType: 'Parameters', parameter: entries.map((resource) => ({ name: 'entry', resource })) });
const entry = (drug: string, o: { rx?: string; status?: string; id?: string; immediate?: boolean } = {}) => ({
  resourceType: 'MedicationStatement',
  ...(o.id ? { identifier: [{ system: 'https://samhandling.dev/fhir/NamingSystem/pll-entry', value: o.id }] } : {}),
  status: o.status ?? 'active',
  ...(o.immediate ? { statusReason: [{ coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/pll-discontinuation', code: 'immediate' }] }] } : {}),
  medicationReference: { reference: `Medication/${drug}` },
  subject: { reference: 'Patient/m-adult' },
  ...(o.rx ? { basedOn: [{ reference: `MedicationRequest/${o.rx}` }] } : {}),
  dosage: [{ text: '1 tablett daglig' }],
});
const ofType = (bundle: any, type: string) => bundle.entry.map((e: any) => e.resource).filter((r: any) => r.resourceType === type);
const pllOf = (bundle: any) => ofType(bundle, 'List').find((l: any) => l.code.coding[0].code === 'pll');
const looseOf = (bundle: any) => ofType(bundle, 'List').find((l: any) => l.code.coding[0].code === 'loose-prescriptions');
const submit = async (headers: Record<string, string>, body: any, version?: string) =>
  w.s.fhir('/$medication-list', { method: 'POST', body, headers: { ...headers, ...(version ? { 'if-match': version } : {}) } });

test('before any list, every active prescription is a løse resept flagged for reconciliation', async () => {
  const res = await w.s.fhir('/$medication-list', { headers: await w.as.doctor(NIN.adult) });
  assert.equal(res.status, 200, res.text);
  assert.equal(pllOf(res.body), undefined);
  assert.deepEqual(looseOf(res.body).entry.map((e: any) => e.item.reference).sort(), [`MedicationRequest/${metformin.id}`, `MedicationRequest/${statin.id}`].sort());
});

test('a nurse may not submit the list; vaccines, foods and consumables are refused as entries', async () => {
  const nurse = await submit(await w.as.nurse(NIN.adult), parameters(entry('fest-atorvastatin-20', { rx: statin.id })));
  assert.equal(nurse.status, 403, nurse.text);
  assert.equal(nurse.body.issue[0].details.coding[0].code, 'pll-doctors-only');
  const doctor = await w.as.doctor(NIN.adult);
  for (const drug of ['fest-influensavaksine', 'fest-nutridrink-compact', 'fest-blodsukkerstrimler']) {
    const res = await submit(doctor, parameters(entry('fest-atorvastatin-20', { rx: statin.id }), entry(drug)));
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body.issue[0].details.coding[0].code, 'pll-excluded-product');
    assert.deepEqual(res.body.issue[0].expression, ['Parameters.parameter[1].resource.medication']);
  }
  assert.equal(pllOf((await w.s.fhir('/$medication-list', { headers: doctor })).body), undefined, 'nothing was stored');
});

test('a hospital doctor reconciles under SAMTYKKE; a second doctor’s stale reconciliation is refused; every version stays readable', async () => {
  const doctor = await w.as.doctor(NIN.adult);
  const first = await submit(doctor, parameters(entry('fest-atorvastatin-20', { rx: statin.id })));
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('etag'), 'W/"1"');
  assert.deepEqual(looseOf(first.body).entry.map((e: any) => e.item.reference), [`MedicationRequest/${metformin.id}`], 'metformin is still loose');

  // Both doctors read version 1.
  const read = await w.s.fhir('/$medication-list', { headers: doctor });
  const version = read.headers.get('etag')!;
  const [statement] = ofType(read.body, 'MedicationStatement');
  const uuid = statement.identifier[0].value;
  assert.equal(statement.id, uuid);

  const reconciled = await submit(doctor, parameters(entry('fest-atorvastatin-20', { rx: statin.id, id: uuid }), entry('fest-metformin-500', { rx: metformin.id })), version);
  assert.equal(reconciled.status, 200, reconciled.text);
  assert.equal(reconciled.headers.get('etag'), 'W/"2"');
  assert.equal(looseOf(reconciled.body).entry, undefined, 'no løse resepter left: an empty list has no entry element');
  const kept = ofType(reconciled.body, 'MedicationStatement').find((s: any) => s.id === uuid);
  assert.equal(kept.meta.versionId, '1', 'an unchanged entry keeps its UUID and version');

  const stale = await submit(await w.as.doctor(NIN.adult, HPR.doctor2), parameters(entry('fest-atorvastatin-20', { rx: statin.id, id: uuid })), version);
  assert.equal(stale.status, 412, stale.text);
  assert.equal(stale.body.issue[0].details.coding[0].code, 'pll-stale-version');
  assert.match(stale.body.issue[0].diagnostics, /version 2.*based on version 1/);
  const noVersion = await submit(doctor, parameters(entry('fest-atorvastatin-20', { rx: statin.id, id: uuid })));
  assert.equal(noVersion.status, 428, noVersion.text);

  const v1 = await w.s.fhir(`/List/pll-m-adult/_history/1`, { headers: doctor });
  assert.equal(v1.status, 200, v1.text);
  assert.equal(v1.body.entry.length, 1);
  const history = await w.s.fhir(`/List/pll-m-adult/_history`, { headers: doctor });
  assert.deepEqual(history.body.entry.map((e: any) => e.resource.meta.versionId), ['2', '1']);
});

test('entries keep their UUIDs: an unknown UUID or an entry left out is refused', async () => {
  const doctor = await w.as.doctor(NIN.adult);
  const read = await w.s.fhir('/$medication-list', { headers: doctor });
  const version = read.headers.get('etag')!;
  const [a, b] = ofType(read.body, 'MedicationStatement');
  const unknown = await submit(doctor, parameters({ ...entry('fest-atorvastatin-20', { id: '0b8f5c1e-0000-4000-8000-000000000000' }) }, entry('fest-atorvastatin-20', { id: a.id, rx: statin.id }), entry('fest-metformin-500', { id: b.id, rx: metformin.id })), version);
  assert.equal(unknown.status, 400, unknown.text);
  assert.equal(unknown.body.issue[0].details.coding[0].code, 'pll-unknown-entry');
  const missing = await submit(doctor, parameters(entry('fest-atorvastatin-20', { id: a.id, rx: statin.id })), version);
  assert.equal(missing.status, 400, missing.text);
  assert.equal(missing.body.issue[0].details.coding[0].code, 'pll-entry-missing');
  const twice = await submit(doctor, parameters(entry('fest-atorvastatin-20', { id: a.id, rx: statin.id }), entry('fest-metformin-500', { id: b.id, rx: metformin.id }), entry('fest-atorvastatin-40', { rx: statin.id })), version);
  assert.equal(twice.status, 400, twice.text);
  assert.equal(twice.body.issue[0].details.coding[0].code, 'pll-duplicate-prescription');
});

test('immediate discontinuation revokes the prescription; the discontinued entry stays 90 days, then drops off', async () => {
  const doctor = await w.as.doctor(NIN.adult);
  const read = await w.s.fhir('/$medication-list', { headers: doctor });
  const statements = ofType(read.body, 'MedicationStatement');
  const metforminEntry = statements.find((s: any) => s.basedOn?.[0].reference === `MedicationRequest/${metformin.id}`);
  const statinEntry = statements.find((s: any) => s.basedOn?.[0].reference === `MedicationRequest/${statin.id}`);
  const res = await submit(doctor, parameters(entry('fest-atorvastatin-20', { id: statinEntry.id, rx: statin.id }), entry('fest-metformin-500', { id: metforminEntry.id, rx: metformin.id, status: 'stopped', immediate: true })), read.headers.get('etag')!);
  assert.equal(res.status, 200, res.text);
  const revoked = await w.s.fhir(`/MedicationRequest/${metformin.id}`, { headers: doctor });
  assert.equal(revoked.body.status, 'cancelled');
  const dispense = await w.s.fhir(`/MedicationRequest/${metformin.id}/$dispense`, { method: 'POST', headers: await w.as.pharmacist(NIN.adult) });
  assert.equal(dispense.status, 409, dispense.text);

  w.clock.advanceDays(89);
  try {
    const within = await w.s.fhir('/$medication-list', { headers: doctor });
    assert.ok(ofType(within.body, 'MedicationStatement').some((s: any) => s.id === metforminEntry.id), 'still there on day 89');
    w.clock.advanceDays(2);
    const after = await w.s.fhir('/$medication-list', { headers: doctor });
    assert.ok(!ofType(after.body, 'MedicationStatement').some((s: any) => s.id === metforminEntry.id), 'gone after 90 days');
    assert.ok(pllOf(after.body).meta.tag.some((t: any) => t.code === 'SUBSETTED'));
    // The next reconciliation leaves it out of the stored version too.
    const next = await submit(doctor, parameters(entry('fest-atorvastatin-20', { id: statinEntry.id, rx: statin.id })), after.headers.get('etag')!);
    assert.equal(next.status, 200, next.text);
    assert.equal(pllOf(next.body).entry.length, 1);
  } finally {
    w.clock.advanceDays(-91);
  }
});

test('pause and resume: a paused list is shown as paused and cannot be reconciled; only doctors pause', async () => {
  const doctor = await w.as.doctor(NIN.adult);
  const nurse = await w.s.fhir('/$medication-list-pause', { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'Innlagt' }] }, headers: await w.as.nurse(NIN.adult) });
  assert.equal(nurse.status, 403, nurse.text);
  const noReason = await w.s.fhir('/$medication-list-pause', { method: 'POST', body: { resourceType: 'Parameters' }, headers: doctor });
  assert.equal(noReason.status, 400, noReason.text);
  const paused = await w.s.fhir('/$medication-list-pause', { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'Innlagt på sykehus; legemidler styres av sykehuset' }] }, headers: doctor });
  assert.equal(paused.status, 200, paused.text);
  const marker = paused.body.extension.find((e: any) => e.url.endsWith('pll-paused'));
  assert.equal(marker.extension.find((e: any) => e.url === 'by').valueReference.reference, 'Practitioner/m-pr-doctor');

  const citizenView = await w.s.fhir('/$medication-list', { headers: await w.as.citizen(NIN.adult) });
  assert.ok(pllOf(citizenView.body).extension.some((e: any) => e.url.endsWith('pll-paused')), 'the citizen sees the pause');
  const blocked = await submit(doctor, parameters(), citizenView.headers.get('etag')!);
  assert.equal(blocked.status, 409, blocked.text);
  assert.equal(blocked.body.issue[0].details.coding[0].code, 'pll-paused');

  const resumed = await w.s.fhir('/$medication-list-resume', { method: 'POST', headers: await w.as.gp(NIN.adult) });
  assert.equal(resumed.status, 200, resumed.text);
  assert.ok(!resumed.body.extension?.some((e: any) => e.url.endsWith('pll-paused')));
  const twice = await w.s.fhir('/$medication-list-resume', { method: 'POST', headers: doctor });
  assert.equal(twice.status, 409, twice.text);
});

test('the PLL is written only through its operations', async () => {
  const doctor = await w.as.doctor(NIN.adult);
  const list = (await w.s.fhir('/List/pll-m-adult', { headers: doctor })).body;
  const put = await w.s.fhir('/List/pll-m-adult', { method: 'PUT', body: { ...list, entry: undefined }, headers: doctor });
  assert.equal(put.status, 403, put.text);
  assert.equal(put.body.issue[0].details.coding[0].code, 'pll-via-operation');
  const uncoded = await w.s.fhir('/List/pll-m-adult', { method: 'PUT', body: { ...list, code: undefined, entry: undefined }, headers: doctor });
  assert.equal(uncoded.status, 403, uncoded.text);
  // $validate mode=delete answers with the service's own refusal, and deletes nothing.
  const wouldDelete = await w.s.fhir('/List/pll-m-adult/$validate?mode=delete', { method: 'POST', headers: doctor });
  assert.equal(wouldDelete.status, 200, wouldDelete.text);
  assert.deepEqual(wouldDelete.body.issue.map((i: any) => [i.severity, i.details.coding[0].code]), [['error', 'pll-via-operation']]);
  assert.equal((await w.s.fhir('/List/pll-m-adult', { headers: doctor })).body.meta.versionId, list.meta.versionId);
  // A PLL statement cannot be rewritten outside the PLL either, and the PLL version is unchanged.
  const before = await w.s.fhir('/$medication-list', { headers: doctor });
  const [entry] = ofType(before.body, 'MedicationStatement');
  const { identifier: _id, ...plain } = entry;
  const rewritten = await w.s.fhir(`/MedicationStatement/${entry.id}`, { method: 'PUT', body: { ...plain, dosage: [{ text: '10 tabletter' }] }, headers: doctor });
  assert.equal(rewritten.status, 403, rewritten.text);
  assert.equal(rewritten.body.issue[0].details.coding[0].code, 'pll-via-operation');
  const after = await w.s.fhir('/$medication-list', { headers: doctor });
  assert.deepEqual(ofType(after.body, 'MedicationStatement').find((s: any) => s.id === entry.id), entry);
  assert.equal(after.headers.get('etag'), before.headers.get('etag'));
});

test('the citizen reads their own PLL, and every access to it is in the citizen’s access log', async () => {
  const mine = await w.s.fhir('/$medication-list', { headers: await w.as.citizen(NIN.adult) });
  assert.equal(mine.status, 200, mine.text);
  assert.ok(pllOf(mine.body));
  assert.ok(ofType(mine.body, 'MedicationStatement').length >= 1);
  const other = await w.s.fhir('/$medication-list', { headers: { ...(await w.as.citizen(NIN.adult)), 'nhn-patient-nin': NIN.other } });
  assert.equal(other.status, 403, other.text);

  const log = await accessLog(w, NIN.adult);
  const medication = (e: any) => e.what.some((x: any) => x.service === 'medication');
  const by = (hpr: string, outcome: 'success' | 'refused') =>
    log.filter((e) => e.who.id === hpr && (outcome === 'success' ? e.outcome === 'success' && medication(e) : e.outcome !== 'success'));
  assert.ok(by(HPR.doctor, 'success').length >= 5, 'the hospital doctor’s reads and reconciliations');
  assert.ok(by(HPR.doctor2, 'refused').length >= 1, 'the second doctor’s stale attempt');
  assert.ok(by(HPR.nurse, 'refused').length >= 2, 'the nurse’s refused submissions');
  assert.ok(by(HPR.gp, 'success').length >= 1, 'the GP’s resume');
  assert.ok(log.some((e) => e.who.kind === 'citizen' && e.outcome === 'success' && medication(e)), 'the citizen’s own read');
});
