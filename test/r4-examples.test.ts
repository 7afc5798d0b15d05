import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { createValidator } from '../src/fhir/validation.ts';
import { SHARED_DATA } from './helpers/paths.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

/**
 * The official R4 examples (hl7.fhir.r4.examples 4.0.1). Each file the validator rejects is listed here with the
 * reason; anything else rejected, or anything listed that passes, fails the test.
 */
const REJECTED: Record<string, { codes: string[]; reason: string }> = {
  'package.json': {
    codes: ['resource-type-missing'],
    reason: 'The npm manifest of the examples package, not a FHIR resource.',
  },
  // txt-2: "The narrative SHALL have some non-whitespace content"; these four have status generated and a div of blanks.
  ...Object.fromEntries(
    [
      'ActivityDefinition-blood-tubes-supply.json',
      'ActivityDefinition-heart-valve-replacement.json',
      'EventDefinition-example.json',
      'Questionnaire-zika-virus-exposure-assessment.json',
    ].map((file) => [file, { codes: ['narrative-empty'], reason: 'Its narrative (text.status generated) is an XHTML div of whitespace only, which invariant txt-2 forbids.' }])
  ),
  'Questionnaire-qs1.json': {
    codes: ['element-required'],
    reason:
      'Its display items (Questionnaire.item.item, 32 of them) have no linkId; Questionnaire.item.linkId is 1..1 in R4. ' +
      'The example is wrong (later FHIR versions fixed it).',
  },
};

const DIR = path.join(SHARED_DATA, 'r4-examples');
const examples = fs
  .readdirSync(DIR)
  .sort()
  .map((file) => {
    const text = fs.readFileSync(path.join(DIR, file), 'utf8');
    return { file, text, resource: JSON.parse(text) as Resource };
  });

/** The number literals of a JSON text as written, in order, apart from those in meta (which has none in R4). */
const numberLiterals = (text: string) => [...text.matchAll(/"[^"\\]*(?:\\.[^"\\]*)*"|(-?[0-9][0-9.eE+-]*)/g)].flatMap((m) => (m[1] ? [m[1]] : []));

const errorCodes = (issues: { severity?: string; details?: { coding?: { code?: string }[] } }[]) => [
  ...new Set(issues.filter((i) => i.severity === 'error').map((i) => i.details?.coding?.[0]?.code as string)),
];

test('the validator rejects exactly the listed R4 examples, for the listed reasons', () => {
  assert.equal(examples.length, 777);
  const validator = createValidator();
  const rejected: Record<string, string[]> = {};
  for (const { file, resource } of examples) {
    const codes = errorCodes(validator.validate(resource));
    if (codes.length) rejected[file] = codes;
  }
  assert.deepEqual(rejected, Object.fromEntries(Object.entries(REJECTED).map(([f, r]) => [f, r.codes])));
});

let server: TestServer;
before(async () => {
  // The examples point at each other and at resources that are not in the package; they are stored one by one.
  server = await startTestServer({ repository: { referentialIntegrity: false } });
});
after(async () => server?.close());

const withoutMeta = (r: Record<string, unknown>) => {
  const { meta: _meta, ...rest } = r;
  return rest;
};

test('every R4 example is stored with PUT and read back equal apart from meta, its decimals as written; the listed ones are refused with 422', async () => {
  const refused: Record<string, string[]> = {};
  const differing: string[] = [];
  const numbersDiffering: string[] = [];
  let keptPrecision = 0;
  for (const { file, text, resource } of examples) {
    if (!resource.resourceType || !resource.id) {
      refused[file] = ['resource-type-missing'];
      continue;
    }
    const url = `/${resource.resourceType}/${resource.id}`;
    const put = await server.fhir(url, { method: 'PUT', body: text });
    if (put.status === 422) {
      refused[file] = errorCodes(put.body.issue);
      continue;
    }
    assert.ok(put.status === 200 || put.status === 201, `${file}: PUT gave ${put.status} ${put.text.slice(0, 300)}`);
    const read = await server.fhir(url);
    assert.equal(read.status, 200, file);
    try {
      assert.deepEqual(withoutMeta(read.body), withoutMeta(resource as unknown as Record<string, unknown>));
    } catch {
      differing.push(file);
    }
    // Equal as parsed JSON says nothing of 1.50 against 1.5 (R4: a decimal's precision is significant).
    const sent = numberLiterals(text);
    if (JSON.stringify(numberLiterals(read.text)) !== JSON.stringify(sent)) numbersDiffering.push(file);
    if (sent.some((n) => String(Number(n)) !== n)) keptPrecision++;
  }
  assert.deepEqual(differing, [], 'read back differs');
  assert.deepEqual(numbersDiffering, [], 'numbers read back differ from those sent');
  assert.ok(keptPrecision >= 30, `examples whose decimals JS would rewrite (1.0, 0.40): ${keptPrecision}`);
  assert.deepEqual(refused, Object.fromEntries(Object.entries(REJECTED).map(([f, r]) => [f, r.codes])));
});
