import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSkip, describeViolations, PEOPLE, startPortal, type PortalHarness } from './helpers/browser.ts';
import { labReport, microbiologyReport } from './helpers/portal-data.ts';

/**
 * The citizen's journeys in a real browser: lab results and their trend chart, a parent acting
 * for an 11-year-old (lab results) but not for a 13-year-old's lab results, a power-of-attorney
 * holder acting for the giver. Screenshots in test-artifacts/.
 */
let h: PortalHarness;
before(async () => {
  if (browserSkip) return;
  h = await startPortal();
  const [parent, child11, child13, giver] = await Promise.all([PEOPLE.parent, PEOPLE.child11, PEOPLE.child13, PEOPLE.attorneyGiver].map((n) => h.patientId(n)));
  await h.server.platform.repo.putMany([
    ...labReport({ id: 'lab-p-1', patientId: parent, date: '2024-06-03', values: { hba1c: 44, crp: 3 } }),
    ...labReport({ id: 'lab-p-2', patientId: parent, date: '2024-11-20', values: { hba1c: 48, crp: 12 } }),
    ...labReport({ id: 'lab-p-3', patientId: parent, date: '2025-04-02', values: { hba1c: 41, crp: 2 } }),
    ...microbiologyReport({ id: 'lab-micro', patientId: parent, date: '2024-01-10' }),
    ...labReport({ id: 'lab-c11', patientId: child11, date: '2025-03-10', title: 'Blodprøver barn', values: { crp: 7 } }),
    ...labReport({ id: 'lab-c13', patientId: child13, date: '2025-03-11', title: 'Blodprøver ungdom', values: { crp: 1 } }),
    ...labReport({ id: 'lab-giver', patientId: giver, date: '2025-02-01', title: 'Kontroll', values: { creatinine: 101 } }),
  ]);
});
after(async () => h?.close());

test('a citizen logs in, opens a lab result and its trend chart', { skip: browserSkip }, async () => {
  const { page } = h;
  await h.login(PEOPLE.parent);
  await page.getByRole('navigation').getByRole('link', { name: 'Prøvesvar' }).click();
  await page.getByTestId('lab-reports').waitFor();
  // The newest report is open; its HbA1c row shows value, range and flag.
  const row = page.getByTestId('observation-lab-p-3-hba1c');
  await row.waitFor();
  assert.match(await row.innerText(), /41 mmol\/mol/);
  assert.match(await row.innerText(), /20–42 mmol\/mol/);
  assert.match(await row.innerText(), /Normal/);
  assert.deepEqual(await h.axe(), [], describeViolations('lab results', await h.axe()));
  await h.screenshot('citizen-lab-results');

  await row.getByTestId('trend-link').click();
  const chart = page.getByTestId('trend-chart');
  await chart.waitFor();
  assert.equal(await chart.locator('circle').count(), 3, 'one point per HbA1c result');
  assert.equal(await chart.locator('[data-testid="reference-band"]').count(), 1, 'the reference range is drawn as a band');
  assert.equal(await chart.locator('circle[data-flag="high"]').count(), 2, 'the two results above 42 are marked high');
  assert.match(await page.getByRole('heading', { level: 1 }).innerText(), /HbA1c/);
  const rows = await page.getByTestId('trend-table').locator('tbody tr').allInnerTexts();
  assert.equal(rows.length, 3);
  assert.match(rows[0], /41/, 'newest first in the table');
  assert.deepEqual(await h.axe(), [], describeViolations('trend', await h.axe()));
  await h.screenshot('citizen-lab-trend');

  // A microbiology report shows the isolate with its susceptibilities under it, not as loose results.
  await page.getByRole('link', { name: /Tilbake til prøvesvar/ }).click();
  await page.getByRole('button', { name: /Urindyrkning/ }).click();
  const isolate = page.getByTestId('observation-lab-micro-isolate');
  await isolate.waitFor();
  assert.match(await isolate.innerText(), /Escherichia coli/);
  assert.match(await page.getByTestId('observation-lab-micro-amp').innerText(), /↳[\s\S]*Ampicillin[\s\S]*Resistent/);
  assert.match(await page.getByTestId('observation-lab-micro-gen').innerText(), /Gentamicin[\s\S]*Følsom/);
  assert.equal(await page.getByText('Andre prøvesvar').count(), 0, 'members are not loose results');
  await h.screenshot('citizen-lab-microbiology');
  await row.getByTestId('trend-link').click();
  await chart.waitFor();

  // English on request, the same page.
  await page.getByTestId('language').selectOption('en');
  await page.getByRole('heading', { name: /Trend: HbA1c/ }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  await page.getByTestId('language').selectOption('nb');
  assert.deepEqual(h.consoleErrors, []);
});

test("a parent sees the 11-year-old's lab results but not the 13-year-old's", { skip: browserSkip }, async () => {
  const { page } = h;
  await page.goto(`${h.origin}/`);
  await page.getByTestId('portal-ready').waitFor({ state: 'attached' });
  const options = await page.locator('#act-for option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  assert.deepEqual(options.sort(), [PEOPLE.parent, PEOPLE.child11, PEOPLE.child13].sort(), 'the switch offers the parent and exactly the two children');

  await page.locator('#act-for').selectOption(PEOPLE.child11);
  await page.locator(`[data-acting-for="${PEOPLE.child11}"]`).waitFor({ state: 'attached' });
  await page.getByRole('navigation').getByRole('link', { name: 'Prøvesvar' }).click();
  await page.getByTestId('observation-lab-c11-crp').waitFor();
  assert.match(await page.getByTestId('observation-lab-c11-crp').innerText(), /7 mg\/L/);
  assert.equal(await page.getByTestId('observation-lab-p-3-crp').count(), 0, "the parent's own results are not mixed in");
  await h.screenshot('citizen-parent-child11-lab');

  await page.locator('#act-for').selectOption(PEOPLE.child13);
  await page.locator(`[data-acting-for="${PEOPLE.child13}"]`).waitFor({ state: 'attached' });
  await page.getByTestId('service-unavailable').waitFor();
  assert.equal(await page.getByRole('navigation').getByRole('link', { name: 'Prøvesvar' }).count(), 0, 'no lab results menu item for the 13-year-old');
  assert.equal(await page.getByText('Blodprøver ungdom').count(), 0);
  await h.screenshot('citizen-parent-child13-no-lab');
  // The server agrees: asked directly, the 13-year-old's lab results are not there for the parent.
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('samhandling:citizen:session')!).accessToken);
  const child13 = await h.patientId(PEOPLE.child13);
  const res = await h.server.fhir(`/Observation?patient=${child13}&category=laboratory`, { headers: { authorization: `Bearer ${token}`, 'nhn-patient-nin': PEOPLE.child13 } });
  assert.equal(res.body?.entry?.length ?? 0, 0);
  await page.getByRole('navigation').getByRole('link', { name: 'Oversikt' }).click();
  await page.getByTestId('limited-access').waitFor();
  assert.deepEqual(await h.axe(), [], describeViolations('overview for 13-year-old', await h.axe()));
  await page.locator('#act-for').selectOption(PEOPLE.parent);
  await page.getByTestId('logout').click();
  await page.getByTestId('login').waitFor();
});

test('a citizen with power of attorney acts for the giver', { skip: browserSkip }, async () => {
  const { page } = h;
  await h.login(PEOPLE.attorneyHolder);
  const options = await page.locator('#act-for option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  assert.ok(options.includes(PEOPLE.attorneyGiver), 'the giver is offered');
  await page.locator('#act-for').selectOption(PEOPLE.attorneyGiver);
  await page.locator(`[data-acting-for="${PEOPLE.attorneyGiver}"]`).waitFor({ state: 'attached' });
  assert.match(await page.getByTestId('hello').innerText(), /fullmakt/);
  await page.getByRole('navigation').getByRole('link', { name: 'Prøvesvar' }).click();
  await page.getByTestId('observation-lab-giver-creatinine').waitFor();
  assert.match(await page.getByTestId('observation-lab-giver-creatinine').innerText(), /Høy/);
  await h.screenshot('citizen-attorney-giver-lab');
  // The giver's access log shows the representative's look.
  await page.getByRole('navigation').getByRole('link', { name: /Hvem har sett/ }).click();
  await page.getByTestId('access-log').waitFor();
  assert.match(await page.getByTestId('access-log').innerText(), new RegExp(`Representant \\(${PEOPLE.attorneyHolder}\\)`));
  await h.screenshot('citizen-attorney-giver-access-log');
  await page.getByTestId('logout').click();
});
