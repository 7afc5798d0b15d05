import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSkip, describeViolations, PEOPLE, PRACTITIONERS, startPortal, type PortalHarness } from './helpers/browser.ts';
import { drugReaction, journalDocument, labReport, medication } from './helpers/portal-data.ts';

/**
 * axe-core (WCAG 2.1 A and AA) on every page of the citizen portal, with data on each, at desktop
 * width and at 375 px (where nothing may scroll sideways); keyboard use of the menu. Also opens
 * a journal document's PDF and shows a clinician's emergency look in the access log.
 */
let h: PortalHarness;
before(async () => {
  if (browserSkip) return;
  h = await startPortal();
  const p = await h.patientId(PEOPLE.parent);
  await h.server.platform.repo.putMany([
    ...labReport({ id: 'a11y-lab-1', patientId: p, date: '2024-10-01', values: { hba1c: 47, creatinine: 80, crp: 9 } }),
    ...labReport({ id: 'a11y-lab-2', patientId: p, date: '2025-03-01', values: { hba1c: 43, creatinine: 95, crp: 2 } }),
    drugReaction({ id: 'a11y-reaction', patientId: p, text: 'Penicillin', atc: 'J01CE02' }),
    drugReaction({ id: 'a11y-reaction-lapsed', patientId: p, text: 'Ibuprofen', atc: 'M01AE01', validUntil: '2024-12-31' }),
    journalDocument({ id: 'a11y-doc', patientId: p, date: '2025-02-10', title: 'Epikrise etter innleggelse' }),
    ...medication({ patientId: p, prefix: 'a11y-med', pausedReason: 'Innlagt på sykehus' }),
  ]);
  // A clinician's emergency lookup, so the access log has something to show.
  const token = await h.practitionerToken({ hpr: PRACTITIONERS.hospitalDoctor.hpr, org: PRACTITIONERS.hospitalDoctor.org, patient: PEOPLE.parent, purpose: 'ETREAT', purposeDetails: 'BLAALYS' });
  const res = await h.server.fhir(`/Observation?patient=${p}`, {
    headers: { authorization: `Bearer ${token}`, 'nhn-patient-nin': PEOPLE.parent, 'nhn-access-basis': 'AKUTT', 'nhn-access-reason': encodeURIComponent('Bevisstløs ved ankomst') },
  });
  assert.equal(res.status, 200, res.text);
});
after(async () => h?.close());

const PAGES = [
  { path: '/', ready: '[data-testid="hello"]', name: 'overview' },
  { path: '/critical-information', ready: '[data-testid="critical-table"]', name: 'critical-information' },
  { path: '/medication', ready: '[data-testid="pll-table"]', name: 'medication' },
  { path: '/documents', ready: '[data-testid="documents-table"]', name: 'documents' },
  { path: '/lab-results', ready: '[data-testid="lab-reports"]', name: 'lab-results' },
  { path: '/lab-results/trend?code=urn%3Aoid%3A2.16.578.1.12.4.1.1.7280%7CNPU27300', ready: '[data-testid="trend-chart"]', name: 'lab-trend' },
  { path: '/access-log', ready: '[data-testid="access-log"]', name: 'access-log' },
  { path: '/privacy', ready: '[data-testid="privacy-block"]', name: 'privacy' },
];

test('every citizen page has no serious or critical accessibility violations, at desktop width and at 375 px', { skip: browserSkip }, async () => {
  const { page } = h;
  await page.goto(`${h.origin}/`);
  assert.deepEqual(await h.axe(), [], describeViolations('logged out', await h.axe()));
  await h.login(PEOPLE.parent);
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 800 });
    for (const p of PAGES) {
      await page.goto(`${h.origin}${p.path}`);
      await h.waitFor(p.ready, `${p.name}-${width}`);
      const v = await h.axe();
      assert.deepEqual(v, [], describeViolations(`${p.name} at ${width}px`, v));
      await h.screenshot(`citizen-a11y-${p.name}-${width}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${p.name} at ${width}px scrolls sideways by ${overflow}px`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  // The medication list as the service shows it: paused, its entry, and the prescription on no entry; then the other tabs.
  await page.goto(`${h.origin}/medication`);
  await h.waitFor('[data-testid="pll-paused"]', 'pll-paused');
  assert.match(await page.getByTestId('pll-paused').innerText(), /Innlagt på sykehus/);
  assert.match(await page.getByTestId('pll-table').innerText(), /Simvastatin/);
  assert.match(await page.getByTestId('pll-loose').innerText(), /Ramipril/);
  await page.getByRole('tab', { name: 'Resepter' }).click();
  await h.waitFor('[data-testid="prescriptions-table"]', 'prescriptions');
  assert.match(await page.getByTestId('prescriptions-table').innerText(), /Simvastatin/);
  await page.getByRole('tab', { name: 'Utleveringer' }).click();
  await h.waitFor('[data-testid="dispenses-table"]', 'dispenses');
  assert.deepEqual(await h.axe(), [], describeViolations('medication dispenses', await h.axe()));
  assert.deepEqual(h.consoleErrors, []);
});

test('critical information shows what is in force, and an entry past its valid-until date as inactive', { skip: browserSkip }, async () => {
  const { page } = h;
  await page.goto(`${h.origin}/critical-information`);
  await h.waitFor('[data-testid="critical-table"]', 'critical-states');
  const active = await page.getByTestId('critical-active').allInnerTexts();
  const inactive = await page.getByTestId('critical-inactive').allInnerTexts();
  assert.equal(active.length, 1);
  assert.match(active[0], /Penicillin[\s\S]*Bekreftet[\s\S]*Aktiv/);
  assert.equal(inactive.length, 1);
  assert.match(inactive[0], /Ibuprofen[\s\S]*Inaktiv[\s\S]*Gyldig til 31\. des\. 2024/);
});

test('the menu works from the keyboard: skip link, then the links in order', { skip: browserSkip }, async () => {
  const { page } = h;
  await page.goto(`${h.origin}/`);
  await page.getByTestId('hello').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Hopp til hovedinnhold');
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = (await page.evaluate(() => document.activeElement?.textContent)) === 'Prøvesvar';
  }
  assert.ok(reached, 'the lab results link is reachable by Tab');
  await page.keyboard.press('Enter');
  await h.waitFor('[data-testid="lab-reports"]', 'lab-by-keyboard');
  assert.equal(new URL(page.url()).pathname, '/lab-results');
  assert.equal(await page.title(), 'Prøvesvar – Helsenorge', 'each page has its own title');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main', 'focus moves to the new page');
});

test('a journal document opens as a PDF, fetched with the token', { skip: browserSkip }, async () => {
  const { page } = h;
  await page.goto(`${h.origin}/documents`);
  await h.waitFor('[data-testid="documents-table"]', 'documents');
  const popup = page.context().waitForEvent('page');
  const content = page.waitForResponse((r) => new URL(r.url()).pathname === '/fhir/Binary/a11y-doc');
  await page.getByTestId('open-a11y-doc').click();
  const res = await content;
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['content-type'], 'application/pdf');
  const authorization = String(await res.request().headerValue('authorization'));
  assert.match(authorization, /^Bearer /);
  await page.getByTestId('document-opened').waitFor();
  const tab = await popup;
  assert.match(tab.url(), /^blob:/, 'the PDF opens from a blob URL in a new tab');
  assert.equal(await tab.evaluate(() => document.contentType), 'application/pdf');
  await tab.close();
  // The same request from outside the browser gives the PDF's bytes.
  const direct = await fetch(res.url(), { headers: { authorization, 'nhn-patient-nin': PEOPLE.parent } });
  assert.equal(Buffer.from(await direct.arrayBuffer()).subarray(0, 5).toString(), '%PDF-');
  await h.screenshot('citizen-document-opened');
});

test('a citizen restricts a journal document after reading what it does, and a treating doctor no longer gets it', { skip: browserSkip }, async () => {
  const { page } = h;
  const doctorSearch = async () => {
    const token = await h.practitionerToken({ hpr: PRACTITIONERS.hospitalDoctor.hpr, org: PRACTITIONERS.hospitalDoctor.org, patient: PEOPLE.parent, purpose: 'TREAT' });
    const res = await h.server.fhir(`/DocumentReference?patient=${await h.patientId(PEOPLE.parent)}`, { headers: { authorization: `Bearer ${token}`, 'nhn-patient-nin': PEOPLE.parent, 'nhn-access-basis': 'SAMTYKKE' } });
    assert.equal(res.status, 200, res.text);
    return { ids: (res.body.entry ?? []).map((e: any) => e.resource.id), nors: res.headers.get('nhn-securitylabel-nors-count') };
  };
  assert.deepEqual((await doctorSearch()).ids, ['a11y-doc']);

  await page.goto(`${h.origin}/documents`);
  await h.waitFor('[data-testid="documents-table"]', 'documents-restrict');
  await page.getByTestId('restrict-a11y-doc').click();
  const panel = page.getByTestId('document-restrict-confirm');
  await panel.waitFor();
  assert.match(await panel.innerText(), /skjules for alt helsepersonell/);
  assert.deepEqual(await h.axe(), [], describeViolations('document restrict confirmation', await h.axe()));
  await h.screenshot('citizen-document-restrict-confirm');
  assert.deepEqual((await doctorSearch()).ids, ['a11y-doc'], 'nothing changes before the citizen confirms');
  await page.getByTestId('document-restrict-yes').click();
  await h.waitFor('[data-testid="document-restricted"]', 'document-restricted');

  const after = await doctorSearch();
  assert.deepEqual(after.ids, [], 'the restricted document is hidden from the doctor');
  assert.equal(after.nors, '1', 'the doctor is told one restricted document exists');

  await page.getByTestId('unrestrict-a11y-doc').click();
  await page.getByTestId('document-restrict-yes').click();
  await page.getByTestId('restrict-a11y-doc').waitFor();
  assert.deepEqual((await doctorSearch()).ids, ['a11y-doc']);
});

test("a clinician's emergency lookup appears in the citizen's access log, marked as emergency", { skip: browserSkip }, async () => {
  const { page } = h;
  await page.goto(`${h.origin}/access-log`);
  await h.waitFor('[data-testid="access-log"]', 'access-log');
  // The citizen's own looks in the tests above are newer: page back until the clinician's.
  for (let i = 0; i < 10 && (await page.getByTestId('log-entry-emergency').count()) === 0; i++) {
    const shown = await page.getByTestId('access-log').locator('tbody tr').count();
    await page.getByTestId('log-more').click();
    await h.waitFor(`[data-testid="access-log"] tbody tr:nth-child(${shown + 1})`, `access-log-page-${i + 2}`);
  }
  await h.waitFor('[data-testid="log-entry-emergency"]', 'access-log-emergency');
  const row = page.getByTestId('log-entry-emergency').first();
  const text = await row.innerText();
  assert.match(text, new RegExp(`HPR ${PRACTITIONERS.hospitalDoctor.hpr}`));
  assert.match(text, /Nødtilgang/);
  assert.match(text, new RegExp(PRACTITIONERS.hospitalDoctor.org));
  assert.match(text, /Begrunnelse: «Bevisstløs ved ankomst»/, 'the reason the doctor gave is shown');
  await h.screenshot('citizen-access-log-emergency');
});
