import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import {
  checkNationalId,
  checkNorwegianIdentifiers,
  isValidOrgnr,
  makeNationalId,
  makeOrgnr,
} from '../src/registry/identifiers.ts';
import { SAMHANDLING_ERROR_SYSTEM } from '../src/fhir/outcome.ts';
import { SYSTEM } from '../src/registry/systems.ts';
import { Prng } from '../src/registry/prng.ts';

const rng = new Prng(2024, 'identifier-tests');
const real = { testData: false };
const test_ = { testData: true };

/** Random valid fødselsnumre for random dates 1900–2039, made by the code under test. */
function sampleFnrs(n: number, synthetic?: 'tenor' | 'dolly', dnr = false): string[] {
  const out: string[] = [];
  while (out.length < n) {
    const year = rng.int(1900, 2024);
    const date = new Date(Date.UTC(year, rng.int(0, 11), rng.int(1, 28))).toISOString().slice(0, 10);
    const individual = year >= 2000 ? rng.int(500, 999) : rng.int(0, 499);
    const v = makeNationalId({ birthDate: date, individual, synthetic, dnr });
    if (v) out.push(v);
  }
  return out;
}

test('published examples: valid fødselsnumre pass, the no-basis one with a bad checksum fails', () => {
  // From HL7 Norway's no-basis examples (four pass the check, one is documented as failing it).
  for (const v of ['13031353453', '21030550231', '04021950128', '15080050515', '05073500186']) {
    assert.equal(checkNationalId(v, 'fnr', real).ok, true, v);
  }
  const bad = checkNationalId('15064312345', 'fnr', real);
  assert.equal(bad.ok, false);
  assert.match((bad as { reason: string }).reason, /check digits/);
});

test('a generated number decodes to the birth date and gender it was made from', () => {
  for (let i = 0; i < 500; i++) {
    const year = rng.int(1900, 2039);
    const birthDate = new Date(Date.UTC(year, rng.int(0, 11), rng.int(1, 28))).toISOString().slice(0, 10);
    const individual = year >= 2000 ? rng.int(500, 999) : rng.int(0, 499);
    const v = makeNationalId({ birthDate, individual });
    if (!v) continue;
    const r = checkNationalId(v, 'fnr', real);
    assert.ok(r.ok, v);
    assert.equal(r.birthDate, birthDate);
    assert.equal(r.gender, individual % 2 === 0 ? 'female' : 'male');
  }
});

test('every single-digit change of a valid number is refused (property of mod-11 with non-zero weights)', () => {
  for (const v of sampleFnrs(200)) {
    for (let pos = 0; pos < 11; pos++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === v[pos]) continue;
        const changed = v.slice(0, pos) + d + v.slice(pos + 1);
        assert.equal(checkNationalId(changed, 'fnr', test_).ok, false, `${v} → ${changed}`);
      }
    }
  }
});

test('swapping two different adjacent digits among the first nine is refused', () => {
  for (const v of sampleFnrs(300)) {
    for (let pos = 0; pos < 8; pos++) {
      if (v[pos] === v[pos + 1]) continue;
      const swapped = v.slice(0, pos) + v[pos + 1] + v[pos] + v.slice(pos + 2);
      assert.equal(checkNationalId(swapped, 'fnr', test_).ok, false, `${v} → ${swapped}`);
    }
  }
});

test('about one in five nine-digit stems has no valid check digits, and those are never produced', () => {
  let none = 0;
  const n = 5000;
  for (let i = 0; i < n; i++) {
    const v = makeNationalId({ birthDate: '1985-05-17', individual: i % 500 });
    if (!v) none++;
    else assert.ok(checkNationalId(v, 'fnr', real).ok);
  }
  // Each check digit is 10 (invalid) for 1 in 11 stems: 1 − (10/11)² ≈ 17 %.
  assert.ok(none / n > 0.12 && none / n < 0.22, `${none} of ${n}`);
});

test('synthetic conventions: month + 80 (Tenor) and month + 40 (Dolly) only with test data', () => {
  for (const [kind, month] of [['tenor', '8'], ['dolly', '4']] as const) {
    for (const v of sampleFnrs(50, kind)) {
      assert.ok(Number(v.slice(2, 4)) > (kind === 'tenor' ? 80 : 40));
      const accepted = checkNationalId(v, 'fnr', test_);
      assert.equal(accepted.ok, true, v);
      assert.equal(accepted.ok && accepted.synthetic, kind);
      const refused = checkNationalId(v, 'fnr', real);
      assert.equal(refused.ok, false);
      assert.match((refused as { reason: string }).reason, kind === 'tenor' ? /month \+ 80/ : /month \+ 40/);
      assert.ok(v[2] >= month);
    }
  }
});

test('D-numbers have day + 40 and are refused under the FNR system; impossible dates are refused', () => {
  for (const v of sampleFnrs(50, undefined, true)) {
    assert.ok(Number(v.slice(0, 2)) > 40);
    assert.equal(checkNationalId(v, 'dnr', real).ok, true, v);
    const asFnr = checkNationalId(v, 'fnr', real);
    assert.equal(asFnr.ok, false);
    assert.match((asFnr as { reason: string }).reason, /D-number/);
  }
  // 30 February 1985 and 29 February 1985 do not exist; 29 February 1984 does.
  const firstWithDigits = (prefix: string) => {
    for (let ind = 0; ind < 500; ind++) {
      const v = completeNationalId(prefix + String(ind).padStart(3, '0'));
      if (v) return v;
    }
    throw new Error(`no valid number for ${prefix}`);
  };
  for (const prefix of ['300285', '290285']) {
    const r = checkNationalId(firstWithDigits(prefix), 'fnr', real);
    assert.equal(r.ok, false, prefix);
    assert.match((r as { reason: string }).reason, /not a date/);
  }
  const leap = checkNationalId(firstWithDigits('290284'), 'fnr', real);
  assert.ok(leap.ok && leap.birthDate === '1984-02-29');
});

/** Check digits computed by a direct reading of the rule (independent of the module's helper). */
function completeNationalId(stem: string): string | undefined {
  const d = stem.split('').map(Number);
  const k1w = [3, 7, 6, 1, 8, 9, 4, 5, 2];
  let k1 = 11 - (d.reduce((s, x, i) => s + x * k1w[i], 0) % 11);
  if (k1 === 11) k1 = 0;
  if (k1 === 10) return undefined;
  const k2w = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
  let k2 = 11 - ([...d, k1].reduce((s, x, i) => s + x * k2w[i], 0) % 11);
  if (k2 === 11) k2 = 0;
  if (k2 === 10) return undefined;
  return `${stem}${k1}${k2}`;
}

test('the module agrees with a direct reading of the check-digit rule on random stems', () => {
  for (let i = 0; i < 3000; i++) {
    const stem = String(rng.int(0, 999_999_999)).padStart(9, '0');
    const expected = completeNationalId(stem);
    for (let k = 0; k < 100; k++) {
      const candidate = `${stem}${String(k).padStart(2, '0')}`;
      const ok = checkNationalId(candidate, 'fhn', test_);
      // The FHN rule adds only its first-digit condition, so it exposes the bare checksum.
      const checksumOk = ok.ok || (ok as { reason: string }).reason.includes('begins with 8 or 9');
      assert.equal(checksumOk, candidate === expected, candidate);
    }
  }
});

test('felles hjelpenummer: check digits and a first digit of 8 or 9', () => {
  const fhn = completeNationalId('812345670') ?? completeNationalId('812345671')!;
  assert.equal(checkNationalId(fhn, 'fhn', real).ok, true);
  const low = completeNationalId('212345670') ?? completeNationalId('212345671')!;
  assert.equal(checkNationalId(low, 'fhn', real).ok, false);
});

test('organisation numbers: weights 3,2,7,6,5,4,3,2, every single-digit change refused', () => {
  assert.ok(isValidOrgnr('915933149')); // Direktoratet for e-helse, from the no-basis examples
  assert.ok(!isValidOrgnr('915933148'));
  let made = 0;
  for (let i = 0; i < 300; i++) {
    const v = makeOrgnr(String(rng.int(10_000_000, 99_999_999)));
    if (!v) continue;
    made++;
    assert.ok(isValidOrgnr(v));
    for (let pos = 0; pos < 9; pos++) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) !== v[pos]) assert.ok(!isValidOrgnr(v.slice(0, pos) + d + v.slice(pos + 1)));
      }
    }
  }
  assert.ok(made > 200);
});

test('checkNorwegianIdentifiers names the identifier, the rule broken and its FHIRPath', () => {
  const patient = {
    resourceType: 'Patient',
    identifier: [
      { system: 'http://example.org/mrn', value: 'anything' },
      { system: SYSTEM.fnr, value: '15064312345' },
    ],
    managingOrganization: { identifier: { system: SYSTEM.orgnr, value: '915933148' } },
    contact: [{ name: { text: 'x' }, organization: { identifier: { system: SYSTEM.herId, value: '0abc' } } }],
  } as Resource;
  const issues = checkNorwegianIdentifiers(patient, real);
  assert.deepEqual(
    issues.map((i) => [i.details?.coding?.[0]?.code, i.expression?.[0], i.code, i.severity]),
    [
      ['invalid-fnr', 'Patient.identifier[1].value', 'value', 'error'],
      ['invalid-orgnr', 'Patient.managingOrganization.identifier.value', 'value', 'error'],
      ['invalid-her-id', 'Patient.contact[0].organization.identifier.value', 'value', 'error'],
    ]
  );
  assert.equal(issues[0].details?.coding?.[0]?.system, SAMHANDLING_ERROR_SYSTEM);
  assert.equal(issues[0].diagnostics, 'Identifier.value 15064312345 is not a valid fødselsnummer: the check digits are wrong');
  assert.match(issues[1].diagnostics!, /915933148 is not a valid organisasjonsnummer: the check digit is wrong/);
});

test('old HL7 Norway URI aliases are checked like the OIDs; other systems and Codings are ignored', () => {
  const r = {
    resourceType: 'Patient',
    identifier: [{ system: 'http://hl7.no/fhir/NamingSystem/FNR', value: '15064312345' }],
    maritalStatus: { coding: [{ system: SYSTEM.fnr, code: 'not-an-identifier' }] },
  } as Resource;
  assert.deepEqual(checkNorwegianIdentifiers(r, real).map((i) => i.details?.coding?.[0]?.code), ['invalid-fnr']);
  const fine = { resourceType: 'Patient', identifier: [{ system: SYSTEM.fnr, value: '13031353453' }] } as Resource;
  assert.deepEqual(checkNorwegianIdentifiers(fine, real), []);
});
