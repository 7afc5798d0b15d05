import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { ensurePortalBuilt } from '../src/portal/build.ts';
import { PORTAL_DIR } from '../src/api/portal-routes.ts';

/**
 * The platform serves the built front ends: pages with the SPA fallback, hashed assets, and
 * never a page where the FHIR API or the login server should answer. Over HTTP, auth on.
 */
let s: TestServer;
before(async () => {
  await ensurePortalBuilt({ quiet: true });
  s = await startTestServer({ auth: 'on', env: { DEV_AUTH: 'false' } });
});
after(async () => s?.close());

const origin = () => new URL(s.base).origin;

test('the citizen portal answers at / and at its client-side routes, with the CSP on and no caching of the page', async () => {
  for (const p of ['/', '/lab-results', '/lab-results/trend?code=x', '/callback']) {
    const res = await fetch(`${origin()}${p}`);
    assert.equal(res.status, 200, p);
    assert.match(res.headers.get('content-type')!, /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('content-security-policy')!, /script-src 'self'/);
    assert.match(await res.text(), /<div id="root">/);
  }
});

test('bundles are served with their type and cached as immutable', async () => {
  const html = await (await fetch(`${origin()}/`)).text();
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, 'the page names its bundle');
  const res = await fetch(`${origin()}${script}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/javascript/);
  assert.match(res.headers.get('cache-control')!, /immutable/);
  const css = fs.readdirSync(path.join(PORTAL_DIR, 'assets')).find((f) => f.endsWith('.css'));
  assert.match((await fetch(`${origin()}/assets/${css}`)).headers.get('content-type')!, /^text\/css/);
});

test('the clinician view has its own page', async () => {
  const built = fs.existsSync(path.join(PORTAL_DIR, 'clinician/index.html'));
  for (const p of ['/clinician', '/clinician/patient']) {
    const res = await fetch(`${origin()}${p}`);
    assert.equal(res.status, built ? 200 : 503, p);
    if (built) assert.doesNotMatch(await res.text(), /src="\.\/main\.tsx"/);
  }
});

test('API and login paths never fall back to a page; missing files and escapes are 404s', async () => {
  const fhir = await fetch(`${origin()}/fhir/Patient/x/y/z`);
  assert.equal(fhir.status, 404);
  assert.equal((await fhir.json()).issue[0].details.coding[0].code, 'no-such-endpoint');
  assert.equal((await fetch(`${origin()}/oidc/unknown/thing`)).status, 404);
  assert.equal((await fetch(`${origin()}/fhir/Patient`)).status, 401, 'the API still wants a token');
  assert.equal((await fetch(`${origin()}/assets/nothing-here.js`)).status, 404);
  assert.equal((await fetch(`${origin()}/favicon.ico`)).status, 404);
  const escape = await fetch(`${origin()}/assets/..%2F..%2Fpackage.json`);
  assert.equal(escape.status, 404);
  assert.doesNotMatch(await escape.text(), /"name": "samhandling"/);
});
