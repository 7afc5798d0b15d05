import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { freePort, startTestServer, type TestServer } from './helpers/server.ts';
import { browserSkip, CHROMIUM } from './helpers/browser.ts';
import { openTestDb } from './helpers/db.ts';
import { loadConfig } from '../src/config.ts';
import { createPlatform } from '../src/app.ts';
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

/** This machine's first non-loopback IPv4 address: browsers treat only loopback as trustworthy. */
function lanAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

test(
  'the portal loads in Chromium when the server is reached over plain http by its address, not localhost',
  { skip: browserSkip || (lanAddress() ? false : 'no non-loopback IPv4 address on this machine') },
  async () => {
    // A laptop or LAN setup without TLS: had the CSP asked to upgrade insecure requests, Chromium
    // would fetch the page's scripts over https from a port that speaks http, and show nothing.
    const host = lanAddress()!;
    const port = await freePort();
    const db = await openTestDb();
    const config = loadConfig({ LOG_LEVEL: 'silent', PORT: String(port), BASE_URL: `http://${host}:${port}`, DEV_AUTH: 'false' });
    const platform = await createPlatform(config, { db, auth: 'on' });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    try {
      await platform.server.listen({ port, host });
      const page = await browser.newPage();
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
      await page.goto(`http://${host}:${port}/`, { waitUntil: 'networkidle' });
      assert.deepEqual(failed, [], 'every request of the page succeeded');
      assert.ok((await page.locator('#root').innerHTML()).length > 100, 'the app rendered into #root');
    } finally {
      await browser.close();
      await platform.close();
    }
  }
);
