import { test } from 'node:test';
import assert from 'node:assert/strict';
import { carryLiterals, cloneFhirJson, parseFhirJson, stringifyFhirJson } from '../src/fhir/json-decimals.ts';
import { contentKey } from '../src/fhir/json.ts';

test('decimals come back as written: trailing zeros, exponents, -0 and digits beyond a double, in objects and arrays', () => {
  const text = '{"a":1.50,"b":[1.0,2,3.25e3,0.40],"c":{"d":-0,"e":66.899999999999991,"f":7.1}}';
  const value = parseFhirJson(text);
  assert.equal(JSON.stringify(value), JSON.stringify(JSON.parse(text)), 'the values are the numbers JSON.parse gives');
  assert.equal(stringifyFhirJson(value), text);
  const pretty = stringifyFhirJson(value, 2);
  assert.equal(pretty.replace(/\s/g, ''), text, 'indented alike');
  assert.notEqual(pretty, text);
});

test('decimals of 16 digits or more come back as written wherever their point is, alone in a body', () => {
  // Each in a body of its own: none of the other kinds of literal is there to make the parse look closer.
  for (const literal of ['1234567.1234567891', '123456789012.3456789', '4503599627370497.5', '12345678901234567', '-98765432109876543210', '9007199254740993']) {
    const text = `{"resourceType":"Observation","valueQuantity":{"value":${literal}}}`;
    assert.notEqual(String(Number(literal)), literal, `${literal} is one JS would write otherwise`);
    assert.equal(stringifyFhirJson(parseFhirJson(text)), text, literal);
  }
  // Exactly held ones need nothing kept, and long digit runs in strings (identifiers, OIDs) stay strings.
  const text = '{"a":99.99999999999999,"b":1234567890123456,"id":"12345678901234567890","system":"urn:oid:2.16.578.1.12.4.1.4.101"}';
  const value = parseFhirJson(text);
  assert.equal(value.id, '12345678901234567890');
  assert.equal(stringifyFhirJson(value), text);
  assert.equal(stringifyFhirJson(value), JSON.stringify(value));
});

test('text that only looks like a decimal is left alone; other numbers are written as JSON.stringify writes them', () => {
  const text = '{"div":"<p>values: 1.0, 2.50]</p>","system":"urn:oid:2.16.840.1.113883.6.23","v":85.19,"w":0.5461173279741242,"n":[0,-1,1e0]}';
  const value = parseFhirJson(text);
  assert.equal(value.div, '<p>values: 1.0, 2.50]</p>');
  assert.equal(stringifyFhirJson(value), text);
  assert.equal(stringifyFhirJson(parseFhirJson('{"v":85.19,"w":[1,2]}')), '{"v":85.19,"w":[1,2]}');
});

test('a changed value is written as JS writes it; a copy by spread, clone or carryLiterals keeps the literals', () => {
  const value = parseFhirJson('{"resourceType":"Observation","valueQuantity":{"value":70.50,"unit":"kg"},"component":[{"valueQuantity":{"value":2.0}}]}');
  const copy = cloneFhirJson(value);
  copy.valueQuantity.value = 71;
  assert.equal(stringifyFhirJson(copy), '{"resourceType":"Observation","valueQuantity":{"value":71,"unit":"kg"},"component":[{"valueQuantity":{"value":2.0}}]}');
  assert.equal(value.valueQuantity.value, 70.5, 'the clone is a copy');
  assert.equal(stringifyFhirJson({ ...value, id: 'x' }), '{"resourceType":"Observation","valueQuantity":{"value":70.50,"unit":"kg"},"component":[{"valueQuantity":{"value":2.0}}],"id":"x"}');
  assert.equal(stringifyFhirJson(carryLiterals(value, { valueQuantity: value.valueQuantity })), '{"valueQuantity":{"value":70.50,"unit":"kg"}}');
  const bundle = { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient' } }, { resource: value }] };
  assert.match(stringifyFhirJson(bundle), /"value":70\.50/, 'a Bundle made around parsed resources');
  assert.match(stringifyFhirJson({ fullUrl: 'x', resource: value }), /"value":70\.50/, 'an entry made around a parsed resource');
});

test('a string of 20 MB in a body with kept decimals parses (no regex recursion over it)', () => {
  const big = 'QUJD'.repeat(5_000_000);
  const text = `{"resourceType":"Binary","data":"${big}","x":[1.10]}`;
  assert.equal(stringifyFhirJson(parseFhirJson(text)), text);
});

test('a long run of number characters in a string is scanned once, not once per decimal-looking piece of it', () => {
  // Each piece looks like a long decimal and the run is no number: looking back over the whole run for each
  // piece took 10–14 s for this 300 kB string, with the event loop held all along.
  const text = `{"resourceType":"Basic","note":"${'1234567890123456.'.repeat(18_000)}","v":1.50}`;
  const t = performance.now();
  assert.equal(stringifyFhirJson(parseFhirJson(text)), text);
  assert.ok(performance.now() - t < 1000, `took ${(performance.now() - t).toFixed(0)} ms`);
});

test('content comparison sees precision: 70.50 and 70.5 are different content, 70.50 and 70.50 the same', () => {
  const a = parseFhirJson('{"resourceType":"Observation","valueQuantity":{"value":70.50}}');
  const b = parseFhirJson('{"valueQuantity":{"value":70.50},"resourceType":"Observation"}');
  const c = parseFhirJson('{"resourceType":"Observation","valueQuantity":{"value":70.5}}');
  assert.equal(contentKey(a), contentKey(b));
  assert.notEqual(contentKey(a), contentKey(c));
});
