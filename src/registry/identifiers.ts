import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../fhir/outcome.ts';
import { SYSTEM, SYSTEM_ALIASES } from './systems.ts';

/**
 * Norwegian identifiers and their check rules. Fødselsnummer, D-nummer and felles hjelpenummer
 * share Skatteetaten's two mod-11 check digits; organisation numbers (Enhetsregisteret) have one
 * mod-11 digit with weights 3,2,7,6,5,4,3,2. HPR, HER-id and RESH are plain serial numbers:
 * no public specification gives them a check digit, so only their form is checked.
 */

const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
const ORGNR_WEIGHTS = [3, 2, 7, 6, 5, 4, 3, 2];

/** The mod-11 check digit of `digits` under `weights`; undefined when the rule yields 10 (no valid number). */
export function mod11(digits: string, weights: number[]): number | undefined {
  let sum = 0;
  for (let i = 0; i < weights.length; i++) sum += (digits.charCodeAt(i) - 48) * weights[i];
  const k = 11 - (sum % 11);
  if (k === 11) return 0;
  return k === 10 ? undefined : k;
}

/** The two check digits that complete nine digits into an 11-digit national id, or undefined if none exist. */
export function nationalIdCheckDigits(first9: string): string | undefined {
  const k1 = mod11(first9, K1_WEIGHTS);
  if (k1 === undefined) return undefined;
  const k2 = mod11(first9 + k1, K2_WEIGHTS);
  return k2 === undefined ? undefined : `${k1}${k2}`;
}

/** The check digit that completes eight digits into an organisation number, or undefined if none exists. */
export function orgnrCheckDigit(first8: string): number | undefined {
  return mod11(first8, ORGNR_WEIGHTS);
}

export type NationalIdKind = 'fnr' | 'dnr' | 'fhn';
export type Synthetic = 'tenor' | 'dolly';

export type NationalIdResult =
  | { ok: true; kind: NationalIdKind; birthDate?: string; gender?: 'male' | 'female'; synthetic?: Synthetic }
  | { ok: false; reason: string };

const NAMES: Record<NationalIdKind, string> = { fnr: 'fødselsnummer', dnr: 'D-nummer', fhn: 'felles hjelpenummer' };

/**
 * Checks an FNR, D-number or FHN: form, check digits and (for FNR/DNR) the birth date they
 * encode. Synthetic test numbers (month + 80 as Skatteetaten's Tenor makes them, month + 40 as
 * NAV's Dolly does) are accepted only with `testData`.
 */
export function checkNationalId(value: string, kind: NationalIdKind, opts: { testData: boolean }): NationalIdResult {
  if (!/^\d{11}$/.test(value)) return { ok: false, reason: 'it must be exactly 11 digits' };
  if (nationalIdCheckDigits(value.slice(0, 9)) !== value.slice(9)) return { ok: false, reason: 'the check digits are wrong' };
  if (kind === 'fhn') {
    // FHNs begin with 8 or 9, which no birth day (≤ 31, or ≤ 71 for D-numbers) can start with.
    if (value[0] !== '8' && value[0] !== '9') return { ok: false, reason: 'a felles hjelpenummer begins with 8 or 9' };
    return { ok: true, kind };
  }
  let day = Number(value.slice(0, 2));
  let month = Number(value.slice(2, 4));
  if (kind === 'dnr') {
    if (day < 41 || day > 71) return { ok: false, reason: `its day ${value.slice(0, 2)} is not a D-number day (day + 40)` };
    day -= 40;
  } else if (day > 40) {
    return { ok: false, reason: `its day ${value.slice(0, 2)} is a D-number's (day + 40); use system ${SYSTEM.dnr}` };
  }
  let synthetic: Synthetic | undefined;
  if (month > 80) [month, synthetic] = [month - 80, 'tenor'];
  else if (month > 40) [month, synthetic] = [month - 40, 'dolly'];
  if (synthetic && !opts.testData) {
    const rule = synthetic === 'tenor' ? 'month + 80, Tenor' : 'month + 40, Dolly';
    return { ok: false, reason: `its month ${value.slice(2, 4)} follows the synthetic test-data convention (${rule}), which this server does not accept` };
  }
  const yy = Number(value.slice(4, 6));
  const year = centuryOf(Number(value.slice(6, 9)), yy) + yy;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { ok: false, reason: `its date part ${value.slice(0, 6)} is not a date` };
  }
  return {
    ok: true,
    kind,
    birthDate: date.toISOString().slice(0, 10),
    gender: Number(value[8]) % 2 === 0 ? 'female' : 'male',
    ...(synthetic ? { synthetic } : {}),
  };
}

/**
 * Skatteetaten's century rule from the individual number. Combinations it leaves unassigned
 * (750–899 with year 40–99) are read as 1900s rather than refused: the date is still checked.
 */
export function centuryOf(individual: number, yy: number): number {
  if (individual < 500) return 1900;
  if (yy < 40) return 2000;
  if (individual < 750 && yy >= 54) return 1800;
  return 1900;
}

/** The individual-number range (digits 7–9) valid for a birth year. */
export function individualRange(year: number): [number, number] {
  if (year >= 2000 && year <= 2039) return [500, 999];
  if (year >= 1940 && year <= 1999) return [0, 499]; // 900–999 also valid; 000–499 suffices
  if (year >= 1900 && year < 1940) return [0, 499];
  if (year >= 1854 && year < 1900) return [500, 749];
  throw new RangeError(`no fødselsnummer exists for birth year ${year}`);
}

/**
 * Builds a national id from its parts; undefined when the individual number gives no valid
 * check digits (about 1 in 5 do not), so callers try the next one.
 */
export function makeNationalId(p: {
  birthDate: string;
  individual: number;
  dnr?: boolean;
  synthetic?: Synthetic;
}): string | undefined {
  const [y, m, d] = p.birthDate.split('-').map(Number);
  const day = d + (p.dnr ? 40 : 0);
  const month = m + (p.synthetic === 'tenor' ? 80 : p.synthetic === 'dolly' ? 40 : 0);
  const first9 = pad(day, 2) + pad(month, 2) + pad(y % 100, 2) + pad(p.individual, 3);
  const check = nationalIdCheckDigits(first9);
  return check && first9 + check;
}

export function isValidOrgnr(value: string): boolean {
  return /^\d{9}$/.test(value) && orgnrCheckDigit(value.slice(0, 8)) === Number(value[8]);
}

/** Completes eight digits into an organisation number, or undefined if they have none. */
export function makeOrgnr(first8: string): string | undefined {
  const k = orgnrCheckDigit(first8);
  return k === undefined ? undefined : first8 + k;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** The canonical system for a Norwegian identifier system or one of its aliases. */
export function canonicalSystem(system: string | undefined): string | undefined {
  return system && (SYSTEM_ALIASES[system] ?? system);
}

type Checker = { code: string; label: string; check: (value: string, testData: boolean) => string | undefined };

const nationalIdChecker = (kind: NationalIdKind): Checker => ({
  code: `invalid-${kind}`,
  label: NAMES[kind],
  check: (v, testData) => {
    const r = checkNationalId(v, kind, { testData });
    return r.ok ? undefined : r.reason;
  },
});

const serialNumber = (code: string, label: string, maxDigits: number): Checker => ({
  code,
  label,
  check: (v) => (new RegExp(`^[1-9]\\d{0,${maxDigits - 1}}$`).test(v) ? undefined : `it must be 1 to ${maxDigits} digits, not starting with 0`),
});

const CHECKERS: Record<string, Checker> = {
  [SYSTEM.fnr]: nationalIdChecker('fnr'),
  [SYSTEM.dnr]: nationalIdChecker('dnr'),
  [SYSTEM.fhn]: nationalIdChecker('fhn'),
  [SYSTEM.orgnr]: {
    code: 'invalid-orgnr',
    label: 'organisasjonsnummer',
    check: (v) => (!/^\d{9}$/.test(v) ? 'it must be exactly 9 digits' : isValidOrgnr(v) ? undefined : 'the check digit is wrong'),
  },
  [SYSTEM.hpr]: serialNumber('invalid-hpr', 'HPR-nummer', 9),
  [SYSTEM.herId]: serialNumber('invalid-her-id', 'HER-id', 9),
  [SYSTEM.resh]: serialNumber('invalid-resh', 'RESH-id', 9),
};

/**
 * Checks every Identifier in the resource whose system is a Norwegian one (also inside
 * references, contained resources and extensions) and returns one error issue per invalid
 * value, naming it and its FHIRPath. An empty list means every Norwegian identifier is valid.
 */
export function checkNorwegianIdentifiers(resource: Resource, opts: { testData: boolean }): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  // The way down as keys and indexes, made into a path only for an issue: this walks every stored resource.
  const at: (string | number)[] = [];
  const pathTo = (last: string) => resource.resourceType + at.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('') + '.' + last;
  const walk = (node: unknown) => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item = node[i];
        if (!item || typeof item !== 'object') continue;
        at.push(i);
        walk(item);
        at.pop();
      }
      return;
    }
    if (!node || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    // An Identifier, not a Coding: Codings carry `code`, Identifiers `value`.
    if (typeof obj.system === 'string' && 'value' in obj && !('code' in obj)) {
      const checker = CHECKERS[canonicalSystem(obj.system)!];
      if (checker) {
        const value = obj.value;
        const reason = typeof value !== 'string' ? 'it must be a string' : checker.check(value, opts.testData);
        if (reason) {
          issues.push(issue('value', checker.code, `Identifier.value ${String(value)} is not a valid ${checker.label}: ${reason}`, pathTo('value')));
        }
      }
    }
    for (const key in obj) {
      if (key === 'text' && node === resource) continue; // the narrative has no identifiers
      const child = obj[key];
      if (!child || typeof child !== 'object') continue;
      at.push(key);
      walk(child);
      at.pop();
    }
  };
  walk(resource);
  return issues;
}
