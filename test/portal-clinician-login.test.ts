import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { seedPopulation } from '../src/cli/seed.ts';
import { DEV_CITIZEN_CLIENT, DEV_CLINICIAN_CLIENT } from '../src/access/dev-auth-server.ts';
import { mintCitizenToken, configureDevMinting } from '../src/access/dev-auth-server.ts';

/**
 * The practitioner login of the development authorization server (HelseID stand-in for the
 * clinician view), over real HTTP against the real server: pick a health professional from the
 * personnel registry, an organisation and a purpose of use; the token is HelseID-like and the API
 * accepts it; an emergency reason sent with nhn-access-reason reaches the audit record.
 */
const DOCTOR = { hpr: '5600000', org: '310000027' };
const GP = { hpr: '5601397', org: '310003549' };
const PATIENT = '27928318821';

let server: TestServer;
let origin: string;
let dataDir: string;

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-clinician-login-'));
  server = await startTestServer({ auth: 'on', env: { DEV_AUTH: 'true', DATA_DIR: dataDir } });
  origin = new URL(server.base).origin;
  configureDevMinting({ baseUrl: origin, dataDir });
  await seedPopulation(server.platform.repo, { persons: 50, seed: 42, clinical: false });
});
after(async () => {
  await server?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** A browser-like user agent: a cookie jar and manual redirects. */
function agent() {
  const jar = new Map<string, string>();
  return async (url: string, init: { method?: string; form?: Record<string, string> } = {}) => {
    const res = await fetch(new URL(url, origin), {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  };
}

type Agent = ReturnType<typeof agent>;

/** Starts the code flow for a client and follows redirects until a page is shown or the code comes back. */
async function follow(ua: Agent, start: string, redirectPath: string): Promise<{ page?: { url: string; html: string }; code?: string }> {
  let res = await ua(start);
  let url = start;
  for (let i = 0; i < 10; i++) {
    if (res.status === 200) return { page: { url, html: res.text } };
    assert.ok([302, 303].includes(res.status), `${url}: ${res.status} ${res.text}`);
    const next = new URL(res.location!, origin);
    if (next.pathname === redirectPath) return { code: next.searchParams.get('code') ?? undefined };
    url = next.pathname + next.search;
    res = await ua(url);
  }
  throw new Error('too many redirects');
}

function authorizeUrl(clientId: string, redirectPath: string, prompt?: string) {
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: `${origin}${redirectPath}`,
    scope: clientId === DEV_CLINICIAN_CLIENT ? 'openid user/*.cruds' : 'openid patient/*.rs',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 's1',
    ...(prompt ? { prompt } : {}),
  });
  return { url: `/oidc/auth?${q}`, verifier };
}

async function exchange(code: string, clientId: string, redirectPath: string, verifier: string) {
  const res = await fetch(`${origin}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${origin}${redirectPath}`, client_id: clientId, code_verifier: verifier }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token as string;
}

/** Logs a practitioner in through the login page: search by HPR, pick the workplace at `org`, choose the purpose. */
async function clinicianLogin(ua: Agent, who: { hpr: string; org: string }, purpose: string): Promise<string> {
  const { url, verifier } = authorizeUrl(DEV_CLINICIAN_CLIENT, '/clinician/callback', 'login');
  const first = await follow(ua, url, '/clinician/callback');
  assert.ok(first.page, 'the practitioner login page is shown');
  const searchAction = /<form method="get" action="([^"]+)"/.exec(first.page.html)![1];
  const found = await ua(`${searchAction}?q=${who.hpr}`);
  assert.equal(found.status, 200);
  const value = [...found.text.matchAll(/name="workplace" id="[^"]+" value="([^"]+)"/g)].map((m) => m[1].replace(/&#124;/g, '|')).find((v) => v.startsWith(`${who.hpr}|${who.org}|`));
  assert.ok(value, `a workplace of HPR ${who.hpr} at ${who.org} is offered: ${found.text.slice(0, 300)}`);
  const action = /<form method="post" action="([^"]+)"/.exec(found.text)![1];
  const posted = await ua(action, { method: 'POST', form: { workplace: value!, purpose } });
  assert.ok([302, 303].includes(posted.status), `${posted.status} ${posted.text}`);
  const done = await follow(ua, new URL(posted.location!, origin).pathname + new URL(posted.location!, origin).search, '/clinician/callback');
  assert.ok(done.code, 'an authorization code came back to /clinician/callback');
  return exchange(done.code!, DEV_CLINICIAN_CLIENT, '/clinician/callback', verifier);
}

test('a practitioner logs in by picking a health professional, organisation and purpose; the token is HelseID-like with the attestation', async () => {
  const token = await clinicianLogin(agent(), DOCTOR, 'TREAT');
  const c = decodeJwt(token) as any;
  assert.equal(c.sub, `hpr:${DOCTOR.hpr}`);
  assert.equal(c['helseid://claims/hpr/hpr_number'], DOCTOR.hpr);
  assert.equal(c['helseid://claims/identity/security_level'], '4');
  assert.equal(c['helseid://claims/client/claims/orgnr_parent'], DOCTOR.org);
  assert.equal(c['helseid://claims/client/claims/orgnr_child'], DOCTOR.org);
  assert.equal(c.client_id, DEV_CLINICIAN_CLIENT);
  assert.equal(c.pid, undefined, 'no citizen pid in a practitioner token');
  assert.match(c.scope, /user\/\*\.cruds/);
  const [att] = c.authorization_details;
  assert.equal(att.type, 'nhn:tillitsrammeverk:parameters');
  assert.equal(att.practitioner.legal_entity.id, DOCTOR.org);
  assert.equal(att.practitioner.point_of_care.id, DOCTOR.org);
  assert.equal(att.practitioner.authorization.code, 'LE');
  assert.equal(att.practitioner.department.system, 'urn:oid:2.16.578.1.12.4.1.4.102', 'a hospital department is named by its RESH id');
  assert.equal(att.care_relationship.purpose_of_use.code, 'TREAT');
  assert.deepEqual(att.patients, [], 'the login names no patient: the view looks patients up per request');

  const res = await server.fhir('/Patient', { headers: { authorization: `Bearer ${token}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PATIENT } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.entry?.length, 1);
});

test('an emergency purpose (ETREAT) chosen at login is in the token, and the lookup is audited as emergency with the written reason', async () => {
  const token = await clinicianLogin(agent(), GP, 'ETREAT');
  assert.equal((decodeJwt(token) as any).authorization_details[0].care_relationship.purpose_of_use.code, 'ETREAT');
  const reason = 'Bevisstløs pasient i mottak, trenger legemiddelliste';
  const res = await server.fhir('/Patient', {
    headers: { authorization: `Bearer ${token}`, 'nhn-access-basis': 'AKUTT', 'nhn-patient-nin': PATIENT, 'nhn-access-reason': encodeURIComponent(reason) },
  });
  assert.equal(res.status, 200, res.text);
  const rows = await server.platform.db.query<{ content: string; emergency: boolean; access_basis: string }>(
    `select content, emergency, access_basis from audit_event where agent_id = $1 and patient_nin = $2 order by recorded desc limit 1`,
    [GP.hpr, PATIENT]
  );
  assert.equal(rows.length, 1);
  assert.equal(rows[0].emergency, true);
  assert.equal(rows[0].access_basis, 'AKUTT');
  const event = JSON.parse(rows[0].content);
  const basis = event.purposeOfEvent.find((p: any) => p.coding?.[0]?.code === 'AKUTT');
  assert.equal(basis.text, reason, 'the reason is recorded with the access basis in purposeOfEvent');
  assert.ok(event.purposeOfEvent.some((p: any) => p.coding?.[0]?.code === 'ETREAT'));

  // The citizen sees the emergency lookup in their access log.
  const citizen = await mintCitizenToken(PATIENT);
  const log = await server.fhir('/$access-log', { headers: { authorization: `Bearer ${citizen}` } });
  assert.equal(log.status, 200, log.text);
  const entry = log.body.entries.find((e: any) => e.who.id === GP.hpr);
  assert.ok(entry, 'the GP’s lookup is in the log');
  assert.equal(entry.emergency, true);
  assert.equal(entry.basis, 'AKUTT');
  assert.equal(entry.reason, reason, 'and the reason the GP gave');
  assert.ok(entry.text.nb.includes(reason));
});

test('a workplace the practitioner does not have, or an unknown purpose, is refused at login', async () => {
  const ua = agent();
  const { url } = authorizeUrl(DEV_CLINICIAN_CLIENT, '/clinician/callback', 'login');
  const first = await follow(ua, url, '/clinician/callback');
  const action = /<form method="post" action="([^"]+)"/.exec(first.page!.html)![1];
  const wrongOrg = await ua(action, { method: 'POST', form: { workplace: `${DOCTOR.hpr}|${GP.org}|LE|`, purpose: 'TREAT' } });
  assert.equal(wrongOrg.status, 400);
  const wrongPurpose = await ua(action, { method: 'POST', form: { workplace: `${GP.hpr}|${GP.org}|LE|`, purpose: 'SELL' } });
  assert.equal(wrongPurpose.status, 400);
});

test('a browser session holds one kind of account: after a practitioner login the citizen portal asks for a citizen login again, and the reverse', async () => {
  const ua = agent();
  await clinicianLogin(ua, DOCTOR, 'TREAT');
  // The citizen client without prompt=login must not reuse the practitioner's session.
  const citizen = authorizeUrl(DEV_CITIZEN_CLIENT, '/callback');
  const c = await follow(ua, citizen.url, '/callback');
  assert.ok(c.page, 'the citizen login page is shown instead of a code');
  assert.match(c.page!.html, /name="nin"/);
  const action = /action="([^"]+)"/.exec(c.page!.html)![1];
  const posted = await ua(action, { method: 'POST', form: { nin: PATIENT } });
  const done = await follow(ua, new URL(posted.location!, origin).pathname + new URL(posted.location!, origin).search, '/callback');
  const citizenToken = await exchange(done.code!, DEV_CITIZEN_CLIENT, '/callback', citizen.verifier);
  assert.equal((decodeJwt(citizenToken) as any).pid, PATIENT);
  // And the clinician client without prompt=login does not get the citizen's session.
  const clinician = authorizeUrl(DEV_CLINICIAN_CLIENT, '/clinician/callback');
  const k = await follow(ua, clinician.url, '/clinician/callback');
  assert.ok(k.page, 'the practitioner login page is shown instead of a code');
  assert.match(k.page!.html, /name="workplace"|Ingen treff/);
});

test('the practitioner login page is searchable by name and lists organisations', async () => {
  const ua = agent();
  const { url } = authorizeUrl(DEV_CLINICIAN_CLIENT, '/clinician/callback', 'login');
  const first = await follow(ua, url, '/clinician/callback');
  assert.match(first.page!.html, /<html lang="nb">/);
  assert.match(first.page!.html, /org\.nr\./, 'the first practitioners are listed with their organisations');
  const searchAction = /<form method="get" action="([^"]+)"/.exec(first.page!.html)![1];
  const byHpr = await ua(`${searchAction}?q=${GP.hpr}`);
  assert.match(byHpr.text, new RegExp(`HPR ${GP.hpr}\\), Oslo legesenter \\(org\\.nr\\. ${GP.org}\\)`));
  const family = /<label for="w-\d+-0">[^,]* ([^ ,]+),/.exec(byHpr.text)![1];
  const byName = await ua(`${searchAction}?q=${encodeURIComponent(family)}`);
  const names = [...byName.text.matchAll(/<label for="w-[^"]+">([^,]+),/g)].map((m) => m[1]);
  assert.ok(names.length > 0);
  for (const n of names) assert.match(n, new RegExp(family), 'every match carries the searched name');
});
