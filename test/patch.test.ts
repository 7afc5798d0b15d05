import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { getDataType } from '@medplum/core';
import type { InternalSchemaElement } from '@medplum/core';
import type { Parameters, Resource } from '@medplum/fhirtypes';
import { applyFhirPathPatch, applyJsonPatch } from '../src/fhir/patch.ts';
import { FhirError } from '../src/fhir/outcome.ts';
import { loadBaseDefinitions } from '../src/fhir/profiles.ts';
import { SHARED_DATA } from './helpers/paths.ts';

const PATCH_DIR = path.join(SHARED_DATA, 'fhir-test-cases/patch');

const fhirError = (status: number, code?: string) => (err: unknown) =>
  err instanceof FhirError && err.status === status && (!code || err.issues[0].details?.coding?.[0]?.code === code);

// --- JSON Patch: the RFC 6902 cases ---------------------------------------------------------------------------------

interface JsonPatchCase {
  comment: string;
  doc: unknown;
  patch: unknown[];
  expected?: unknown;
  error?: string;
}

const jsonCases = JSON.parse(fs.readFileSync(path.join(PATCH_DIR, 'json-patch-tests.json'), 'utf8')) as JsonPatchCase[];

test('JSON Patch: every case in json-patch-tests.json', () => {
  assert.equal(jsonCases.length, 16);
  for (const c of jsonCases) {
    // The cases patch plain JSON documents; applyJsonPatch only insists that type and id stay as they were.
    const doc = c.doc as Resource;
    if (c.error) {
      assert.throws(() => applyJsonPatch(doc, c.patch), fhirError(422, 'patch-failed'), c.comment);
    } else {
      assert.deepEqual(applyJsonPatch(doc, c.patch), c.expected, c.comment);
    }
  }
});

test('JSON Patch leaves the input untouched and refuses to change id or resourceType', () => {
  const patient = { resourceType: 'Patient', id: 'p1', active: true } as Resource;
  const out = applyJsonPatch(patient, [{ op: 'replace', path: '/active', value: false }]);
  assert.deepEqual(out, { resourceType: 'Patient', id: 'p1', active: false });
  assert.equal((patient as { active?: boolean }).active, true);
  assert.throws(() => applyJsonPatch(patient, [{ op: 'replace', path: '/id', value: 'p2' }]), fhirError(422, 'patch-changes-id'));
  assert.throws(() => applyJsonPatch(patient, [{ op: 'remove', path: '/id' }]), fhirError(422, 'patch-changes-id'));
  assert.throws(() => applyJsonPatch(patient, [{ op: 'replace', path: '/resourceType', value: 'Group' }]), fhirError(422, 'patch-changes-type'));
});

test('JSON Patch: a malformed document is a 400 naming the operation', () => {
  const patient = { resourceType: 'Patient', id: 'p1' } as Resource;
  assert.throws(() => applyJsonPatch(patient, { op: 'add' }), fhirError(400, 'patch-invalid'));
  assert.throws(() => applyJsonPatch(patient, [{ op: 'frobnicate', path: '/a' }]), (e: unknown) => fhirError(400)(e) && (e as FhirError).issues[0].expression?.[0] === '/0/op');
  assert.throws(() => applyJsonPatch(patient, [{ op: 'add', path: 'active', value: true }]), fhirError(400, 'patch-invalid'));
  assert.throws(() => applyJsonPatch(patient, [{ op: 'add', path: '/active' }]), fhirError(400, 'patch-invalid'));
  assert.throws(() => applyJsonPatch(patient, [{ op: 'move', path: '/a' }]), fhirError(400, 'patch-invalid'));
  // A failed operation later in the document reports its own index.
  assert.throws(
    () => applyJsonPatch(patient, [{ op: 'add', path: '/active', value: true }, { op: 'remove', path: '/gender' }]),
    (e: unknown) => fhirError(422, 'patch-failed')(e) && (e as FhirError).issues[0].expression?.[0] === '/1'
  );
});

test('JSON Patch: copies within the document are bounded, since each can double it', () => {
  const patient = { resourceType: 'Patient', id: 'p1' } as Resource;
  const doubling = (n: number) => [
    { op: 'add', path: '/extension', value: [{ url: 'http://example.org/x', valueString: 'x' }] },
    ...Array.from({ length: n }, () => ({ op: 'copy', from: '/extension', path: '/extension/-' })),
  ];
  // Each copy puts the whole list into itself: 22 copies, a patch of 1.3 kB, would make a document holding 4 million
  // copies of the first extension (2.5 s): refused at the copy that passes the bound.
  const t = performance.now();
  assert.throws(() => applyJsonPatch(patient, doubling(22)), (e: unknown) => fhirError(422, 'patch-too-large')(e) && /^\/(1[6-9]|2[0-2])$/.test((e as FhirError).issues[0].expression![0]));
  assert.ok(performance.now() - t < 2000, `took ${(performance.now() - t).toFixed(0)} ms`);
  assert.equal(JSON.stringify(applyJsonPatch(patient, doubling(3))).match(/example\.org/g)!.length, 8, 'a few copies are copies');
});

// --- FHIRPath Patch: the cases in fhir-patch-tests.xml ----------------------------------------------------------------

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  raw: string; // the element's source text, for XHTML
}

/** A small XML reader, enough for the FHIR test files: elements, attributes, comments; text is ignored. */
function parseXml(source: string): XmlNode {
  const text = source.replace(/\r\n?/g, '\n'); // XML 1.0 section 2.11: line ends are normalised before parsing
  const decode = (s: string) =>
    s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) =>
      e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : e === 'apos' ? "'" : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : Number(e.slice(1)))
    );
  const root: XmlNode = { name: '#root', attrs: {}, children: [], raw: '' };
  const stack: { node: XmlNode; start: number }[] = [{ node: root, start: 0 }];
  const tag = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<\/([\w:.-]+)\s*>|<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  for (let m = tag.exec(text); m; m = tag.exec(text)) {
    if (m[1]) {
      const { node, start } = stack.pop()!;
      node.raw = text.slice(start, m.index + m[0].length);
    } else if (m[2]) {
      const attrs: Record<string, string> = {};
      for (const a of m[3].matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[a[1]] = decode(a[2] ?? a[3]);
      const node: XmlNode = { name: m[2], attrs, children: [], raw: m[0] };
      stack[stack.length - 1].node.children.push(node);
      if (!m[4]) stack.push({ node, start: m.index });
    }
  }
  return root;
}

const NUMBER_TYPES = new Set(['integer', 'decimal', 'positiveInt', 'unsignedInt']);
const PRIMITIVES = new Set(['boolean', 'string', 'code', 'id', 'uri', 'url', 'canonical', 'oid', 'uuid', 'markdown', 'base64Binary', 'date', 'dateTime', 'instant', 'time', ...NUMBER_TYPES]);

/** FHIR XML to FHIR JSON, driven by the R4 schema (which elements are lists, which are numbers or booleans). */
function xmlToFhir(node: XmlNode): Resource {
  return convertComplex(node, node.name) as unknown as Resource;
}

function convertComplex(node: XmlNode, typeName: string): Record<string, unknown> {
  const schema = getDataType(typeName);
  const out: Record<string, unknown> = {};
  if (schema.kind === 'resource') out.resourceType = typeName;
  for (const [k, v] of Object.entries(node.attrs)) if (k === 'id' || k === 'url') out[k] = v;
  for (const child of node.children) {
    let element: InternalSchemaElement | undefined = schema.elements[child.name];
    let typeCode: string | undefined = element?.type[0]?.code;
    if (!element) {
      const choice = Object.keys(schema.elements).find((k) => k.endsWith('[x]') && child.name.startsWith(k.slice(0, -3)));
      element = choice ? schema.elements[choice] : undefined;
      typeCode = element?.type.find((t) => child.name === choice!.slice(0, -3) + t.code[0].toUpperCase() + t.code.slice(1))?.code;
    }
    if (!element || !typeCode) throw new Error(`unknown element ${typeName}.${child.name}`);
    const put = (key: string, value: unknown, index?: number) => {
      if (!element!.isArray) out[key] = value;
      else ((out[key] ??= []) as unknown[])[index ?? (out[child.name] as unknown[] | undefined)?.length ?? 0] = value;
    };
    if (typeCode === 'xhtml') {
      // The same XHTML may spell a quote as `"` or `&quot;`; JSON keeps a string, so pick one spelling.
      put(child.name, child.raw.replace(/&quot;/g, '"').replace(/&apos;/g, "'"));
    } else if (PRIMITIVES.has(typeCode)) {
      const raw = child.attrs.value;
      const value = raw === undefined ? null : typeCode === 'boolean' ? raw === 'true' : NUMBER_TYPES.has(typeCode) ? Number(raw) : raw;
      const index = element.isArray ? ((out[child.name] as unknown[] | undefined)?.length ?? 0) : undefined;
      put(child.name, value, index);
      if (child.children.length) put('_' + child.name, convertComplex(child, 'Element'), index);
    } else if (typeCode === 'Resource') {
      put(child.name, xmlToFhir(child.children[0]));
    } else {
      put(child.name, convertComplex(child, typeCode));
    }
  }
  return out;
}

interface PatchCase {
  name: string;
  input: Resource;
  diff: Parameters;
  output?: Resource;
  error?: string;
}

loadBaseDefinitions();
const xmlCases: PatchCase[] = parseXml(fs.readFileSync(path.join(PATCH_DIR, 'fhir-patch-tests.xml'), 'utf8'))
  .children[0].children.filter((c) => c.name === 'case')
  .map((c) => {
    const part = (name: string) => c.children.find((x) => x.name === name);
    return {
      name: c.attrs.name,
      input: xmlToFhir(part('input')!.children[0]),
      diff: xmlToFhir(part('diff')!.children[0]) as Parameters,
      output: part('output') && xmlToFhir(part('output')!.children[0]),
      error: part('error')?.attrs.msg,
    };
  });

test('the XML reader reads the cases faithfully', () => {
  assert.equal(xmlCases.length, 33);
  const full = xmlCases.find((c) => c.name === 'Full Resource')!;
  const input = full.input as { birthDate?: string; _birthDate?: { extension: { url: string; valueDateTime: string }[] }; deceasedBoolean?: boolean };
  assert.equal(input.birthDate, '1974-12-25');
  assert.deepEqual(input._birthDate, { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1974-12-25T14:35:45-05:00' }] });
  assert.equal(input.deceasedBoolean, false);
  const missing = xmlCases.find((c) => c.name === 'Operation on missing element')!;
  assert.equal(missing.diff.parameter![0].part![1].valueString, "Patient.identifier.where(use = 'official').period");
});

test('FHIRPath Patch: every case in fhir-patch-tests.xml', () => {
  for (const c of xmlCases) {
    if (c.error) {
      assert.throws(() => applyFhirPathPatch(c.input, c.diff), (e: unknown) => e instanceof FhirError && e.status === 422 && e.message === c.error, c.name);
    } else {
      assert.deepEqual(applyFhirPathPatch(c.input, c.diff), c.output, c.name);
    }
  }
});

// --- FHIRPath Patch: rules the case file does not cover ----------------------------------------------------------------

const op = (type: string, parts: Record<string, unknown>): Parameters['parameter'] extends (infer P)[] | undefined ? P : never => ({
  name: 'operation',
  part: [
    { name: 'type', valueCode: type },
    ...Object.entries(parts).map(([name, value]) =>
      name === 'path' || name === 'name' ? { name, valueString: value as string } : typeof value === 'number' ? { name, valueInteger: value } : { name, ...(value as object) }
    ),
  ],
});
const params = (...parameter: ReturnType<typeof op>[]): Parameters => ({ resourceType: 'Parameters', parameter });

test('FHIRPath Patch refuses to change id or resourceType and does not touch its input', () => {
  const patient = { resourceType: 'Patient', id: 'p1', birthDate: '1920-01-01' } as Resource;
  assert.throws(() => applyFhirPathPatch(patient, params(op('replace', { path: 'Patient.id', value: { valueId: 'p2' } }))), fhirError(422, 'patch-changes-id'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('delete', { path: 'Patient.id' }))), fhirError(422, 'patch-changes-id'));
  const out = applyFhirPathPatch(patient, params(op('replace', { path: 'Patient.birthDate', value: { valueDate: '1930-01-01' } })));
  assert.equal((out as { birthDate?: string }).birthDate, '1930-01-01');
  assert.equal((patient as { birthDate?: string }).birthDate, '1920-01-01');
});

test('FHIRPath Patch: choice elements take the JSON key of the value type', () => {
  const patient = { resourceType: 'Patient', id: 'p1' } as Resource;
  const added = applyFhirPathPatch(patient, params(op('add', { path: 'Patient', name: 'deceased', value: { valueDateTime: '2020-01-01' } })));
  assert.deepEqual(added, { resourceType: 'Patient', id: 'p1', deceasedDateTime: '2020-01-01' });
  const deleted = applyFhirPathPatch(added, params(op('delete', { path: 'Patient.deceased' })));
  assert.deepEqual(deleted, { resourceType: 'Patient', id: 'p1' });
});

test('FHIRPath Patch: malformed parameters are a 400, impossible operations a 422', () => {
  const patient = { resourceType: 'Patient', id: 'p1', identifier: [{ value: 'a' }, { value: 'b' }] } as Resource;
  assert.throws(() => applyFhirPathPatch(patient, { resourceType: 'Patient' } as unknown as Parameters), fhirError(400, 'patch-invalid'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('upsert', { path: 'Patient' }))), fhirError(400, 'patch-invalid'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('add', { path: 'Patient', value: { valueDate: '2020-01-01' } }))), fhirError(400, 'patch-invalid'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('insert', { path: 'Patient.identifier', index: 5, value: { valueIdentifier: { value: 'c' } } }))), fhirError(422, 'patch-index-invalid'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('replace', { path: 'Patient.identifier', value: { valueIdentifier: { value: 'c' } } }))), fhirError(422, 'patch-path-ambiguous'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('replace', { path: 'Patient.gender', value: { valueCode: 'male' } }))), fhirError(422, 'patch-path-not-found'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('add', { path: 'Patient', name: 'nickname', value: { valueString: 'x' } }))), fhirError(422, 'patch-path-invalid'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('delete', { path: 'Patient.identifier.where(' }))), fhirError(400, 'patch-invalid'));
  assert.throws(() => applyFhirPathPatch(patient, params(op('add', { path: 'Patient.identifier', name: 'use', value: { valueCode: 'usual' } }))), fhirError(422, 'patch-path-ambiguous'));
});

test('FHIRPath Patch selects among many repeats in linear time', () => {
  // 100,000 identifiers, half of them selected: 4 s when each candidate searched and spliced the selected list.
  const identifier = Array.from({ length: 100_000 }, (_, i) => ({ system: i % 2 ? 'b' : 'a', value: String(i) }));
  const patient = { resourceType: 'Patient', id: 'p1', identifier } as Resource;
  const t = performance.now();
  assert.throws(() => applyFhirPathPatch(patient, params(op('delete', { path: "Patient.identifier.where(system='b')" }))), fhirError(422, 'patch-path-ambiguous'));
  assert.ok(performance.now() - t < 2000, `took ${(performance.now() - t).toFixed(0)} ms`);
  // The same rule picks the one selected value among equal primitives and among objects.
  const named = { resourceType: 'Patient', id: 'p1', name: [{ given: ['a', 'b', 'a'] }], identifier: [{ value: 'a' }, { value: 'b' }] } as Resource;
  assert.deepEqual((applyFhirPathPatch(named, params(op('delete', { path: "Patient.name.given.where($this='b')" }))) as any).name, [{ given: ['a', 'a'] }]);
  assert.deepEqual((applyFhirPathPatch(named, params(op('delete', { path: "Patient.identifier.where(value='b')" }))) as any).identifier, [{ value: 'a' }]);
});
