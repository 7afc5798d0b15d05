import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSkip, describeViolations, PEOPLE, startPortal, type PortalHarness } from './helpers/browser.ts';

let h: PortalHarness;
before(async () => {
  if (!browserSkip) h = await startPortal();
});
after(async () => h?.close());

test('a citizen logs in through the development login and lands on the overview', { skip: browserSkip }, async () => {
  await h.page.goto(`${h.origin}/`);
  assert.equal(await h.page.locator('html').getAttribute('lang'), 'nb');
  assert.deepEqual(await h.axe(), [], describeViolations('logged out', await h.axe()));
  await h.login(PEOPLE.parent);
  await h.screenshot('citizen-login-overview');
  assert.match(await h.page.getByTestId('hello').innerText(), /logget inn som/);
  assert.deepEqual(h.consoleErrors, []);
});
