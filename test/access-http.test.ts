import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose';
import Fastify, { type FastifyInstance } from 'fastify';
import { openTestDb } from './helpers/db.ts';
import { fakeRegistry, HPR, ORG, PEOPLE, seedAccessData } from './helpers/access-fixtures.ts';
import { accessTestApp, BASE } from './helpers/access-app.ts';
import { authPlugin, helmetOptions } from '../src/api/auth.ts';
import type { Db } from '../src/store/db.ts';
import { loadAccessConfig } from '../src/access/config.ts';
import { citizenClaims, devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { savePrivacy } from '../src/access/privacy.ts';

let db: Db;
let app: FastifyInstance;
let authority: DevAuthority;
const config = { ...loadAccessConfig({}), issuers: [] };

before(async () => {
  db = await openTestDb();
  await seedAccessData(db);
  authority = await devAuthority('https://dev-auth.test/http');
  await savePrivacy(db, PEOPLE.blocker.patientId!, PEOPLE.blocker.nin, { reserved: [], restrictAll: false, restricted: [], blockedHpr: [HPR.gp] });
  app = await accessTestApp({ db, registry: fakeRegistry(), authority, config });
});
after(async () => {
  await app?.close();
  await db?.close();
});

const doctorToken = (o: Record<string, unknown> = {}) => authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital, ...o } as any));
const auditCount = async () => Number((await db.query<{ n: number }>('select count(*)::int as n from audit_event'))[0].n);
const auditSince = (seq: number) => db.query<any>('select * from audit_event where seq > $1 order by seq', [seq]);
const lastSeq = async () => Number((await db.query<{ s: number }>('select coalesce(max(seq), 0)::int as s from audit_event'))[0].s);

test('a call without a token gets 401 with Bearer and DPoP challenges, and is audited as a denial', async () => {
  const before = await lastSeq();
  const res = await app.inject({ method: 'GET', url: '/fhir/Observation/p-plain-lab' });
  assert.equal(res.statusCode, 401);
  const challenge = String(res.headers['www-authenticate']);
  assert.match(challenge, /^Bearer realm="samhandling"/);
  assert.match(challenge, /DPoP realm="samhandling".*algs="/);
  const rows = await auditSince(before);
  assert.equal(rows.length, 1);
  assert.equal(rows[0].outcome, 'denied');
  assert.equal(JSON.parse(rows[0].content).outcome, '4');
});

test('metadata needs no token', async () => {
  const res = await app.inject({ method: 'GET', url: '/fhir/metadata' });
  assert.equal(res.statusCode, 200);
});

for (const [name, makeToken, why] of [
  ['expired', () => authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital }), { issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresIn: 3600 }), /expired/],
  ['wrong audience', () => doctorToken({ audience: 'someone-else' }), /aud/],
  ['not yet valid', () => authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital }), { notBefore: Math.floor(Date.now() / 1000) + 3600 }), /nbf/],
  [
    'wrongly signed',
    async () => {
      const { privateKey } = await generateKeyPair('RS256');
      return new SignJWT(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital })).setProtectedHeader({ alg: 'RS256', kid: authority.privateJwk.kid }).setIssuer(authority.issuer).setIssuedAt().setExpirationTime('1h').sign(privateKey);
    },
    /signature/,
  ],
  [
    'from an untrusted issuer',
    async () => (await devAuthority('https://evil.test')).sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital })),
    /trusted issuer/,
  ],
] as const) {
  test(`a token that is ${name} gets 401 invalid_token`, async () => {
    const res = await app.inject({ method: 'GET', url: '/fhir/Observation/p-plain-lab', headers: { authorization: `Bearer ${await makeToken()}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PEOPLE.plain.nin } });
    assert.equal(res.statusCode, 401);
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
    assert.match(res.json().issue[0].diagnostics, why);
  });
}

test('a missing purpose of use gets 403 with a clear OperationOutcome', async () => {
  const token = await doctorToken({ purpose: null });
  const res = await app.inject({ method: 'GET', url: '/fhir/Observation', headers: { authorization: `Bearer ${token}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PEOPLE.plain.nin } });
  assert.equal(res.statusCode, 403);
  const oo = res.json();
  assert.equal(oo.resourceType, 'OperationOutcome');
  assert.equal(oo.issue[0].code, 'forbidden');
  assert.equal(oo.issue[0].details.coding[0].code, 'purpose-of-use-missing');
  assert.deepEqual(oo.issue[0].expression, ['authorization_details.care_relationship.purpose_of_use']);
});

test('a blocked GP under AKUTT is denied, and the patient sees the attempt in the access log', async () => {
  const token = await authority.sign(practitionerClaims({ hpr: HPR.gp, org: ORG.gpOffice, purpose: 'ETREAT' }));
  const res = await app.inject({ method: 'GET', url: '/fhir/AllergyIntolerance', headers: { authorization: `Bearer ${token}`, 'nhn-access-basis': 'AKUTT', 'nhn-patient-nin': PEOPLE.blocker.nin } });
  assert.equal(res.statusCode, 403);
  assert.equal(res.json().issue[0].details.coding[0].code, 'blocked-by-patient');
  const citizen = await authority.sign(citizenClaims(PEOPLE.blocker.nin));
  const log = await app.inject({ method: 'GET', url: '/fhir/$access-log', headers: { authorization: `Bearer ${citizen}` } });
  assert.equal(log.statusCode, 200);
  const entry = log.json().entries.find((e: any) => e.who.id === HPR.gp);
  assert.ok(entry, 'the refused attempt is in the log');
  assert.equal(entry.outcome, 'denied');
  assert.equal(entry.basis, 'AKUTT');
  assert.match(entry.text.en, /was refused/);
});

test('a read leaves exactly one success AuditEvent naming who, organisation, patient, purpose, basis and the resource', async () => {
  const before = await lastSeq();
  const res = await app.inject({ method: 'GET', url: '/fhir/Observation/p-plain-lab', headers: { authorization: `Bearer ${await doctorToken()}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PEOPLE.plain.nin } });
  assert.equal(res.statusCode, 200);
  const rows = await auditSince(before);
  assert.equal(rows.length, 1);
  const ev = JSON.parse(rows[0].content);
  assert.equal(ev.resourceType, 'AuditEvent');
  assert.equal(ev.action, 'R');
  assert.equal(ev.outcome, '0');
  assert.equal(ev.subtype[0].code, 'read');
  assert.equal(ev.agent[0].who.identifier.value, HPR.doctor);
  assert.equal(ev.agent[1].who.identifier.value, ORG.hospital);
  assert.deepEqual(ev.purposeOfEvent.map((p: any) => p.coding[0].code), ['TREAT', 'SAMTYKKE']);
  assert.deepEqual(ev.entity.map((e: any) => e.what.reference), ['Patient/p-plain', 'Observation/p-plain-lab']);
  assert.equal(rows[0].compartment, 'p-plain');
  assert.equal(rows[0].emergency, false);
  // The citizen's log names the service from the resource itself: a laboratory Observation is a lab result.
  const citizen = await authority.sign(citizenClaims(PEOPLE.plain.nin));
  const log = (await app.inject({ method: 'GET', url: '/fhir/$access-log', headers: { authorization: `Bearer ${citizen}` } })).json();
  const entry = log.entries.find((e: any) => e.who.id === HPR.doctor && e.outcome === 'success');
  assert.deepEqual(entry.what.map((w: any) => w.service), ['lab-results']);
});

test('an emergency read is marked as such', async () => {
  const before = await lastSeq();
  const res = await app.inject({ method: 'GET', url: '/fhir/Condition/p-plain-cond', headers: { authorization: `Bearer ${await doctorToken({ purpose: 'ETREAT' })}`, 'nhn-access-basis': 'AKUTT', 'nhn-patient-nin': PEOPLE.plain.nin } });
  assert.equal(res.statusCode, 200);
  const [row] = await auditSince(before);
  assert.equal(row.emergency, true);
  assert.equal(JSON.parse(row.content).extension[0].valueBoolean, true);
});

test('a search audits every resource returned, and totals count only visible rows', async () => {
  const before = await lastSeq();
  const headers = { authorization: `Bearer ${await doctorToken()}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PEOPLE.plain.nin };
  const res = await app.inject({ method: 'GET', url: '/fhir/DocumentReference?_total=accurate', headers });
  assert.equal(res.statusCode, 200);
  const bundle = res.json();
  // p-plain has a plain and a NORS document; only the plain one is visible under SAMTYKKE.
  assert.deepEqual(bundle.entry.map((e: any) => e.resource.id), ['p-plain-doc']);
  assert.equal(bundle.total, 1);
  const rows = await auditSince(before);
  assert.equal(rows.length, 1);
  assert.deepEqual(JSON.parse(rows[0].content).entity.filter((e: any) => e.role.code === '4').map((e: any) => e.what.reference), ['DocumentReference/p-plain-doc/_history/1'].map((r) => r.replace('/_history/1', '')));
});

test('restricted data is hidden from reads under SAMTYKKE (404, audited as denial) and shown under FORHOYET_SAMTYKKE', async () => {
  const headers = (basis: string) => ({ 'nhn-access-basis': basis, 'nhn-patient-nin': PEOPLE.plain.nin });
  const before = await lastSeq();
  const hidden = await app.inject({ method: 'GET', url: '/fhir/DocumentReference/p-plain-docNors', headers: { authorization: `Bearer ${await doctorToken()}`, ...headers('SAMTYKKE') } });
  assert.equal(hidden.statusCode, 404);
  const [denial] = await auditSince(before);
  assert.equal(denial.outcome, 'denied');
  const shown = await app.inject({ method: 'GET', url: '/fhir/DocumentReference/p-plain-docNors', headers: { authorization: `Bearer ${await doctorToken()}`, ...headers('FORHOYET_SAMTYKKE') } });
  assert.equal(shown.statusCode, 200);
});

test('privacy settings: the citizen restricts lab results and the effect is immediate', async () => {
  const citizen = await authority.sign(citizenClaims(PEOPLE.clean.nin));
  const get = await app.inject({ method: 'GET', url: '/fhir/$privacy-settings', headers: { authorization: `Bearer ${citizen}` } });
  assert.equal(get.statusCode, 200);
  const consent = get.json();
  assert.equal(consent.resourceType, 'Consent');
  assert.equal(consent.patient.reference, 'Patient/p-clean');
  const doctorHeaders = async (basis: string) => ({ authorization: `Bearer ${await doctorToken()}`, 'nhn-access-basis': basis, 'nhn-patient-nin': PEOPLE.clean.nin });
  const labsBefore = await app.inject({ method: 'GET', url: '/fhir/Observation', headers: await doctorHeaders('SAMTYKKE') });
  assert.ok(labsBefore.json().entry.some((e: any) => e.resource.id === 'p-clean-lab'));
  // FORHOYET fails while nothing is restricted.
  assert.equal((await app.inject({ method: 'GET', url: '/fhir/Observation', headers: await doctorHeaders('FORHOYET_SAMTYKKE') })).statusCode, 403);

  consent.provision.provision = [{ type: 'deny', action: [{ coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/privacy-action', code: 'restrict' }] }], code: [{ coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/service', code: 'lab-results' }] }] }];
  const put = await app.inject({ method: 'PUT', url: '/fhir/$privacy-settings', headers: { authorization: `Bearer ${citizen}`, 'content-type': 'application/json' }, payload: consent });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(put.json().meta.versionId, '1');

  const ids = async (basis: string) => (await app.inject({ method: 'GET', url: '/fhir/Observation', headers: await doctorHeaders(basis) })).json().entry?.map((e: any) => e.resource.id) ?? [];
  assert.deepEqual(await ids('SAMTYKKE'), ['p-clean-vital']);
  assert.deepEqual((await ids('FORHOYET_SAMTYKKE')).sort(), ['p-clean-lab', 'p-clean-vital']);
});

test('privacy settings: bad input is a 400 naming the element; a parent of a 13-year-old may not change them', async () => {
  const citizen = await authority.sign(citizenClaims(PEOPLE.adult.nin));
  const bad = { resourceType: 'Consent', provision: { type: 'permit', provision: [{ type: 'deny', action: [{ coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/privacy-action', code: 'reserve' }] }], code: [{ coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/service', code: 'no-such-service' }] }] }] } };
  const res = await app.inject({ method: 'PUT', url: '/fhir/$privacy-settings', headers: { authorization: `Bearer ${citizen}`, 'content-type': 'application/json' }, payload: bad });
  assert.equal(res.statusCode, 400);
  assert.deepEqual(res.json().issue[0].expression, ['Consent.provision.provision[0].code[0]']);
  const teen = await app.inject({ method: 'PUT', url: '/fhir/$privacy-settings', headers: { authorization: `Bearer ${citizen}`, 'nhn-patient-nin': PEOPLE.child13.nin, 'content-type': 'application/json' }, payload: { resourceType: 'Consent', provision: { type: 'permit' } } });
  assert.equal(teen.statusCode, 403);
});

test('the status call reports data, critical information and a block, without an audit record', async () => {
  const before = await lastSeq();
  const gp = await authority.sign(practitionerClaims({ hpr: HPR.gp, org: ORG.gpOffice }));
  const res = await app.inject({ method: 'GET', url: '/fhir/$privacy-status', headers: { authorization: `Bearer ${gp}`, 'nhn-patient-nin': PEOPLE.blocker.nin } });
  assert.equal(res.statusCode, 200);
  const params = Object.fromEntries(res.json().parameter.map((p: any) => [p.name, p.valueBoolean ?? p.valueInstant]));
  assert.equal(params.hasData, true);
  assert.equal(params.hasActiveCriticalInformation, true);
  assert.equal(params.callerBlocked, true);
  assert.ok(params.lastChanged);
  assert.equal(await lastSeq(), before);
});

test('DPoP: nonce challenge, accepted proof, and a replayed proof is refused', async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const jkt = await calculateJwkThumbprint(jwk);
  const token = await authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital, jkt }));
  const url = '/fhir/Observation/p-plain-vital';
  const proof = (o: { nonce?: string; htm?: string; htu?: string; ath?: string } = {}) =>
    new SignJWT({ htm: o.htm ?? 'GET', htu: o.htu ?? `${BASE}${url}`, ath: o.ath ?? createHash('sha256').update(token).digest('base64url'), ...(o.nonce ? { nonce: o.nonce } : {}) })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .setIssuedAt()
      .setJti(randomUUID())
      .sign(privateKey);
  const headers = (p: string) => ({ authorization: `DPoP ${token}`, dpop: p, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PEOPLE.plain.nin });
  const first = await app.inject({ method: 'GET', url, headers: headers(await proof()) });
  assert.equal(first.statusCode, 401);
  assert.match(String(first.headers['www-authenticate']), /error="use_dpop_nonce"/);
  const nonce = String(first.headers['dpop-nonce']);
  assert.ok(nonce);
  const good = await proof({ nonce });
  const ok = await app.inject({ method: 'GET', url, headers: headers(good) });
  assert.equal(ok.statusCode, 200, ok.body);
  const replay = await app.inject({ method: 'GET', url, headers: headers(good) });
  assert.equal(replay.statusCode, 401);
  assert.match(replay.json().issue[0].diagnostics, /already used/);
  for (const bad of [{ htm: 'POST' }, { htu: `${BASE}/fhir/Observation/other` }, { ath: 'x' }]) {
    const r = await app.inject({ method: 'GET', url, headers: headers(await proof({ nonce, ...bad })) });
    assert.equal(r.statusCode, 401, JSON.stringify(bad));
  }
  // The bound token is useless as a bearer token.
  const asBearer = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PEOPLE.plain.nin } });
  assert.equal(asBearer.statusCode, 401);
});

test('the audit table is append-only', async () => {
  assert.ok((await auditCount()) > 0);
  await assert.rejects(db.query('update audit_event set outcome = $1', ['success']), /append-only/);
  await assert.rejects(db.query('delete from audit_event'), /append-only/);
  await assert.rejects(db.query('truncate audit_event'), /append-only/);
});

test('the parent sees a lab result of the 11-year-old but not of the 13-year-old, and the child’s log shows the parent', async () => {
  const parent = await authority.sign(citizenClaims(PEOPLE.adult.nin));
  const r11 = await app.inject({ method: 'GET', url: '/fhir/Observation/p-child11-lab', headers: { authorization: `Bearer ${parent}`, 'nhn-patient-nin': PEOPLE.child11.nin } });
  assert.equal(r11.statusCode, 200);
  const r13 = await app.inject({ method: 'GET', url: '/fhir/Observation/p-child13-lab', headers: { authorization: `Bearer ${parent}`, 'nhn-patient-nin': PEOPLE.child13.nin } });
  assert.equal(r13.statusCode, 404);
  const log = await app.inject({ method: 'GET', url: '/fhir/$access-log', headers: { authorization: `Bearer ${parent}`, 'nhn-patient-nin': PEOPLE.child11.nin } });
  const e = log.json().entries[0];
  assert.equal(e.onBehalfOf, PEOPLE.child11.nin);
  assert.match(e.text.en, /representative/);
  const filtered = await app.inject({ method: 'GET', url: `/fhir/$access-log?to=2000-01-01`, headers: { authorization: `Bearer ${parent}`, 'nhn-patient-nin': PEOPLE.child11.nin } });
  assert.equal(filtered.json().total, 0);
});

test('auth off: every request is the local administrator, nothing is audited; refused in production', async () => {
  const off = Fastify({ logger: false });
  await off.register(authPlugin, { db, registry: fakeRegistry(), baseUrl: BASE, config, auth: 'off', rateLimitPerMinute: 0 });
  off.get('/fhir/:type/:id', async (request) => {
    await request.access.checkRead({ resourceType: 'DocumentReference', id: 'p-plain-docNors', meta: { security: [{ code: 'NORS' }] } } as any, 'p-plain');
    return { kind: request.principal!.kind };
  });
  const before = await lastSeq();
  const res = await off.inject({ method: 'GET', url: '/fhir/DocumentReference/p-plain-docNors' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().kind, 'admin');
  assert.equal(await lastSeq(), before);
  await off.close();

  const prod = Fastify({ logger: false });
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await assert.rejects(async () => {
      await prod.register(authPlugin, { db, registry: fakeRegistry(), baseUrl: BASE, config, auth: 'off', rateLimitPerMinute: 0 });
      await prod.ready();
    }, /refused/);
  } finally {
    process.env.NODE_ENV = saved;
    await prod.close().catch(() => undefined);
  }
});

test('pages carry helmet\'s security headers exactly; the FHIR API carries the API set, with no-store', async () => {
  // What helmet itself puts on a plain node:http response with the server's options.
  const helmet = (await import('helmet')).default;
  const plain = http.createServer((req, res) => helmet(helmetOptions(BASE) as any)(req as any, res as any, () => res.end()));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const reference = await fetch(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
  await reference.arrayBuffer();
  plain.close();
  const helmetSet = Object.fromEntries([...reference.headers].filter(([name]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name)));
  assert.ok(Object.keys(helmetSet).length >= 10, `helmet set ${Object.keys(helmetSet).length} headers`);
  // A page that answers on the raw response itself, as the development authorization server's do.
  const rawApp = Fastify({ logger: false });
  await rawApp.register(authPlugin, { db, registry: fakeRegistry(), baseUrl: BASE, config, rateLimitPerMinute: 0 });
  rawApp.get('/oidc/page', (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<p>Logg inn</p>');
  });
  const page = await rawApp.inject({ method: 'GET', url: '/oidc/page' });
  await rawApp.close();
  assert.equal(page.body, '<p>Logg inn</p>');
  for (const [name, value] of Object.entries(helmetSet)) assert.equal(page.headers[name], value, `${name} on a page`);
  assert.equal(page.headers['cache-control'], undefined);

  const api = {
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cross-origin-resource-policy': 'same-origin',
    'strict-transport-security': helmetSet['strict-transport-security'],
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };
  const responses = [
    await app.inject({ method: 'GET', url: '/fhir/metadata' }),
    await app.inject({ method: 'GET', url: '/fhir/Observation/p-plain-lab' }),
    await app.inject({ method: 'GET', url: '/fhir/Observation/p-plain-lab', headers: { authorization: `Bearer ${await doctorToken()}`, 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': PEOPLE.plain.nin } }),
  ];
  assert.deepEqual(responses.map((r) => r.statusCode), [200, 401, 200]);
  for (const res of responses) {
    for (const [name, value] of Object.entries(api)) assert.equal(res.headers[name], value, `${name} on a ${res.statusCode} from the API`);
    // What governs a document's own behaviour stays with the pages.
    for (const name of ['origin-agent-cluster', 'referrer-policy', 'x-dns-prefetch-control', 'cross-origin-opener-policy'])
      assert.equal(res.headers[name], undefined, `${name} on a ${res.statusCode} from the API`);
  }
});

test('pages ask for https upgrades only when the server is reached over https', async () => {
  // Over plain http, upgrading would send the page's own requests to a port that speaks no TLS.
  const cspOf = async (baseUrl: string) => {
    const site = Fastify({ logger: false });
    await site.register(authPlugin, { db, registry: fakeRegistry(), baseUrl, config, rateLimitPerMinute: 0 });
    site.get('/page', async (_request, reply) => reply.type('text/html; charset=utf-8').send('<p>Hei</p>'));
    const res = await site.inject({ method: 'GET', url: '/page' });
    await site.close();
    return String(res.headers['content-security-policy']);
  };
  assert.doesNotMatch(await cspOf(BASE), /upgrade-insecure-requests/);
  const overHttps = await cspOf('https://samhandling.test');
  assert.match(overHttps, /upgrade-insecure-requests/);
  assert.match(overHttps, /default-src 'self'/);
});

test('rate limiting is per client', async () => {
  const Fastify = (await import('fastify')).default;
  const { authPlugin } = await import('../src/api/auth.ts');
  const limited = Fastify({ logger: false });
  await limited.register(authPlugin, { db, registry: fakeRegistry(), baseUrl: BASE, config, devAuthority: authority, rateLimitPerMinute: 3 });
  limited.get('/fhir/metadata', async () => ({ resourceType: 'CapabilityStatement' }));
  const a = await authority.sign(citizenClaims(PEOPLE.adult.nin));
  const b = await authority.sign(citizenClaims(PEOPLE.elder.nin));
  const statuses = [];
  for (let i = 0; i < 4; i++) statuses.push((await limited.inject({ method: 'GET', url: '/fhir/metadata', headers: { authorization: `Bearer ${a}` } })).statusCode);
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  assert.equal((await limited.inject({ method: 'GET', url: '/fhir/metadata', headers: { authorization: `Bearer ${b}` } })).statusCode, 200);
  await limited.close();
});
