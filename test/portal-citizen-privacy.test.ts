import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSkip, describeViolations, PEOPLE, PRACTITIONERS, startPortal, type PortalHarness } from './helpers/browser.ts';

/**
 * Privacy settings in the browser: the citizen blocks their GP by HPR number, sees what that
 * means before saving, and the GP's next lookup is refused by the server.
 */
let h: PortalHarness;
before(async () => {
  if (!browserSkip) h = await startPortal();
});
after(async () => h?.close());

async function gpLookup(): Promise<{ status: number; body: any }> {
  const token = await h.practitionerToken({ hpr: PRACTITIONERS.gp.hpr, org: PRACTITIONERS.gp.org, patient: PEOPLE.parent, purpose: 'COC' });
  return h.server.fhir('/Patient', { headers: { authorization: `Bearer ${token}`, 'nhn-patient-nin': PEOPLE.parent, 'nhn-access-basis': 'UNNTAK' } });
}

test('a citizen blocks their GP in privacy settings and the GP is refused from then on', { skip: browserSkip }, async () => {
  const before = await gpLookup();
  assert.equal(before.status, 200, 'the GP may look the patient up before the block');

  const { page } = h;
  await h.login(PEOPLE.parent);
  await page.getByRole('navigation').getByRole('link', { name: 'Personvern' }).click();
  await page.getByTestId('privacy-block').waitFor();
  assert.match(await page.getByTestId('privacy-block').innerText(), /kan ikke overstyres/, 'the effect of blocking is explained before anything is chosen');
  assert.deepEqual(await h.axe(), [], describeViolations('privacy', await h.axe()));

  // A malformed number is refused with a message at the field.
  await page.getByLabel('HPR-nummer til helsepersonellet').fill('12');
  await page.getByTestId('privacy-block-add').click();
  await page.getByText('HPR-nummeret må være 4 til 9 siffer.').waitFor();

  await page.getByLabel('HPR-nummer til helsepersonellet').fill(PRACTITIONERS.gp.hpr);
  await page.getByTestId('privacy-block-add').click();
  await page.locator(`[data-testid="privacy-blocked-list"] [data-hpr="${PRACTITIONERS.gp.hpr}"]`).waitFor();
  await page.getByTestId('privacy-review').click();
  const effects = page.getByTestId('privacy-effects');
  await effects.waitFor();
  assert.match(await effects.innerText(), new RegExp(`HPR ${PRACTITIONERS.gp.hpr}.*blokkeres og får aldri tilgang, heller ikke i en akutt situasjon`));
  assert.deepEqual(await h.axe(), [], describeViolations('privacy review', await h.axe()));
  await h.screenshot('citizen-privacy-block-review');
  assert.equal((await gpLookup()).status, 200, 'nothing is saved before the citizen confirms');

  await page.getByTestId('privacy-confirm').click();
  await page.getByTestId('privacy-saved').waitFor();
  await h.screenshot('citizen-privacy-block-saved');

  const after = await gpLookup();
  assert.equal(after.status, 403);
  assert.equal(after.body.issue[0].details.coding[0].code, 'blocked-by-patient');

  // The block is the server's: a fresh load shows it.
  await page.reload();
  await page.locator(`[data-testid="privacy-blocked-list"] [data-hpr="${PRACTITIONERS.gp.hpr}"]`).waitFor();

  // Lifting it works the same way, and the GP is let in again.
  await page.getByTestId(`unblock-${PRACTITIONERS.gp.hpr}`).click();
  await page.getByTestId('privacy-review').click();
  assert.match(await page.getByTestId('privacy-effects').innerText(), /Blokkeringen av .* oppheves/);
  await page.getByTestId('privacy-confirm').click();
  await page.getByTestId('privacy-saved').waitFor();
  assert.equal((await gpLookup()).status, 200);
  assert.deepEqual(h.consoleErrors, []);
});

test("a parent sees a 13-year-old's privacy settings but cannot change them", { skip: browserSkip }, async () => {
  const { page } = h;
  await page.goto(`${h.origin}/privacy`);
  await page.getByTestId('portal-ready').waitFor({ state: 'attached' });
  await page.locator('#act-for').selectOption(PEOPLE.child13);
  await page.getByTestId('privacy-read-only').waitFor();
  assert.equal(await page.getByTestId('privacy-review').count(), 0);
  assert.equal(await page.getByLabel('HPR-nummer til helsepersonellet').isDisabled(), true);
  assert.deepEqual(await h.axe(), [], describeViolations('privacy read-only', await h.axe()));
  await page.locator('#act-for').selectOption(PEOPLE.parent);
});
