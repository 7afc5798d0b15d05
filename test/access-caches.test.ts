import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAccessConfig } from '../src/access/config.ts';
import { devAuthority, practitionerClaims } from '../src/access/dev-authority.ts';
import { TokenVerifier, VerifiedTokenCache } from '../src/access/tokens.ts';
import { loadPrivacy, savePrivacy } from '../src/access/privacy.ts';
import { FhirError } from '../src/fhir/outcome.ts';
import type { Db } from '../src/store/db.ts';
import { openTestDb } from './helpers/db.ts';

/**
 * The read path keeps verified tokens and privacy settings between requests; neither may let a
 * request through that the uncached checks would refuse.
 */

const ISSUER = { issuer: 'https://dev-auth.test/caches', kind: 'dev' as const };

test('a cached token is honoured only until it expires (with the configured leeway) and at most maxAgeMs', () => {
  const cache = new VerifiedTokenCache(30, 60_000);
  const now = 1_000_000_000_000;
  const exp = now / 1000 + 10;
  cache.set('t', { exp }, ISSUER, now);
  assert.ok(cache.get('t', now + 39_999), 'valid until exp + 30 s leeway');
  assert.equal(cache.get('t', now + 40_000), undefined, 'gone at exp + leeway');
  const long = new VerifiedTokenCache(30, 60_000);
  long.set('u', { exp: now / 1000 + 3600 }, ISSUER, now);
  assert.ok(long.get('u', now + 59_999));
  assert.equal(long.get('u', now + 60_000), undefined, 'verified again after maxAgeMs even though exp is later');
  const expired = new VerifiedTokenCache(0);
  expired.set('v', { exp: now / 1000 - 1 }, ISSUER, now);
  assert.equal(expired.get('v', now), undefined, 'an already expired token is not stored');
});

test('the verifier answers a repeated token from the cache, but an expired one is refused as before', async () => {
  const authority = await devAuthority(ISSUER.issuer);
  const config = { ...loadAccessConfig({}), issuers: [], clockToleranceSeconds: 0 };
  const verifier = new TokenVerifier({ config, localIssuers: [{ issuer: ISSUER, jwks: authority.jwks }] });
  const token = await authority.sign(practitionerClaims({ hpr: '7100002', org: '991000002' } as any), { expiresIn: 3 });
  // exp is whole seconds after a floored iat, so the token lives 2-3 s; wait for the exp itself.
  const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number;
  const req = { method: 'GET', url: 'http://localhost/fhir/Observation/x', authorization: `Bearer ${token}` };
  const first = await verifier.verify(req);
  const second = await verifier.verify(req);
  assert.deepEqual(second.claims, first.claims);
  // A token with one byte of its signature changed is not the cached token: it is checked and refused.
  const forged = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
  await assert.rejects(verifier.verify({ ...req, authorization: `Bearer ${forged}` }), (e: FhirError) => e.status === 401);
  await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
  await assert.rejects(verifier.verify(req), (e: FhirError) => e.status === 401 && /expired/.test(e.message));
});

let db: Db;
before(async () => {
  db = await openTestDb();
});
after(async () => {
  await db?.close();
});

test('a privacy change saved through savePrivacy applies to the very next load, inside the cache lifetime', async () => {
  const none = { reserved: [], restrictAll: false, restricted: [], blockedHpr: [] };
  await savePrivacy(db, 'pat-cache', '01017012345', none);
  assert.deepEqual((await loadPrivacy(db, 'pat-cache')).blockedHpr, []);
  await savePrivacy(db, 'pat-cache', '01017012345', { ...none, blockedHpr: ['7100002'] });
  assert.deepEqual((await loadPrivacy(db, 'pat-cache')).blockedHpr, ['7100002'], 'the block applies at once');
  await savePrivacy(db, 'pat-cache', '01017012345', none);
  assert.deepEqual((await loadPrivacy(db, 'pat-cache')).blockedHpr, [], 'and so does lifting it');
});

test('a load racing a save does not leave the old settings cached', async () => {
  const none = { reserved: [], restrictAll: false, restricted: [], blockedHpr: [] };
  await savePrivacy(db, 'pat-race', '01017012346', none);
  const racing = loadPrivacy(db, 'pat-race');
  await savePrivacy(db, 'pat-race', '01017012346', { ...none, blockedHpr: ['7100003'] });
  await racing;
  assert.deepEqual((await loadPrivacy(db, 'pat-race')).blockedHpr, ['7100003']);
});
