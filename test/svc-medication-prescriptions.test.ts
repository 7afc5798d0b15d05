import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { accessLog, HPR, NIN, ORG, prescription, startWorld, type World } from './svc-medication-fixtures.ts';

/** E-prescriptions over HTTP with real tokens: prescribe, dispense, count down, expire, revoke, renew, block. */
let w: World;
before(async () => {
  w = await startWorld();
});
after(async () => w?.s.close());

const param = (body: any, name: string) => body.parameter.find((p: any) => p.name === name);

test('a GP prescribes from the catalogue; the server stamps prescriber, prescription id, validity and dispenses left', async () => {
  const res = await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult', { repeats: 2 }), headers: await w.as.gp(NIN.adult) });
  assert.equal(res.status, 201, res.text);
  const mr = res.body;
  assert.equal(mr.requester.reference, 'Practitioner/m-pr-gp');
  assert.equal(mr.medicationReference.display, 'Atorvastatin 20 mg', 'named from the catalogue, for readers who cannot read it');
  assert.equal(mr.identifier.find((i: any) => i.system.endsWith('prescription-id')).value, mr.id);
  assert.ok(mr.dispenseRequest.validityPeriod.start && mr.dispenseRequest.validityPeriod.end);
  assert.equal(mr.extension.find((e: any) => e.url.endsWith('remaining-dispenses')).valueUnsignedInt, 3);
  // The operations' routes leave the plain REST routes of the type working.
  const gp = await w.as.gp(NIN.adult);
  const searched = await w.s.fhir('/MedicationRequest/_search', { method: 'POST', body: 'patient=m-adult', headers: { ...gp, 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(searched.status, 200, searched.text);
  assert.ok(searched.body.entry.some((e: any) => e.resource.id === mr.id));
  const validated = await w.s.fhir(`/MedicationRequest/${mr.id}/$validate`, { method: 'POST', body: mr, headers: gp });
  assert.equal(validated.status, 200, validated.text);
  assert.equal((await w.s.fhir(`/MedicationRequest/${mr.id}/_history`, { headers: gp })).status, 200);
});

test('a drug outside the catalogue is refused with the FHIRPath of the medication', async () => {
  const body: any = prescription('m-adult');
  body.medicationReference = undefined;
  body.medicationCodeableConcept = { coding: [{ system: 'http://www.whocc.no/atc', code: 'Z99ZZ99' }], text: 'Ukjent' };
  const res = await w.s.fhir('/MedicationRequest', { method: 'POST', body, headers: await w.as.gp(NIN.adult) });
  assert.equal(res.status, 422, res.text);
  const issue = res.body.issue[0];
  assert.equal(issue.details.coding[0].code, 'medication-not-in-catalogue');
  assert.deepEqual(issue.expression, ['MedicationRequest.medication']);
});

test('a nurse may not prescribe; a pharmacist may not write a dispense or change a prescription outside $dispense', async () => {
  const nurse = await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult'), headers: await w.as.nurse(NIN.adult) });
  assert.equal(nurse.status, 403, nurse.text);
  assert.equal(nurse.body.issue[0].details.coding[0].code, 'prescriber-required');
  const created = await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult'), headers: await w.as.gp(NIN.adult) });
  const direct = await w.s.fhir('/MedicationDispense', {
    method: 'POST',
    body: { resourceType: 'MedicationDispense', status: 'completed', subject: { reference: 'Patient/m-adult' }, medicationReference: created.body.medicationReference },
    headers: await w.as.pharmacist(NIN.adult),
  });
  assert.equal(direct.status, 403, direct.text);
  assert.equal(direct.body.issue[0].details.coding[0].code, 'dispense-via-operation');
  const changed = await w.s.fhir(`/MedicationRequest/${created.body.id}`, { method: 'PUT', body: { ...created.body, status: 'completed' }, headers: await w.as.gp(NIN.adult) });
  assert.equal(changed.status, 403, changed.text);
  assert.equal(changed.body.issue[0].details.coding[0].code, 'prescription-immutable');
});

test('a pharmacy dispenses: the remaining count drops and stops at zero', async () => {
  const mr = (await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult', { repeats: 1 }), headers: await w.as.gp(NIN.adult) })).body;
  const pharmacy = await w.as.pharmacist(NIN.adult);
  const first = await w.s.fhir(`/MedicationRequest/${mr.id}/$dispense`, { method: 'POST', headers: pharmacy });
  assert.equal(first.status, 201, first.text);
  assert.equal(param(first.body, 'remaining').valueInteger, 1);
  const dispense = param(first.body, 'dispense').resource;
  assert.equal(dispense.authorizingPrescription[0].reference, `MedicationRequest/${mr.id}`);
  assert.equal(dispense.performer[0].actor.reference, 'Practitioner/m-pr-pharmacist');
  const second = await w.s.fhir(`/MedicationRequest/${mr.id}/$dispense`, { method: 'POST', headers: pharmacy });
  assert.equal(param(second.body, 'remaining').valueInteger, 0);
  assert.equal(param(second.body, 'prescription').resource.status, 'completed');
  const third = await w.s.fhir(`/MedicationRequest/${mr.id}/$dispense`, { method: 'POST', headers: pharmacy });
  assert.equal(third.status, 409, third.text);
  const read = await w.s.fhir(`/MedicationRequest/${mr.id}`, { headers: await w.as.gp(NIN.adult) });
  assert.equal(read.body.extension.find((e: any) => e.url.endsWith('remaining-dispenses')).valueUnsignedInt, 0);
  const dispenses = await w.s.fhir(`/MedicationDispense?prescription=${mr.id}`, { headers: await w.as.gp(NIN.adult) });
  assert.equal(dispenses.body.entry.length, 2);
});

test('two concurrent dispenses of the last one: exactly one wins', async () => {
  const mr = (await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult', { repeats: 0 }), headers: await w.as.gp(NIN.adult) })).body;
  const pharmacy = await w.as.pharmacist(NIN.adult);
  const results = await Promise.all([1, 2].map(() => w.s.fhir(`/MedicationRequest/${mr.id}/$dispense`, { method: 'POST', headers: pharmacy })));
  assert.deepEqual(results.map((r) => r.status).sort(), [201, 409], results.map((r) => r.text).join('\n'));
  const dispenses = await w.s.fhir(`/MedicationDispense?prescription=${mr.id}`, { headers: await w.as.gp(NIN.adult) });
  assert.equal(dispenses.body.entry.length, 1);
});

test('a doctor may not dispense; no dispensing after the validity period', async () => {
  const mr = (await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult', { validTo: new Date(w.clock.now.getTime() + 10 * 86_400_000).toISOString().slice(0, 10) }), headers: await w.as.gp(NIN.adult) })).body;
  const doctor = await w.s.fhir(`/MedicationRequest/${mr.id}/$dispense`, { method: 'POST', headers: await w.as.gp(NIN.adult) });
  assert.equal(doctor.status, 403, doctor.text);
  assert.equal(doctor.body.issue[0].details.coding[0].code, 'pharmacist-required');
  const notAPharmacy = await w.s.fhir(`/MedicationRequest/${mr.id}/$dispense`, { method: 'POST', headers: await w.as.pharmacistAt(ORG.hospital, NIN.adult) });
  assert.equal(notAPharmacy.status, 403, notAPharmacy.text);
  assert.equal(notAPharmacy.body.issue[0].details.coding[0].code, 'not-a-pharmacy');
  w.clock.advanceDays(12);
  try {
    const late = await w.s.fhir(`/MedicationRequest/${mr.id}/$dispense`, { method: 'POST', headers: await w.as.pharmacist(NIN.adult) });
    assert.equal(late.status, 409, late.text);
    assert.equal(late.body.issue[0].details.coding[0].code, 'prescription-expired');
  } finally {
    w.clock.advanceDays(-12);
  }
});

test('revocation: a revoked prescription cannot be dispensed', async () => {
  const mr = (await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult'), headers: await w.as.gp(NIN.adult) })).body;
  const revoked = await w.s.fhir(`/MedicationRequest/${mr.id}/$revoke`, { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'Bivirkninger' }] }, headers: await w.as.gp(NIN.adult) });
  assert.equal(revoked.status, 200, revoked.text);
  assert.equal(revoked.body.status, 'cancelled');
  assert.equal(revoked.body.statusReason.text, 'Bivirkninger');
  const dispense = await w.s.fhir(`/MedicationRequest/${mr.id}/$dispense`, { method: 'POST', headers: await w.as.pharmacist(NIN.adult) });
  assert.equal(dispense.status, 409, dispense.text);
  assert.equal(dispense.body.issue[0].details.coding[0].code, 'prescription-not-active');
});

test('renewal with change: the new prescription replaces the old one, which stops', async () => {
  const old = (await w.s.fhir('/MedicationRequest', { method: 'POST', body: prescription('m-adult'), headers: await w.as.gp(NIN.adult) })).body;
  const res = await w.s.fhir(`/MedicationRequest/${old.id}/$renew`, {
    method: 'POST',
    body: { resourceType: 'Parameters', parameter: [{ name: 'prescription', resource: prescription('m-adult', { drug: 'fest-atorvastatin-40', repeats: 3 }) }] },
    headers: await w.as.gp(NIN.adult),
  });
  assert.equal(res.status, 201, res.text);
  const renewed = param(res.body, 'prescription').resource;
  assert.equal(renewed.priorPrescription.reference, `MedicationRequest/${old.id}`);
  assert.equal(renewed.medicationReference.reference, 'Medication/fest-atorvastatin-40');
  assert.equal(param(res.body, 'replaced').resource.status, 'stopped');
  const again = await w.s.fhir(`/MedicationRequest/${old.id}/$renew`, {
    method: 'POST',
    body: { resourceType: 'Parameters', parameter: [{ name: 'prescription', resource: prescription('m-adult') }] },
    headers: await w.as.gp(NIN.adult),
  });
  assert.equal(again.status, 409, again.text);
});

test('a drug reaction recorded while prescribing lands as critical information in the same transaction', async () => {
  const reaction = { resourceType: 'AllergyIntolerance', reaction: [{ manifestation: [{ text: 'Muskelsmerter' }] }], code: { coding: [{ system: 'http://www.whocc.no/atc', code: 'C10AA01', display: 'simvastatin' }] } };
  const res = await w.s.fhir('/MedicationRequest/$prescribe', {
    method: 'POST',
    body: { resourceType: 'Parameters', parameter: [{ name: 'prescription', resource: prescription('m-adult', { drug: 'fest-rosuvastatin-10' }) }, { name: 'drugReaction', resource: reaction }] },
    headers: await w.as.gp(NIN.adult),
  });
  assert.equal(res.status, 201, res.text);
  const allergy = param(res.body, 'drugReaction').resource;
  assert.deepEqual(allergy.category, ['medication']);
  assert.ok(allergy.meta.profile.includes('https://samhandling.dev/fhir/StructureDefinition/KjAllergyIntolerance'));
  assert.equal(allergy.recorder.reference, 'Practitioner/m-pr-gp');
  assert.equal(allergy.patient.reference, 'Patient/m-adult');
  // The pharmacy then sees the reaction.
  const seen = await w.s.fhir(`/AllergyIntolerance?patient=m-adult`, { headers: await w.as.pharmacist(NIN.adult) });
  assert.ok(seen.body.entry.some((e: any) => e.resource.id === allergy.id), seen.text);
  // A refused prescription leaves no reaction behind (one transaction).
  const before = (await w.s.fhir(`/AllergyIntolerance?patient=m-adult&_total=accurate`, { headers: await w.as.gp(NIN.adult) })).body.total;
  const bad = await w.s.fhir('/MedicationRequest/$prescribe', {
    method: 'POST',
    body: { resourceType: 'Parameters', parameter: [{ name: 'prescription', resource: prescription('m-adult', { drug: 'fest-finnes-ikke' }) }, { name: 'drugReaction', resource: reaction }] },
    headers: await w.as.gp(NIN.adult),
  });
  assert.equal(bad.status, 422, bad.text);
  assert.equal((await w.s.fhir(`/AllergyIntolerance?patient=m-adult&_total=accurate`, { headers: await w.as.gp(NIN.adult) })).body.total, before);
});

test('the citizen reads their own prescriptions; a prescriber the citizen blocks sees nothing; all of it is in the access log', async () => {
  const mine = await w.s.fhir('/MedicationRequest?patient=m-adult', { headers: await w.as.citizen(NIN.adult) });
  assert.equal(mine.status, 200, mine.text);
  assert.ok(mine.body.entry.length >= 5);
  const seenByDoctor = await w.s.fhir('/MedicationRequest?patient=m-adult', { headers: await w.as.doctor(NIN.adult) });
  assert.equal(seenByDoctor.status, 200, seenByDoctor.text);
  const consent = (await w.s.fhir('/$privacy-settings', { headers: await w.as.citizen(NIN.adult) })).body;
  consent.provision = {
    type: 'deny',
    provision: [{ type: 'deny', action: [{ coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/privacy-action', code: 'block' }] }], actor: [{ role: { text: 'blocked' }, reference: { identifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.4', value: HPR.doctor } } }] }],
  };
  const put = await w.s.fhir('/$privacy-settings', { method: 'PUT', body: consent, headers: await w.as.citizen(NIN.adult) });
  assert.equal(put.status, 200, put.text);
  try {
    const blocked = await w.s.fhir('/MedicationRequest?patient=m-adult', { headers: await w.as.doctor(NIN.adult) });
    assert.equal(blocked.status, 403, blocked.text);
    assert.equal(blocked.body.issue[0].details.coding[0].code, 'blocked-by-patient');
    const read = await w.s.fhir(`/MedicationRequest/${mine.body.entry[0].resource.id}`, { headers: await w.as.doctor(NIN.adult) });
    assert.equal(read.status, 403, read.text);
    const pll = await w.s.fhir('/$medication-list', { headers: await w.as.doctor(NIN.adult) });
    assert.equal(pll.status, 403, pll.text);
    // The GP is not blocked.
    assert.equal((await w.s.fhir('/MedicationRequest?patient=m-adult', { headers: await w.as.gp(NIN.adult) })).status, 200);
  } finally {
    const open = (await w.s.fhir('/$privacy-settings', { headers: await w.as.citizen(NIN.adult) })).body;
    delete open.provision.provision;
    await w.s.fhir('/$privacy-settings', { method: 'PUT', body: open, headers: await w.as.citizen(NIN.adult) });
  }
  const log = await accessLog(w, NIN.adult);
  const medication = (e: any) => e.what.some((x: any) => x.service === 'medication');
  assert.ok(log.some((e) => e.who.id === HPR.gp && e.action === 'C' && e.outcome === 'success' && medication(e)), 'the GP’s prescribing');
  assert.ok(log.some((e) => e.who.id === HPR.pharmacist && e.outcome === 'success' && medication(e)), 'the pharmacy’s dispensing');
  assert.ok(log.some((e) => e.who.id === HPR.doctor && e.outcome === 'success' && medication(e)), 'the doctor’s search before the block');
  assert.ok(log.filter((e) => e.who.id === HPR.doctor && e.outcome === 'denied').length >= 3, 'the blocked doctor’s refused attempts');
  assert.ok(log.some((e) => e.who.kind === 'citizen' && e.outcome === 'success' && medication(e)), 'the citizen’s own read');
});
