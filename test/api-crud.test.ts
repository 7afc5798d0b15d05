import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { historyQuery, versionQuery } from '../src/store/repository.ts';
import { run, sql, type Sql } from '../src/store/sql.ts';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => s?.close());

const patient = (extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  name: [{ family: 'Østby', given: ['Åse'] }],
  gender: 'female',
  birthDate: '1980-02-29',
  ...extra,
});

test('create assigns id, version 1, lastUpdated, and Location/ETag headers', async () => {
  const res = await s.fhir('/Patient', { method: 'POST', body: patient({ id: 'client-chosen' }) });
  assert.equal(res.status, 201);
  assert.notEqual(res.body.id, 'client-chosen', 'the server assigns ids on create');
  assert.equal(res.body.meta.versionId, '1');
  assert.ok(!Number.isNaN(Date.parse(res.body.meta.lastUpdated)));
  assert.equal(res.headers.get('etag'), 'W/"1"');
  assert.equal(res.headers.get('location'), `${s.base}/Patient/${res.body.id}/_history/1`);
  assert.match(res.headers.get('content-type') ?? '', /application\/fhir\+json/);
  const read = await s.fhir(`/Patient/${res.body.id}`);
  assert.equal(read.status, 200);
  assert.deepEqual(read.body, res.body);
  assert.ok(read.headers.get('last-modified'));
});

test('update makes a new version; vread returns every version; history lists them newest first', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  const v2 = await s.fhir(`/Patient/${created.id}`, { method: 'PUT', body: { ...created, gender: 'other' } });
  assert.equal(v2.status, 200);
  assert.equal(v2.body.meta.versionId, '2');
  const unchanged = await s.fhir(`/Patient/${created.id}`, { method: 'PUT', body: { ...v2.body } });
  assert.equal(unchanged.body.meta.versionId, '2', 'an update with the same content makes no new version');
  assert.equal((await s.fhir(`/Patient/${created.id}/_history/1`)).body.gender, 'female');
  assert.equal((await s.fhir(`/Patient/${created.id}/_history/2`)).body.gender, 'other');
  assert.equal((await s.fhir(`/Patient/${created.id}/_history/3`)).status, 404);
  const hist = await s.fhir(`/Patient/${created.id}/_history`);
  assert.equal(hist.body.type, 'history');
  assert.deepEqual(hist.body.entry.map((e: any) => e.resource.meta.versionId), ['2', '1']);
  assert.deepEqual(hist.body.entry.map((e: any) => e.request.method), ['PUT', 'POST']);
  const before = await s.fhir(`/Patient/${created.id}/_history?_at=2000-01-01T00:00:00Z`);
  assert.equal(before.status, 200);
  assert.equal('entry' in before.body, false, 'an empty page has no entry element (FHIR JSON has no empty arrays)');
  assert.equal((await s.fhir('/Patient/never-stored/_history?_count=0')).status, 404, 'the total alone of an unknown resource');
});

test('decimals keep the precision they were sent with, through every way a resource comes back', async () => {
  // R4: the precision of a decimal is significant, so 1.50 is not 1.5 (http://hl7.org/fhir/R4/json.html#primitive).
  const numbers = (text: string) => [...text.matchAll(/"(?:value|low|high)":(-?[0-9.eE+-]+)/g)].map((m) => m[1]);
  const body = (v: string) =>
    `{"resourceType":"Observation","id":"dec-1","status":"final","code":{"text":"weight"},` +
    `"valueQuantity":{"value":${v},"unit":"kg"},"referenceRange":[{"low":{"value":1.0},"high":{"value":2.5e1}}]}`;
  const put = await s.fhir('/Observation/dec-1', { method: 'PUT', body: body('70.50') });
  assert.equal(put.status, 201);
  const sent = ['70.50', '1.0', '2.5e1'];
  assert.deepEqual(numbers(put.text), sent, 'the create response');
  assert.deepEqual(numbers((await s.fhir('/Observation/dec-1')).text), sent, 'read');
  assert.deepEqual(numbers((await s.fhir('/Observation/dec-1?_pretty=true')).text.replace(/\s/g, '')), sent, 'read, pretty');
  assert.deepEqual(numbers((await s.fhir('/Observation/dec-1/_history/1')).text), sent, 'vread');
  assert.deepEqual(numbers((await s.fhir('/Observation?_id=dec-1')).text), sent, 'search');
  assert.deepEqual(numbers((await s.fhir('/Observation?_id=dec-1&_elements=value')).text), ['70.50'], 'search, reshaped');
  assert.deepEqual(numbers((await s.fhir('/Observation/dec-1/_history')).text), sent, 'history');

  // A PATCH changes what it names and keeps the rest as written.
  const patched = await s.fhir('/Observation/dec-1', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json-patch+json' },
    body: [{ op: 'replace', path: '/status', value: 'amended' }],
  });
  assert.equal(patched.status, 200);
  assert.deepEqual(numbers(patched.text), sent, 'patched');
  const changed = await s.fhir('/Observation/dec-1', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json-patch+json' },
    body: [{ op: 'replace', path: '/valueQuantity/value', value: 71 }],
  });
  assert.deepEqual(numbers(changed.text), ['71', '1.0', '2.5e1'], 'a patched value is written as given');

  // 70.5 is not 70.50: sending it is a change, a new version; sending 70.50 again is not.
  const again = await s.fhir('/Observation/dec-1', { method: 'PUT', body: body('71.00') });
  assert.equal(again.body.meta.versionId, '4');
  assert.equal((await s.fhir('/Observation/dec-1', { method: 'PUT', body: body('71.00') })).body.meta.versionId, '4', 'same literal, no new version');
  assert.equal((await s.fhir('/Observation/dec-1', { method: 'PUT', body: body('71.0') })).body.meta.versionId, '5', 'other precision, a new version');

  const tx = await s.fhir('/', {
    method: 'POST',
    body: `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:5e2c3f5e-61b8-4f52-9c0f-43b0c3a1d001",` +
      `"resource":${body('0.250').replace('"id":"dec-1",', '')},"request":{"method":"POST","url":"Observation"}}]}`,
    headers: { prefer: 'return=representation' },
  });
  assert.equal(tx.status, 200, tx.text);
  assert.deepEqual(numbers(tx.text), ['0.250', '1.0', '2.5e1'], 'transaction response');
  const id = tx.body.entry[0].resource.id;
  assert.deepEqual(numbers((await s.fhir(`/Observation/${id}`)).text), ['0.250', '1.0', '2.5e1'], 'stored by a transaction');
});

test('_count is one rule for searches, history and $everything: 0 gives the total alone, anything but a non-negative integer a 400', async () => {
  const id = 'count-rule';
  await s.fhir(`/Patient/${id}`, { method: 'PUT', body: patient({ id }) });
  for (const gender of ['male', 'other']) await s.fhir(`/Patient/${id}`, { method: 'PUT', body: patient({ id, gender }) });
  await s.fhir('/Observation', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'puls' }, subject: { reference: `Patient/${id}` } } });
  const totals: [string, number][] = [
    [`/Patient/${id}/_history?_count=0`, 3],
    [`/Patient?_id=${id}&_count=0`, 1],
    [`/Patient/${id}/$everything?_count=0`, 2],
  ];
  for (const [path, total] of totals) {
    const res = await s.fhir(path);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.total, total, `${path}: ${res.text}`);
    assert.equal(res.body.entry?.length ?? 0, 0, `${path} has no entries`);
    assert.deepEqual(res.body.link.map((l: any) => l.relation), ['self'], `${path} has no paging links`);
  }
  // The type's and the system's history count the same way.
  assert.ok((await s.fhir('/Patient/_history?_count=0')).body.total >= 3);
  assert.ok((await s.fhir('/_history?_count=0')).body.total >= 4);
  for (const path of [`/Patient/${id}/_history`, '/Patient/_history', '/_history', '/Patient', `/Patient/${id}/$everything`]) {
    for (const count of ['-3', 'abc', '1.5', '']) {
      const res = await s.fhir(`${path}?_count=${count}`);
      assert.equal(res.status, 400, `${path}?_count=${count}: ${res.text}`);
      assert.equal(res.body.issue[0].details.coding[0].code, 'invalid-count');
    }
  }
  assert.equal((await s.fhir(`/Patient/${id}/_history?_count=2`)).body.entry.length, 2);
});

test('create-on-update with a client id, then delete leaves a versioned tombstone', async () => {
  const put = await s.fhir('/Patient/pat-client-1', { method: 'PUT', body: patient({ id: 'pat-client-1' }) });
  assert.equal(put.status, 201);
  assert.equal(put.body.id, 'pat-client-1');
  const del = await s.fhir('/Patient/pat-client-1', { method: 'DELETE' });
  assert.equal(del.status, 204);
  const gone = await s.fhir('/Patient/pat-client-1');
  assert.equal(gone.status, 410);
  assert.equal(gone.body.resourceType, 'OperationOutcome');
  const hist = await s.fhir('/Patient/pat-client-1/_history');
  assert.equal(hist.body.entry.length, 2);
  assert.equal(hist.body.entry[0].request.method, 'DELETE');
  assert.equal(hist.body.entry[0].resource, undefined);
  assert.equal((await s.fhir('/Patient/pat-client-1/_history/1')).status, 200, 'old versions stay readable');
  // Updating a deleted resource brings it back as a new version.
  const back = await s.fhir('/Patient/pat-client-1', { method: 'PUT', body: patient({ id: 'pat-client-1' }) });
  assert.equal(back.body.meta.versionId, '3');
});

test('If-Match: a stale version is refused with 412 and changes nothing', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  const ok = await s.fhir(`/Patient/${created.id}`, { method: 'PUT', body: { ...created, gender: 'male' }, headers: { 'if-match': 'W/"1"' } });
  assert.equal(ok.status, 200);
  const stale = await s.fhir(`/Patient/${created.id}`, { method: 'PUT', body: { ...created, gender: 'unknown' }, headers: { 'if-match': 'W/"1"' } });
  assert.equal(stale.status, 412);
  assert.equal(stale.body.issue[0].details.coding[0].code, 'version-conflict');
  assert.equal((await s.fhir(`/Patient/${created.id}`)).body.gender, 'male');
  // RFC 9110: a list of ETags matches if any does, strong ones too; `*` matches any current version. Both were 400s.
  const listed = await s.fhir(`/Patient/${created.id}`, { method: 'PUT', body: { ...created, gender: 'other' }, headers: { 'if-match': 'W/"1", "2"' } });
  assert.equal(listed.status, 200, listed.text);
  const any = await s.fhir(`/Patient/${created.id}`, { method: 'PUT', body: { ...created, gender: 'female' }, headers: { 'if-match': '*' } });
  assert.equal(any.status, 200, any.text);
  const absent = await s.fhir('/Patient/never-created', { method: 'PUT', body: patient({ id: 'never-created' }), headers: { 'if-match': '*' } });
  assert.equal(absent.status, 412, 'If-Match: * does not create');
  assert.equal((await s.fhir('/Patient/never-created')).status, 404);
  const malformed = await s.fhir(`/Patient/${created.id}`, { method: 'PUT', body: created, headers: { 'if-match': 'version 1' } });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.body.issue[0].details.coding[0].code, 'invalid-if-match');
});

test('If-None-Match and If-Modified-Since give 304', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  assert.equal((await s.fhir(`/Patient/${created.id}`, { headers: { 'if-none-match': 'W/"1"' } })).status, 304);
  assert.equal((await s.fhir(`/Patient/${created.id}`, { headers: { 'if-none-match': 'W/"0"' } })).status, 200);
  const later = new Date(Date.now() + 60_000).toUTCString();
  const earlier = new Date(Date.parse(created.meta.lastUpdated) - 60_000).toUTCString();
  assert.equal((await s.fhir(`/Patient/${created.id}`, { headers: { 'if-modified-since': later } })).status, 304);
  assert.equal((await s.fhir(`/Patient/${created.id}`, { headers: { 'if-modified-since': earlier } })).status, 200);
  // A list matches if any item does (it was compared as one string), `*` if the resource exists.
  assert.equal((await s.fhir(`/Patient/${created.id}`, { headers: { 'if-none-match': 'W/"0", W/"1"' } })).status, 304);
  assert.equal((await s.fhir(`/Patient/${created.id}`, { headers: { 'if-none-match': '*' } })).status, 304);
  // With If-None-Match given, If-Modified-Since is not consulted (RFC 9110 §13.1.3).
  assert.equal((await s.fhir(`/Patient/${created.id}`, { headers: { 'if-none-match': 'W/"0"', 'if-modified-since': later } })).status, 200);
  // A batch's read entries honour ifNoneMatch and ifModifiedSince with a 304 entry and no resource; they were ignored.
  const batch = await s.fhir('/', {
    method: 'POST',
    body: {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Patient/${created.id}`, ifNoneMatch: 'W/"1"' } },
        { request: { method: 'GET', url: `Patient/${created.id}`, ifModifiedSince: later } },
        { request: { method: 'GET', url: `Patient/${created.id}`, ifNoneMatch: 'W/"0"' } },
      ],
    },
  });
  assert.equal(batch.status, 200, batch.text);
  assert.deepEqual(batch.body.entry.map((e: any) => [e.response.status, e.response.etag, !!e.resource]), [
    ['304 Not Modified', 'W/"1"', false],
    ['304 Not Modified', 'W/"1"', false],
    ['200 OK', 'W/"1"', true],
  ]);
});

test('Prefer: return=minimal and return=OperationOutcome', async () => {
  const minimal = await s.fhir('/Patient', { method: 'POST', body: patient(), headers: { prefer: 'return=minimal' } });
  assert.equal(minimal.status, 201);
  assert.equal(minimal.text, '');
  assert.ok(minimal.headers.get('location'));
  const oo = await s.fhir('/Patient', { method: 'POST', body: patient(), headers: { prefer: 'return=OperationOutcome' } });
  assert.equal(oo.body.resourceType, 'OperationOutcome');
});

test('_pretty indents; _format=xml is refused clearly', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  const pretty = await s.fhir(`/Patient/${created.id}?_pretty=true`);
  assert.match(pretty.text, /\n {2}"resourceType"/);
  const xml = await s.fhir(`/Patient/${created.id}?_format=xml`);
  assert.equal(xml.status, 406);
  assert.equal(xml.body.resourceType, 'OperationOutcome');
});

test('a fhirVersion other than R4 in Accept is a 406 and in Content-Type a 415; R4 and the pre-R4 JSON type are served', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  const read = (accept: string) => s.fhir(`/Patient/${created.id}`, { headers: { accept } });
  for (const accept of ['application/fhir+json; fhirVersion=4.0', 'application/fhir+json;fhirVersion=4.0.1', 'application/fhir+json; fhirVersion=3.0, application/json']) {
    assert.equal((await read(accept)).status, 200, accept);
  }
  const stu3 = await read('application/fhir+json; fhirVersion=3.0');
  assert.equal(stu3.status, 406);
  assert.equal(stu3.body.issue[0].details.coding[0].code, 'unsupported-fhir-version');
  const post = (contentType: string) => s.fhir('/Patient', { method: 'POST', body: patient(), headers: { 'content-type': contentType } });
  const refused = await post('application/fhir+json; fhirVersion=5.0');
  assert.equal(refused.status, 415, refused.text);
  assert.equal(refused.body.issue[0].details.coding[0].code, 'unsupported-fhir-version');
  // The JSON type of DSTU2 and STU3, which R4 invites servers to keep accepting.
  assert.equal((await post('application/json+fhir')).status, 201);
});

test('read and vread subset with _summary and _elements as a search does, marked SUBSETTED', async () => {
  const created = (
    await s.fhir('/Patient', {
      method: 'POST',
      body: patient({ contact: [{ name: { family: 'Østby' } }], text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Åse Østby</div>' } }),
    })
  ).body;
  const keys = (r: any) => Object.keys(r).filter((k) => k !== 'meta').sort();
  const subsetted = (r: any) => r.meta.tag?.some((t: any) => t.code === 'SUBSETTED');
  for (const path of [`/Patient/${created.id}`, `/Patient/${created.id}/_history/1`]) {
    const summary = (await s.fhir(`${path}?_summary=true`)).body;
    assert.deepEqual(keys(summary), ['birthDate', 'gender', 'id', 'name', 'resourceType'], `${path}: contact and text are not in Patient's summary`);
    assert.ok(subsetted(summary), path);
    assert.deepEqual(keys((await s.fhir(`${path}?_summary=text`)).body), ['id', 'resourceType', 'text'], path);
    assert.deepEqual(keys((await s.fhir(`${path}?_summary=data`)).body), ['birthDate', 'contact', 'gender', 'id', 'name', 'resourceType'], path);
    const elements = (await s.fhir(`${path}?_elements=gender,Patient.birthDate`)).body;
    assert.deepEqual(keys(elements), ['birthDate', 'gender', 'id', 'resourceType'], path);
    assert.ok(subsetted(elements), path);
    const whole = (await s.fhir(`${path}?_summary=false`)).body;
    assert.deepEqual(whole, created, `${path}: _summary=false is the whole resource`);
  }
});

test('a search page sent as stored is the same Bundle as the pretty-printed one: matches, includes, reshaped entries and the outcome', async () => {
  const org = (await s.fhir('/Organization', { method: 'POST', body: { resourceType: 'Organization', name: 'Legekontoret på Ås' } })).body;
  const p = (await s.fhir('/Patient', { method: 'POST', body: patient({ managingOrganization: { reference: `Organization/${org.id}` }, name: [{ family: 'Æsøy-Splice', given: ['Ørjan'] }], maritalStatus: { text: 'Gift' } }) })).body;
  for (const query of [
    `name=Æsøy-Splice&_include=Patient:organization&unknownParam=1`,
    `name=Æsøy-Splice&_summary=true&_include=Patient:organization`,
    `name=Æsøy-Splice&_elements=gender`,
    `_id=${p.id}&_total=accurate`,
  ]) {
    const sent = await s.fhir(`/Patient?${query}`);
    const pretty = await s.fhir(`/Patient?${query}&_pretty=true`);
    assert.equal(sent.status, 200, query);
    assert.match(pretty.text, /\n {2}"resourceType"/);
    assert.doesNotMatch(sent.text, /\n/);
    // The links name the query as sent, so they differ by _pretty alone.
    const withoutLinks = (b: any) => ({ ...b, link: b.link.map((l: any) => ({ ...l, url: l.url.replace(/&_pretty=true/, '') })) });
    assert.deepEqual(withoutLinks(sent.body), withoutLinks(pretty.body), query);
    assert.ok(sent.body.entry.some((e: any) => e.resource.id === p.id), query);
  }
  const included = (await s.fhir(`/Patient?name=Æsøy-Splice&_include=Patient:organization&unknownParam=1`)).body;
  assert.deepEqual(included.entry.map((e: any) => e.search.mode), ['match', 'include', 'outcome']);
  assert.deepEqual(included.entry[1].resource, org);
  const summarised = (await s.fhir(`/Patient?name=Æsøy-Splice&_summary=true`)).body;
  assert.equal(summarised.entry[0].resource.maritalStatus, undefined, '_summary still reshapes the matches');
  assert.deepEqual(summarised.entry[0].resource.meta.tag, [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' }]);
  assert.equal(summarised.entry[0].resource.name[0].family, 'Æsøy-Splice');
});

test('bad input gets an OperationOutcome with a stable code and path, never a 500, and writes nothing', async () => {
  const count = async () => (await s.platform.db.query<{ n: number }>('select count(*)::int as n from resource_history'))[0].n;
  await s.fhir('/Patient/patchable', { method: 'PUT', body: patient({ id: 'patchable' }) });
  const before = await count();
  const cases: [string, { method: string; body?: unknown; headers?: Record<string, string> }, number, string][] = [
    ['/Patient', { method: 'POST', body: '{"resourceType": "Patient",', headers: { 'content-type': 'application/fhir+json' } }, 400, 'malformed-json'],
    ['/Patient', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } }, 400, 'type-mismatch'],
    ['/Patient/abc', { method: 'PUT', body: patient({ id: 'xyz' }) }, 400, 'id-mismatch'],
    ['/Patient/abc', { method: 'PUT', body: patient() }, 400, 'missing-id'],
    ['/Unicorn', { method: 'POST', body: { resourceType: 'Unicorn' } }, 404, 'unknown-resource-type'],
    ['/Patient', { method: 'POST', body: patient({ gender: 'x' }) }, 422, ''],
    ['/Patient', { method: 'POST', body: patient({ birthDate: '1980-13-45' }) }, 422, ''],
    ['/Observation', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/does-not-exist' } } }, 400, 'reference-not-found'],
    ['/Patient', { method: 'POST', body: 'not json at all', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported-media-type'],
    // Each of these was a 500 before.
    ['/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: 'x' } }, 400, 'invalid-bundle'],
    ['/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: [null] } }, 400, 'invalid-bundle'],
    ['/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 5 }, resource: patient() }] } }, 400, 'invalid-bundle'],
    ['/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'Patient', ifNoneExist: 5 }, resource: patient() }] } }, 400, 'invalid-bundle'],
    ['/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'POST', url: 'DocumentReference' }, resource: { resourceType: 'DocumentReference', status: 'current', content: 'x' } }] } }, 400, 'invalid-document'],
    ['/Patient', { method: 'POST', body: patient({ meta: { tag: [null] } }) }, 422, ''],
    // Each of these was stored (or silently skipped) before.
    ['/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'post', url: 'Patient' }, resource: patient() }] } }, 400, 'invalid-method'],
    ['/', { method: 'POST', body: { resourceType: 'Bundle', type: 'transaction', entry: [{ request: { method: 'toString', url: 'Patient' }, resource: patient() }] } }, 400, 'invalid-method'],
    [
      '/',
      {
        method: 'POST',
        body: {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [0, 1].map(() => ({ fullUrl: 'urn:uuid:5b4c1d0e-0000-4000-8000-000000000001', request: { method: 'POST', url: 'Patient' }, resource: patient() })),
        },
      },
      400,
      'duplicate-fullurl',
    ],
    // Stored as sent before: FHIR JSON has no empty arrays.
    ['/Patient', { method: 'POST', body: patient({ name: [] }) }, 422, 'empty-value'],
    ['/Patient', { method: 'POST', body: patient({ name: [{ family: 'X', given: [] }] }) }, 422, 'empty-value'],
    // A narrative is rendered by every client that shows the resource; a script there would run for each reader.
    ['/Patient', { method: 'POST', body: patient({ text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script>Åse</div>' } }) }, 422, 'narrative-element'],
    ['/Patient/x/_history/99999999999999999999', { method: 'GET' }, 404, 'not-found'],
    ['/Patient/patchable?_summary=count', { method: 'GET' }, 400, 'invalid-summary'],
    // Each of these was a 404 no-such-endpoint or unknown-resource-type before, where GET of a type's $foo said unknown-operation.
    ['/Patient/patchable/$foo', { method: 'POST', body: { resourceType: 'Parameters' } }, 404, 'unknown-operation'],
    ['/Patient/$foo', { method: 'POST', body: { resourceType: 'Parameters' } }, 404, 'unknown-operation'],
    ['/$foo', { method: 'GET' }, 404, 'unknown-operation'],
    ['/$foo', { method: 'POST', body: { resourceType: 'Parameters' } }, 404, 'unknown-operation'],
    // Read as the id "$foo" and as a compartment search of the type "$foo" before.
    ['/Patient/$foo', { method: 'GET' }, 404, 'unknown-operation'],
    ['/Patient/x/$foo', { method: 'GET' }, 404, 'unknown-operation'],
    ['/Patient/%00', { method: 'GET' }, 404, 'not-found'],
    ['/Patient?name=%00', { method: 'GET' }, 400, 'invalid-value'],
    // A uri may hold any non-space character by R4's regex, NUL included, which PostgreSQL's text cannot.
    ['/Patient', { method: 'POST', body: patient({ identifier: [{ system: 'urn:x\u0000y', value: '1' }] }) }, 400, 'invalid-value'],
    ['/Patient', { method: 'POST', body: `{"resourceType":"Patient","extension":[${'{"url":"http://x","extension":['.repeat(20_000)}${']}'.repeat(20_000)}]}` }, 400, 'too-deep'],
    ['/Patient/patchable', { method: 'PATCH', body: { resourceType: 'Parameters', parameter: 'x' } }, 400, 'patch-invalid'],
    ['/Patient/$validate', { method: 'POST', body: { resourceType: 'Parameters', parameter: 'x' } }, 400, 'invalid-parameters'],
    // The services' operations read their Parameters through the same check.
    ['/MedicationRequest/$prescribe', { method: 'POST', body: { resourceType: 'Parameters', parameter: 'x' } }, 400, 'invalid-parameters'],
    ['/MedicationRequest/abc/$revoke', { method: 'POST', body: { resourceType: 'Parameters', parameter: [null] } }, 400, 'invalid-parameters'],
    ['/DiagnosticReport/abc/$citizen-release', { method: 'POST', body: { resourceType: 'Parameters', parameter: [{ name: 'decision', valueCode: 5 }] } }, 400, 'invalid-parameters'],
    // Refused by Node's HTTP parser before the routes: an OperationOutcome all the same.
    [`/Patient?_id=${'x'.repeat(20_000)}`, { method: 'GET' }, 431, 'headers-too-large'],
  ];
  for (const [path, init, status, code] of cases) {
    const res = await s.fhir(path, init);
    assert.equal(res.status, status, `${init.method} ${path} ${String(JSON.stringify(init.body)).slice(0, 80)}: ${res.text}`);
    assert.equal(res.body?.resourceType, 'OperationOutcome', res.text);
    if (code) assert.equal(res.body.issue[0].details.coding[0].code, code, res.text);
    if (status === 422) assert.ok(res.body.issue.some((i: any) => i.expression?.length), `422 names the element: ${res.text}`);
  }
  assert.equal(await count(), before, 'no rejected request wrote anything');
});

test('a version-specific reference must name a stored version that is not a deletion; the resource may have moved on', async () => {
  const p = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  await s.fhir(`/Patient/${p.id}`, { method: 'PUT', body: { ...p, gender: 'other' } });
  assert.equal((await s.fhir(`/Patient/${p.id}`, { method: 'DELETE' })).status, 204);
  const observe = (reference: string) =>
    s.fhir('/Observation', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference } } });
  for (const version of ['1', '2']) assert.equal((await observe(`Patient/${p.id}/_history/${version}`)).status, 201, `version ${version}`);
  for (const reference of [`Patient/${p.id}`, `Patient/${p.id}/_history/3`, `Patient/${p.id}/_history/4`, `Patient/${p.id}/_history/abc`, `Patient/${p.id}/_history/9999999999`]) {
    const res = await observe(reference);
    assert.equal(res.status, 400, reference);
    assert.equal(res.body.issue[0].details.coding[0].code, 'reference-not-found', reference);
    assert.match(res.body.issue[0].diagnostics, new RegExp(`Reference ${reference}`));
  }
});

test('a body over the size limit is refused with 413', async () => {
  const big = patient({ text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(s.platform.config.maxBodyBytes)}</div>` } });
  const res = await s.fhir('/Patient', { method: 'POST', body: big });
  assert.equal(res.status, 413);
  assert.equal(res.body.issue[0].details.coding[0].code, 'body-too-large');
});

test('metadata is a CapabilityStatement for FHIR 4.0.1', async () => {
  const res = await s.fhir('/metadata');
  assert.equal(res.body.resourceType, 'CapabilityStatement');
  assert.equal(res.body.fhirVersion, '4.0.1');
  const obs = res.body.rest[0].resource.find((r: any) => r.type === 'Observation');
  assert.ok(obs.searchParam.some((p: any) => p.name === 'code'));
  // What it claims of references holds: a reference to a missing resource is refused (the
  // bad-input test), but one to another server is kept, and a referenced resource can be deleted.
  assert.deepEqual(obs.referencePolicy, ['literal', 'logical']);
  const target = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  for (const reference of [`Patient/${target.id}`, 'https://fhir.example.org/Patient/1']) {
    const res = await s.fhir('/Observation', { method: 'POST', body: { resourceType: 'Observation', status: 'final', code: { text: 'puls' }, subject: { reference } } });
    assert.equal(res.status, 201, res.text);
  }
  assert.equal((await s.fhir(`/Patient/${target.id}`, { method: 'DELETE' })).status, 204);
});

test("metadata lists every operation the server has, the services' included, and each one listed answers", async () => {
  const rest = (await s.fhir('/metadata')).body.rest[0];
  const listed: { scope: string; name: string; documentation: string }[] = [
    ...rest.operation.map((o: any) => ({ scope: 'system', ...o })),
    ...rest.resource.flatMap((r: any) => (r.operation ?? []).map((o: any) => ({ scope: r.type, ...o }))),
  ];
  const names = listed.map((o) => `${o.scope}:${o.name}`);
  for (const expected of ['system:validate', 'Patient:everything', 'MedicationRequest:prescribe', 'MedicationRequest:dispense', 'DiagnosticReport:citizen-release', 'Observation:trend', 'system:medication-list', 'system:access-log']) {
    assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
  }
  for (const o of listed) {
    assert.ok(o.documentation, `${o.name} says how it is called`);
    for (const call of o.documentation.split('; ')) {
      const [method, path] = call.split(' ');
      const res = await s.fhir(path.replace('[base]', '').replace('[type]', 'Patient').replace('[id]', 'x'), { method, ...(method === 'GET' ? {} : { body: { resourceType: 'Parameters' } }) });
      assert.notEqual(res.body?.issue?.[0]?.details?.coding?.[0]?.code, 'no-such-endpoint', `${call}: ${res.text}`);
      assert.notEqual(res.body?.issue?.[0]?.details?.coding?.[0]?.code, 'unknown-operation', `${call}: ${res.text}`);
    }
  }
});

test('20 concurrent If-Match updates: exactly one wins per version, history has no gaps', async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  let current = created;
  for (let round = 0; round < 3; round++) {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s.fhir(`/Patient/${created.id}`, {
          method: 'PUT',
          body: { ...current, name: [{ family: `Round${round}`, given: [`Client${i}`] }] },
          headers: { 'if-match': `W/"${current.meta.versionId}"` },
        })
      )
    );
    assert.equal(results.filter((r) => r.status === 200).length, 1, `round ${round}: one winner`);
    assert.equal(results.filter((r) => r.status === 412).length, 19, `round ${round}: the rest get 412`);
    current = (await s.fhir(`/Patient/${created.id}`)).body;
  }
  const hist = await s.fhir(`/Patient/${created.id}/_history`);
  assert.deepEqual(hist.body.entry.map((e: any) => e.resource.meta.versionId), ['4', '3', '2', '1']);
});

test('10 concurrent creates of one id by PUT: one creates, the others update it, none fails', async () => {
  // On PostgreSQL the creates race for the id and the losers hit the unique key (a 500 before);
  // the server runs a losing PUT again, which then finds the resource and updates it.
  for (let round = 0; round < 3; round++) {
    const id = `race-${round}-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => s.fhir(`/Patient/${id}`, { method: 'PUT', body: patient({ id, name: [{ family: `Racer${i}` }] }) }))
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 201], `round ${round}`);
    const hist = await s.fhir(`/Patient/${id}/_history`);
    assert.deepEqual(hist.body.entry.map((e: any) => e.resource.meta.versionId).sort((a: string, b: string) => Number(a) - Number(b)), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  }
});

test('a SearchParameter in a transaction that rolls back takes no effect; stored, it does', async () => {
  const param = {
    resourceType: 'SearchParameter',
    url: 'https://samhandling.dev/fhir/SearchParameter/patient-rollback-test',
    name: 'rollbacktest',
    status: 'active',
    description: 'Patient gender again, to test rollback',
    code: 'rollbacktest',
    base: ['Patient'],
    type: 'token',
    expression: 'Patient.gender',
  };
  const strict = { prefer: 'handling=strict' };
  const failed = await s.fhir('/', {
    method: 'POST',
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: param, request: { method: 'POST', url: 'SearchParameter' } },
        // Fails at write time, after the SearchParameter (a POST) is stored: a version conflict.
        { resource: { resourceType: 'Patient', id: 'rollback-x' }, request: { method: 'PUT', url: 'Patient/rollback-x', ifMatch: 'W/"9"' } },
      ],
    },
  });
  assert.ok(failed.status >= 400, failed.text);
  assert.equal((await s.fhir('/Patient?rollbacktest=female', { headers: strict })).status, 400, 'the rolled-back parameter is unknown');
  assert.equal((await s.fhir('/SearchParameter', { method: 'POST', body: param })).status, 201);
  const created = await s.fhir('/Patient', { method: 'POST', body: { resourceType: 'Patient', gender: 'female' } });
  const found = await s.fhir('/Patient?rollbacktest=female', { headers: strict });
  assert.equal(found.status, 200, found.text);
  assert.ok(found.body.entry.some((e: any) => e.resource.id === created.body.id));
});

test("vread and a resource's history look its versions up by key, not through its type's whole history", async () => {
  const created = (await s.fhir('/Patient', { method: 'POST', body: patient() })).body;
  await s.fhir(`/Patient/${created.id}`, { method: 'PUT', body: { ...created, gender: 'other' } });
  // Other patients' history, enough that reading all of it is a plan the planner could consider.
  const { db } = s.platform;
  await db.query(`insert into resource_history (rid, version, type, id, last_updated, method, content)
                  select -g, 1, 'Patient', 'other-' || g, now(), 'POST', '{}' from generate_series(1, 5000) g`);
  await db.query('analyze resource_history');
  await db.query('analyze resource');
  const scans = async (q: Sql) => {
    const [row] = await run<{ 'QUERY PLAN': any }>(db, sql`explain (format json) ${q}`);
    const plan = typeof row['QUERY PLAN'] === 'string' ? JSON.parse(row['QUERY PLAN']) : row['QUERY PLAN'];
    const found: string[] = [];
    const walk = (n: any) => {
      if (n['Relation Name'] === 'resource_history') found.push(`${n['Node Type']} ${n['Index Name'] ?? ''}`.trim());
      for (const c of n.Plans ?? []) walk(c);
    };
    walk(plan[0].Plan);
    return found;
  };
  assert.deepEqual(await scans(versionQuery('Patient', created.id, 1)), ['Index Scan resource_history_pkey']);
  for (const at of [undefined, new Date().toISOString()]) {
    const found = await scans(historyQuery({ type: 'Patient', id: created.id, at, count: 51 }));
    assert.ok(found.length && found.every((f) => / resource_history_pkey$/.test(f)), `${at ? '_at: ' : ''}${found.join(', ')}`);
  }
  // And the answers are the same as ever.
  assert.equal((await s.fhir(`/Patient/${created.id}/_history/1`)).body.gender, 'female');
  assert.deepEqual((await s.fhir(`/Patient/${created.id}/_history`)).body.entry.map((e: any) => e.resource.gender), ['other', 'female']);
});
