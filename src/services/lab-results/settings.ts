import fs from 'node:fs';
import type { Coding } from '@medplum/fhirtypes';

/**
 * The lab-results rule table (docs/services/lab-results.md): per discipline (fagområde), how long
 * after a result is issued the citizen sees it automatically, and whether sources may publish it
 * and citizens and personnel may see it. Helsedirektoratet's delays are not public, so they are
 * configuration (LAB_RESULTS_RULES, inline JSON or a file), merged over the defaults below.
 */

/** Our code system for the lab disciplines; a result names its discipline in `category`. */
export const DISCIPLINE_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/lab-discipline';
/** HL7 v2 table 0074 (diagnostic service section), which many lab systems put in DiagnosticReport.category. */
export const V2_0074 = 'http://terminology.hl7.org/CodeSystem/v2-0074';

export interface DisciplineDefinition {
  code: string;
  display: { nb: string; en: string };
  /** v2-0074 codes that mean this discipline. */
  v20074: string[];
}

/** In this order: the first discipline a resource's categories name is its discipline. */
export const DISCIPLINES: DisciplineDefinition[] = [
  { code: 'medical-biochemistry', display: { nb: 'Medisinsk biokjemi', en: 'Medical biochemistry' }, v20074: ['CH', 'HM', 'BG'] },
  { code: 'microbiology', display: { nb: 'Medisinsk mikrobiologi', en: 'Medical microbiology' }, v20074: ['MB', 'MCB', 'MYC', 'VR'] },
  { code: 'pathology', display: { nb: 'Patologi', en: 'Pathology' }, v20074: ['SP', 'CP'] },
  { code: 'immunology', display: { nb: 'Immunologi og transfusjonsmedisin', en: 'Immunology and transfusion medicine' }, v20074: ['IMM', 'SR', 'BLB'] },
  { code: 'genetics', display: { nb: 'Medisinsk genetikk', en: 'Medical genetics' }, v20074: ['GE', 'CG'] },
  { code: 'clinical-pharmacology', display: { nb: 'Klinisk farmakologi', en: 'Clinical pharmacology' }, v20074: ['TX', 'PHR'] },
];

/** Results that name no discipline (imported or seeded without one) follow this row. */
export const UNSPECIFIED = 'unspecified';

export interface DisciplineRule {
  /** Days from `issued` until the citizen sees the result automatically; null: never automatically. */
  citizenDelayDays: number | null;
  /** Sources may publish results of this discipline. */
  source: boolean;
  /** Citizens see results of this discipline (after release). */
  citizen: boolean;
  /** Health personnel and attested systems see results of this discipline. */
  personnel: boolean;
}

export type RuleTable = Record<string, DisciplineRule>;

const on = { source: true, citizen: true, personnel: true };

export const DEFAULT_RULES: RuleTable = {
  'medical-biochemistry': { citizenDelayDays: 0, ...on },
  microbiology: { citizenDelayDays: 14, ...on },
  pathology: { citizenDelayDays: 14, ...on },
  immunology: { citizenDelayDays: 7, ...on },
  genetics: { citizenDelayDays: null, ...on },
  'clinical-pharmacology': { citizenDelayDays: 0, ...on },
  [UNSPECIFIED]: { citizenDelayDays: 0, ...on },
};

export const DISCIPLINE_CODES = [...DISCIPLINES.map((d) => d.code), UNSPECIFIED];

/**
 * Parses LAB_RESULTS_RULES: `{"microbiology": {"citizenDelayDays": 7}, "genetics": {"citizen": false}}`.
 * Each row is merged over its default; unknown disciplines and wrong types are refused at start.
 */
export function parseRules(text: string | undefined): RuleTable {
  if (!text) return DEFAULT_RULES;
  const json = text.trim().startsWith('{') ? text : fs.readFileSync(text, 'utf8');
  const given = JSON.parse(json) as Record<string, Partial<DisciplineRule>>;
  const table: RuleTable = { ...DEFAULT_RULES };
  for (const [code, row] of Object.entries(given)) {
    if (!DISCIPLINE_CODES.includes(code)) throw new Error(`LAB_RESULTS_RULES: unknown discipline '${code}' (known: ${DISCIPLINE_CODES.join(', ')})`);
    const merged = { ...table[code], ...row };
    const delay = merged.citizenDelayDays;
    if (delay !== null && (typeof delay !== 'number' || !(delay >= 0))) throw new Error(`LAB_RESULTS_RULES: ${code}.citizenDelayDays must be a number ≥ 0 or null (never)`);
    for (const k of ['source', 'citizen', 'personnel'] as const)
      if (typeof merged[k] !== 'boolean') throw new Error(`LAB_RESULTS_RULES: ${code}.${k} must be true or false`);
    table[code] = merged;
  }
  return table;
}

let current: RuleTable = DEFAULT_RULES;

/**
 * The table in force. The access rules are plain functions the policy calls without the server's
 * configuration, so the module installs the table when the server starts (one table per process).
 */
export function rules(): RuleTable {
  return current;
}

export function installRules(table: RuleTable): void {
  current = table;
}

// The table is fixed; disciplineOf consults it for every lab result read.
let codingsTable: { discipline: string; system: string; code: string }[] | undefined;

/** The discipline codings a resource's category names, as (system, code) pairs in table order. */
export function disciplineCodings(): { discipline: string; system: string; code: string }[] {
  return (codingsTable ??= DISCIPLINES.flatMap((d) => [
    { discipline: d.code, system: DISCIPLINE_SYSTEM, code: d.code },
    ...d.v20074.map((code) => ({ discipline: d.code, system: V2_0074, code })),
  ]));
}

/** The discipline of a result: the first row of the table its categories name, else 'unspecified'. */
export function disciplineOf(resource: object): string {
  const raw = (resource as { category?: unknown }).category;
  const categories: unknown[] = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const table = disciplineCodings();
  // Runs on every read of a result: a lookup per coding, no closures (tsx names each one it makes).
  const rowOf = (codingRows ??= rowsByCoding(table));
  let first = -1;
  for (const c of categories) {
    const codings = (c as { coding?: unknown } | null)?.coding;
    if (!Array.isArray(codings)) continue;
    for (const coding of codings as (Coding | null)[]) {
      const row = rowOf.get(`${coding?.system}|${coding?.code}`);
      if (row !== undefined && (first < 0 || row < first)) first = row;
    }
  }
  return first < 0 ? UNSPECIFIED : table[first].discipline;
}

let codingRows: Map<string, number> | undefined;
function rowsByCoding(table: { system: string; code: string }[]): Map<string, number> {
  const rows = new Map<string, number>();
  table.forEach((d, i) => {
    const key = `${d.system}|${d.code}`;
    if (!rows.has(key)) rows.set(key, i);
  });
  return rows;
}

export function disciplineCoding(code: string): Coding {
  const d = DISCIPLINES.find((x) => x.code === code);
  return { system: DISCIPLINE_SYSTEM, code, display: d?.display.nb };
}
