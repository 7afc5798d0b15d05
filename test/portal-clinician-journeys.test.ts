import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { browserSkip, describeViolations, PEOPLE, PRACTITIONERS, startPortal, type PortalHarness } from './helpers/browser.ts';
import { drugReaction, journalDocument, labReport } from './helpers/portal-data.ts';
import { NO_PRIVACY_SETTINGS, savePrivacy } from '../src/access/privacy.ts';

/**
 * The clinician view (/clinician) in the browser, logged in through the dev server's practitioner
 * login: a blocked GP is refused with a clear message, an emergency lookup needs a reason and shows
 * in the citizen's access log, a doctor registers a drug reaction and reconciles the medication
 * list against the version read, and a restricted document is a hidden count, not content.
 * axe-core runs on every page; screenshots go to test-artifacts/.
 */
let h: PortalHarness;
let patientId: string;
const PATIENT = PEOPLE.parent;
const DOCTOR = PRACTITIONERS.hospitalDoctor;
const GP = PRACTITIONERS.gp;
const NURSE = { hpr: PRACTITIONERS.nurse.hpr, org: DOCTOR.org };

before(async () => {
  if (browserSkip) return;
  h = await startPortal();
  patientId = await h.patientId(PATIENT);
  const restricted = journalDocument({ id: 'kj-doc-restricted', patientId, date: '2025-04-02', title: 'Psykolognotat' }) as any;
  restricted.meta.security = [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }, { system: 'urn:oid:2.16.578.1.12.4.1.1.9603', code: 'NORS' }];
  await h.server.platform.repo.putMany([
    journalDocument({ id: 'kj-doc', patientId, date: '2025-03-10', title: 'Epikrise fra medisinsk avdeling' }),
    restricted,
    ...labReport({ id: 'kj-lab', patientId, date: '2025-05-01', values: { hba1c: 52, crp: 3 } }),
    {
      resourceType: 'MedicationRequest',
      id: 'kj-rx',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${patientId}` },
      medicationCodeableConcept: { coding: [{ system: 'http://www.whocc.no/atc', code: 'C09AA05', display: 'Ramipril' }], text: 'Ramipril 5 mg tablett' },
      authoredOn: '2025-05-01',
      dosageInstruction: [{ text: '1 tablett morgen' }],
      dispenseRequest: { numberOfRepeatsAllowed: 3, validityPeriod: { start: '2025-05-01', end: '2026-05-01' } },
    } as Resource,
  ]);
});
after(async () => h?.close());

async function axeClean(name: string) {
  const v = await h.axe();
  assert.deepEqual(v, [], describeViolations(name, v));
}

/** Logs in at /clinician through the practitioner login page: search the HPR number, pick the workplace and purpose. */
async function clinicianLogin(who: { hpr: string; org: string }, purpose = 'TREAT', shot?: string) {
  const { page } = h;
  await page.goto(`${h.origin}/clinician`);
  const logout = page.getByTestId('logout');
  if (await logout.count()) await logout.click();
  await page.getByTestId('login').waitFor();
  if (shot) await axeClean('clinician welcome page');
  await page.getByTestId('login').click();
  await page.waitForURL(/\/oidc\/interaction\//);
  await page.getByLabel(/Søk på HPR-nummer eller navn/).fill(who.hpr);
  await page.getByRole('button', { name: 'Søk' }).click();
  await page.locator(`input[name="workplace"][value^="${who.hpr}|${who.org}|"]`).first().check();
  await page.locator(`input[name="purpose"][value="${purpose}"]`).check();
  if (shot) {
    await axeClean('practitioner login page');
    await h.screenshot(shot);
  }
  await page.getByRole('button', { name: 'Logg inn' }).click();
  await page.waitForURL((u) => u.pathname === '/clinician');
  await h.waitFor('[data-testid="lookup-nin"]', 'clinician-lookup');
  assert.match(await page.getByTestId('clinician-user').innerText(), new RegExp(`HPR ${who.hpr}.*${who.org}.*${purpose}`));
}

async function lookUp(nin: string, basis: string, reason?: string) {
  const { page } = h;
  if (await page.getByTestId('new-lookup').count()) await page.getByTestId('new-lookup').first().click();
  await page.getByTestId('lookup-nin').fill(nin);
  await page.getByTestId(`basis-${basis}`).check();
  if (reason !== undefined) await page.getByTestId('lookup-reason').fill(reason);
  await page.getByTestId('lookup-submit').click();
}

test('a doctor looks a patient up with consent, sees the record, registers a drug reaction and reconciles the medication list', { skip: browserSkip }, async () => {
  const { page } = h;
  await clinicianLogin(DOCTOR, 'TREAT', 'clinician-login-page');
  await axeClean('lookup form');
  await h.screenshot('clinician-lookup');
  await lookUp(PATIENT, 'SAMTYKKE');
  await h.waitFor('[data-testid="patient-name"]', 'clinician-record');
  await h.waitFor('[data-testid="lab-results"]', 'clinician-lab');
  assert.match(await page.getByTestId('lab-results').innerText(), /HbA1c/);
  await h.waitFor('[data-testid="documents"]', 'clinician-documents');
  assert.match(await page.getByTestId('documents').innerText(), /Epikrise fra medisinsk avdeling/);

  // Register a drug reaction (doctors only): it is listed after saving.
  const form = page.getByTestId('register-drug-reaction');
  await form.getByLabel(/ATC-kode/).fill('J01CE02');
  await form.getByLabel('Navn på legemiddel').fill('Fenoksymetylpenicillin');
  await form.getByLabel(/Reaksjon/).fill('Urtikaria');
  await form.getByLabel('Sikkerhet').selectOption('confirmed');
  await page.getByTestId('register-submit').click();
  await h.waitFor('[data-testid="register-saved"]', 'drug-reaction-saved');
  await page.getByTestId('drug-reactions').getByText(/Fenoksymetylpenicillin/).waitFor();
  assert.match(await page.getByTestId('drug-reactions').innerText(), /Urtikaria.*Bekreftet.*Aktiv/s);
  const stored = await h.server.platform.db.query<{ content: string }>(`select content from resource where type = 'AllergyIntolerance' and compartment = $1`, [patientId]);
  const reaction = stored.map((r) => JSON.parse(r.content)).find((r) => r.code?.coding?.[0]?.code === 'J01CE02');
  assert.ok(reaction, 'the drug reaction is stored');
  assert.deepEqual(reaction.meta.profile, ['https://samhandling.dev/fhir/StructureDefinition/KjAllergyIntolerance']);
  assert.match(reaction.recorder.reference, /^Practitioner\//);

  // Reconcile the PLL: the loose prescription is taken onto the list; the first version is made.
  await h.waitFor('[data-testid="pll-reconcile"]', 'pll-form');
  assert.match(await page.getByTestId('pll-loose').innerText(), /Ramipril/);
  await page.getByTestId('pll-submit').click();
  await page.getByText('Bekreft at du har sammenlignet listen før du sender.').waitFor();
  await page.getByTestId('pll-reconcile').getByLabel(/Ramipril/).check();
  await page.getByTestId('pll-confirm').check();
  await page.getByTestId('pll-submit').click();
  await h.waitFor('[data-testid="pll-reconciled"]', 'pll-reconciled');
  assert.match(await page.getByTestId('pll-reconciled').innerText(), /Ny versjon: 1/);
  await page.getByTestId('pll-reconciled').getByRole('button').click();
  await page.getByTestId('pll-entries').getByText(/Ramipril/).waitFor();
  assert.match(await page.getByTestId('pll-version').innerText(), /Versjon 1/);

  // Someone else reconciles meanwhile: submitting against version 1 is refused as stale, with a way to reload.
  const token = await h.practitionerToken({ hpr: DOCTOR.hpr, org: DOCTOR.org, purpose: 'TREAT' });
  const headers = { authorization: `Bearer ${token}`, 'nhn-patient-nin': PATIENT, 'nhn-access-basis': 'SAMTYKKE' };
  const current = await h.server.fhir('/$medication-list', { headers });
  const entries = current.body.entry.map((e: any) => e.resource).filter((r: any) => r.resourceType === 'MedicationStatement');
  const other = await h.server.fhir('/$medication-list', {
    method: 'POST',
    headers: { ...headers, 'if-match': 'W/"1"' },
    body: { resourceType: 'Parameters', parameter: entries.map((e: any) => ({ name: 'entry', resource: { ...e, dosage: [{ text: '2 tabletter morgen' }] } })) },
  });
  assert.equal(other.status, 200, other.text);
  await page.getByTestId('pll-confirm').check();
  await page.getByTestId('pll-submit').click();
  await h.waitFor('[data-testid="pll-error"]', 'pll-stale');
  assert.match(await page.getByTestId('pll-error').innerText(), /endret av noen andre/);
  await page.getByTestId('pll-reload').click();
  await page.getByTestId('pll-version').getByText(/Versjon 2/).waitFor();

  await axeClean('patient record');
  await h.screenshot('clinician-record-consent');

  // English is selectable.
  await page.getByTestId('language').selectOption('en');
  await page.getByRole('heading', { name: 'Critical information', exact: true }).waitFor();
  await page.getByTestId('language').selectOption('nb');
});

test('a nurse sees the record but cannot register critical information (the form is not offered, and the server refuses)', { skip: browserSkip }, async () => {
  const { page } = h;
  await clinicianLogin(NURSE);
  await lookUp(PATIENT, 'SAMTYKKE');
  await h.waitFor('[data-testid="patient-name"]', 'nurse-record');
  assert.equal(await page.getByTestId('register-drug-reaction').count(), 0);
  await page.getByText('Bare leger kan registrere kritisk informasjon.').waitFor();
  const token = await h.practitionerToken({ hpr: NURSE.hpr, org: NURSE.org, purpose: 'TREAT', authorisation: 'SP' });
  const refused = await h.server.fhir('/AllergyIntolerance', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'nhn-patient-nin': PATIENT, 'nhn-access-basis': 'SAMTYKKE' },
    body: {
      resourceType: 'AllergyIntolerance',
      meta: { profile: ['https://samhandling.dev/fhir/StructureDefinition/KjAllergyIntolerance'] },
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
      category: ['medication'],
      code: { coding: [{ system: 'http://www.whocc.no/atc', code: 'N02BE01' }] },
      patient: { reference: `Patient/${patientId}` },
    },
  });
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.body.issue[0].details.coding[0].code, 'kj-doctor-only');
});

test('a restricted document shows as a hidden count without its content; elevated access opens it', { skip: browserSkip }, async () => {
  const { page } = h;
  await clinicianLogin(DOCTOR);
  await lookUp(PATIENT, 'SAMTYKKE');
  await h.waitFor('[data-testid="documents-hidden"]', 'documents-hidden');
  assert.equal(await page.getByTestId('documents-hidden').getAttribute('data-count'), '1');
  assert.match(await page.getByTestId('documents-hidden').innerText(), /1 dokument\(er\) er skjult fordi pasienten har sperret dem/);
  assert.doesNotMatch(await page.getByTestId('section-documents').innerText(), /Psykolognotat/, 'the hidden document’s title is not shown');
  await axeClean('record with hidden documents');
  await h.screenshot('clinician-documents-hidden');

  // The same lookup with elevated access (the patient consents) shows it.
  await lookUp(PATIENT, 'FORHOYET_SAMTYKKE');
  await page.getByTestId('documents').getByText('Psykolognotat').waitFor();
  assert.equal(await page.getByTestId('documents-hidden').count(), 0);

  // Opening a document fetches its PDF with the token (ITI-68) into a new tab.
  const popup = page.waitForEvent('popup');
  await page.getByTestId('open-document-kj-doc').click();
  const tab = await popup;
  await tab.waitForURL(/^blob:/);
  assert.equal(await tab.evaluate(() => document.contentType), 'application/pdf');
  await tab.close();
});

test('restricted critical information is announced as hidden (from the status call) without content; elevated access shows it', { skip: browserSkip }, async () => {
  const { page } = h;
  const giver = PEOPLE.attorneyGiver;
  const giverId = await h.patientId(giver);
  await h.server.platform.repo.putMany([drugReaction({ id: 'kj-giver-reaction', patientId: giverId, text: 'Ibuprofen', atc: 'M01AE01' })]);
  await savePrivacy(h.server.platform.db, giverId, giver, { ...NO_PRIVACY_SETTINGS, restricted: ['critical-information'] });
  await clinicianLogin(DOCTOR);
  await lookUp(giver, 'SAMTYKKE');
  await h.waitFor('[data-testid="critical-hidden"]', 'critical-hidden');
  assert.match(await page.getByTestId('critical-hidden').innerText(), /skjult fordi pasienten har sperret den/);
  assert.doesNotMatch(await page.getByTestId('section-critical').innerText(), /Ibuprofen/);
  await axeClean('record with hidden critical information');
  await h.screenshot('clinician-critical-hidden');
  await lookUp(giver, 'FORHOYET_SAMTYKKE');
  await page.getByTestId('drug-reactions').getByText(/Ibuprofen/).waitFor();
  assert.equal(await page.getByTestId('critical-hidden').count(), 0);
});

test('an emergency lookup needs a written reason, is shown as emergency and appears in the citizen’s access log', { skip: browserSkip }, async () => {
  const { page } = h;
  await clinicianLogin(DOCTOR, 'ETREAT');
  // Logged in for emergency care (ETREAT), every lookup is an emergency access: a reason is asked for whatever the basis.
  await page.getByTestId('basis-SAMTYKKE').check();
  await page.getByTestId('lookup-reason').waitFor();
  await lookUp(PATIENT, 'AKUTT', '');
  await page.getByText('Skriv hvorfor du trenger akutt tilgang.').waitFor();
  await axeClean('emergency lookup without reason');
  const reason = 'Bevisstløs i akuttmottak, trenger legemiddelliste og allergier';
  await page.getByTestId('lookup-reason').fill(reason);
  await page.getByTestId('lookup-submit').click();
  await h.waitFor('[data-testid="emergency-banner"]', 'emergency-banner');
  assert.match(await page.getByTestId('emergency-banner').innerText(), new RegExp(reason));
  await h.waitFor('[data-testid="section-critical"] h3', 'emergency-record');
  await axeClean('emergency record');
  await h.screenshot('clinician-emergency');

  const rows = await h.server.platform.db.query<{ content: string }>(
    `select content from audit_event where agent_id = $1 and patient_nin = $2 and emergency and access_basis = 'AKUTT'`,
    [DOCTOR.hpr, PATIENT]
  );
  assert.ok(rows.length > 0);
  assert.ok(rows.some((r) => JSON.parse(r.content).purposeOfEvent.some((p: any) => p.text === reason)), 'the reason is in the audit record');

  // The citizen sees it in their access log in the citizen portal.
  await page.goto(`${h.origin}/clinician`);
  await page.getByTestId('logout').click();
  await h.login(PATIENT, { path: '/access-log', waitFor: '[data-testid="access-log"]' });
  const row = page.getByTestId('log-entry-emergency').first();
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(`HPR ${DOCTOR.hpr}`));
  await h.screenshot('clinician-emergency-in-citizen-log');
  await page.getByTestId('logout').click();
});

test('a citizen blocks their GP in the citizen portal, and the GP’s next lookup is refused with a clear message', { skip: browserSkip }, async () => {
  const { page } = h;
  await clinicianLogin(GP, 'TREAT');
  await lookUp(PATIENT, 'UNNTAK');
  await h.waitFor('[data-testid="patient-name"]', 'gp-before-block');
  await page.getByTestId('logout').click();

  await h.login(PATIENT, { path: '/privacy', waitFor: '[data-testid="privacy-block"]' });
  await page.getByLabel('HPR-nummer til helsepersonellet').fill(GP.hpr);
  await page.getByTestId('privacy-block-add').click();
  await page.getByTestId('privacy-review').click();
  await page.getByTestId('privacy-confirm').click();
  await page.getByTestId('privacy-saved').waitFor();
  await page.getByTestId('logout').click();

  await clinicianLogin(GP, 'TREAT');
  await lookUp(PATIENT, 'UNNTAK');
  await h.waitFor('[data-testid="lookup-error"]', 'gp-blocked');
  const message = await page.getByTestId('lookup-error').innerText();
  assert.match(message, /Pasienten har sperret deg fra å se sine opplysninger/);
  assert.equal(await page.getByTestId('lookup-error').locator('[data-error-code]').getAttribute('data-error-code'), 'blocked-by-patient');
  assert.equal(await page.getByTestId('patient-name').count(), 0, 'nothing of the record is shown');
  // Not even an emergency opens a block.
  await lookUp(PATIENT, 'AKUTT', 'Hjertestans');
  await h.waitFor('[data-testid="lookup-error"]', 'gp-blocked-emergency');
  assert.match(await page.getByTestId('lookup-error').innerText(), /kan ikke overstyres/);
  await axeClean('refused lookup');
  await h.screenshot('clinician-gp-blocked');
});

test('a lookup on a basis that does not apply is refused with the reason: UNNTAK by someone else than the GP, FORHOYET with nothing restricted', { skip: browserSkip }, async () => {
  const { page } = h;
  await clinicianLogin(DOCTOR);
  await lookUp(PEOPLE.teen17, 'UNNTAK');
  await h.waitFor('[data-testid="lookup-error"]', 'unntak-not-gp');
  assert.match(await page.getByTestId('lookup-error').innerText(), /Unntak fra samtykke kan bare brukes av pasientens fastlege/);
  await lookUp(PEOPLE.teen17, 'FORHOYET_SAMTYKKE');
  await page.getByTestId('lookup-error').getByText(/har ikke sperret noe/).waitFor();
  await h.screenshot('clinician-nothing-restricted');
});

test('at 375 px wide the lookup and the record fit the screen (no sideways scrolling) and pass axe', { skip: browserSkip }, async () => {
  const { page } = h;
  await page.setViewportSize({ width: 375, height: 800 });
  try {
    await clinicianLogin(DOCTOR);
    const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1);
    assert.equal(await fits(), true, 'the lookup form fits');
    await axeClean('lookup at 375 px');
    await lookUp(PATIENT, 'SAMTYKKE');
    await h.waitFor('[data-testid="lab-results"]', 'record-375');
    await h.waitFor('[data-testid="documents"]', 'record-375-documents');
    assert.equal(await fits(), true, 'the record fits');
    await axeClean('record at 375 px');
    await h.screenshot('clinician-record-375');
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
});
