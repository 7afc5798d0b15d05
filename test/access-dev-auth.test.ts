import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { mountDevAuthServer, DEV_CITIZEN_CLIENT } from '../src/access/dev-auth-server.ts';
import { practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { loadAccessConfig } from '../src/access/config.ts';
import { TokenVerifier } from '../src/access/tokens.ts';
import { principalFromClaims } from '../src/access/claims.ts';
import { fakeRegistry, HPR, ORG, PEOPLE } from './helpers/access-fixtures.ts';

const BASE = 'http://samhandling.test';
const ISSUER = `${BASE}/oidc`;
let app: FastifyInstance;
let authority: DevAuthority;
let verifier: TokenVerifier;
const client = await generateKeyPair('ES256');
const clientJwk = { ...(await exportJWK(client.publicKey)), kid: 'ehr-1', alg: 'ES256', use: 'sig' };

before(async () => {
  app = Fastify({ logger: false });
  authority = await mountDevAuthServer(app, {
    baseUrl: BASE,
    clients: [{ client_id: 'dev-ehr', jwks: { keys: [clientJwk] }, orgnr_parent: ORG.hospital, orgnr_child: ORG.hospital, scope: 'user/*.rs system/*.rs' }],
    people: async () => [{ nin: PEOPLE.adult.nin, name: 'Kari Nordmann' }],
  });
  await app.ready();
  verifier = new TokenVerifier({ config: { ...loadAccessConfig({}), issuers: [] }, localIssuers: [{ issuer: { issuer: authority.issuer, kind: 'dev' }, jwks: authority.jwks }] });
});
after(async () => app?.close());

const attestation = () => (practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital, patient: PEOPLE.plain.nin }).authorization_details as any[]);

async function assertion(o: { typ?: string; lifetime?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ authorization_details: attestation(), 'helseid://claims/hpr/hpr_number': HPR.doctor })
    .setProtectedHeader({ alg: 'ES256', kid: 'ehr-1', ...(o.typ === '' ? {} : { typ: o.typ ?? 'client-authentication+jwt' }) })
    .setIssuer('dev-ehr')
    .setSubject('dev-ehr')
    .setAudience(ISSUER)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (o.lifetime ?? 50))
    .sign(client.privateKey);
}

const tokenRequest = (form: Record<string, string>, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/oidc/token', headers: { host: 'samhandling.test', 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(form).toString() });

const ccForm = async (o?: { typ?: string; lifetime?: number }) => ({
  grant_type: 'client_credentials',
  client_id: 'dev-ehr',
  client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  client_assertion: await assertion(o),
  scope: 'user/*.rs',
});

test('discovery and JWKS are served under /oidc', async () => {
  const d = await app.inject({ method: 'GET', url: '/oidc/.well-known/openid-configuration', headers: { host: 'samhandling.test' } });
  assert.equal(d.statusCode, 200);
  assert.equal(d.json().issuer, ISSUER);
  assert.ok(d.json().grant_types_supported.includes('client_credentials'));
  const jwks = await app.inject({ method: 'GET', url: '/oidc/jwks', headers: { host: 'samhandling.test' } });
  assert.equal(jwks.json().keys[0].kid, authority.privateJwk.kid);
  assert.equal(jwks.json().keys[0].d, undefined);
});

test('client_credentials with private_key_jwt issues a HelseID-like token the API accepts as a health professional', async () => {
  const res = await tokenRequest(await ccForm());
  assert.equal(res.statusCode, 200, res.body);
  const { access_token, token_type } = res.json();
  assert.equal(token_type, 'Bearer');
  const v = await verifier.verify({ method: 'GET', url: `${BASE}/fhir/Observation`, authorization: `Bearer ${access_token}` });
  const claims = v.claims as any;
  assert.equal(claims['helseid://claims/hpr/hpr_number'], HPR.doctor);
  assert.equal(claims['helseid://claims/client/claims/orgnr_parent'], ORG.hospital);
  assert.equal(claims.authorization_details[0].type, 'nhn:tillitsrammeverk:parameters');
  assert.equal(claims.scope, 'user/*.rs');
  const principal = await principalFromClaims(v.claims, { accessBasis: 'SAMTYKKE' }, fakeRegistry(), 'dev');
  assert.equal(principal.kind, 'practitioner');
  assert.equal((principal as any).patientNin, PEOPLE.plain.nin);
});

test('a client assertion without typ client-authentication+jwt is refused', async () => {
  const res = await tokenRequest(await ccForm({ typ: '' }));
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error, 'invalid_client');
});

test('a client assertion living longer than 60 s is refused', async () => {
  const res = await tokenRequest(await ccForm({ lifetime: 120 }));
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error, 'invalid_client');
});

test('a scope the client is not registered for is refused', async () => {
  const res = await tokenRequest({ ...(await ccForm()), scope: 'system/*.cruds' });
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().error, 'invalid_scope');
});

test('with a DPoP proof the token is DPoP-bound (cnf.jkt)', async () => {
  const key = await generateKeyPair('ES256');
  const jwk = await exportJWK(key.publicKey);
  const proof = async (nonce?: string) =>
    new SignJWT({ htm: 'POST', htu: `${ISSUER}/token`, ...(nonce ? { nonce } : {}) }).setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk }).setIssuedAt().setJti(randomUUID()).sign(key.privateKey);
  let res = await tokenRequest(await ccForm(), { dpop: await proof() });
  if (res.statusCode === 400 && res.json().error === 'use_dpop_nonce') res = await tokenRequest(await ccForm(), { dpop: await proof(String(res.headers['dpop-nonce'])) });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().token_type, 'DPoP');
  assert.equal((decodeJwt(res.json().access_token) as any).cnf.jkt, await calculateJwkThumbprint(jwk));
});

test('a citizen logs in by picking a synthetic person and gets an ID-porten-like token with pid', async () => {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: any) => {
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
  };
  const verifierValue = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifierValue).digest('base64url');
  const q = new URLSearchParams({ client_id: DEV_CITIZEN_CLIENT, response_type: 'code', redirect_uri: 'http://localhost/callback', scope: 'openid patient/*.rs', code_challenge: challenge, code_challenge_method: 'S256', state: 'xyz' });
  let res = await app.inject({ method: 'GET', url: `/oidc/auth?${q}`, headers: { host: 'samhandling.test' } });
  let code: string | undefined;
  for (let i = 0; i < 10 && !code; i++) {
    remember(res);
    assert.ok([302, 303].includes(res.statusCode), `step ${i}: ${res.statusCode} ${res.body}`);
    const location = new URL(String(res.headers.location), BASE);
    if (location.origin === 'http://localhost') {
      code = location.searchParams.get('code') ?? undefined;
      break;
    }
    res = await app.inject({ method: 'GET', url: location.pathname + location.search, headers: { host: 'samhandling.test', cookie: cookie() } });
    if (res.statusCode === 200 && String(res.headers['content-type']).startsWith('text/html')) {
      assert.match(res.body, /Kari Nordmann/);
      const action = /action="([^"]+)"/.exec(res.body)![1];
      res = await app.inject({ method: 'POST', url: action, headers: { host: 'samhandling.test', cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' }, payload: `nin=${PEOPLE.adult.nin}` });
    }
  }
  assert.ok(code, 'an authorization code reached the redirect URI');
  const tok = await tokenRequest({ grant_type: 'authorization_code', code: code!, redirect_uri: 'http://localhost/callback', client_id: DEV_CITIZEN_CLIENT, code_verifier: verifierValue });
  assert.equal(tok.statusCode, 200, tok.body);
  const v = await verifier.verify({ method: 'GET', url: `${BASE}/fhir/Observation`, authorization: `Bearer ${tok.json().access_token}` });
  assert.equal((v.claims as any).pid, PEOPLE.adult.nin);
  assert.equal((v.claims as any).acr, 'idporten-loa-high');
  const principal = await principalFromClaims(v.claims, {}, fakeRegistry(), 'dev');
  assert.equal(principal.kind, 'citizen');
});
