import { evalFhirPathTyped, toTypedValue, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { searchParamsFor, type CompiledParam, type SearchParamType } from '../../fhir/search-parameters.ts';
import { dateRange, normalizeString, parseLocalReference } from './values.ts';
import { compilePathPlan, compileRelativePlan, type PathPlan } from '../../fhir/path-plan.ts';

/** The index rows of one resource, per table, without rid/compartment (added by the writer). */
export interface ExtractedRows {
  token: { p: string; system: string | null; code: string }[];
  string: { p: string; norm: string; value: string }[];
  text: { p: string; norm: string }[];
  date: { p: string; lo: Date; hi: Date }[];
  number: { p: string; value: string }[];
  quantity: { p: string; value: string; system: string | null; code: string | null; unit: string | null }[];
  reference: { p: string; target_type: string | null; target_id: string | null; url: string | null }[];
  uri: { p: string; value: string }[];
  composite: {
    p: string;
    system1: string | null;
    code1: string;
    system2: string | null;
    code2: string | null;
    num2: string | null;
    lo2: Date | null;
    hi2: Date | null;
  }[];
}

export const emptyRows = (): ExtractedRows => ({
  token: [],
  string: [],
  text: [],
  date: [],
  number: [],
  quantity: [],
  reference: [],
  uri: [],
  composite: [],
});

/** Suffix of the token rows holding a reference's identifier (for `:identifier`). */
export const IDENTIFIER_SUFFIX = ':identifier';
/** Suffix of the string rows holding a token's display texts (for `:text`). */
export const TEXT_SUFFIX = ':text';
/** Longer codes cannot be btree keys; such values are unsearchable rather than failing writes. */
const MAX_CODE = 1000;

const INFINITY_LO = new Date('0001-01-01T00:00:00Z');
const INFINITY_HI = new Date('9999-12-31T23:59:59.999Z');

export interface Token {
  system: string | null;
  code: string;
}

// A module-level function, not a closure per call: tsx names every closure it creates at run time.
function addCoding(c: any, tokens: Token[], texts: string[]): void {
  if (c?.code != null) tokens.push({ system: c.system ?? null, code: String(c.code) });
  if (c?.display) texts.push(c.display);
}

/** Tokens and their human texts from one element, by its FHIR type. */
export function tokensOf(tv: TypedValue): { tokens: Token[]; texts: string[] } {
  const v = tv.value as any;
  const tokens: Token[] = [];
  const texts: string[] = [];
  switch (tv.type) {
    case 'Coding':
      addCoding(v, tokens, texts);
      break;
    case 'CodeableConcept':
      for (const c of v?.coding ?? []) addCoding(c, tokens, texts);
      if (v?.text) texts.push(v.text);
      break;
    case 'Identifier':
      if (v?.value != null) tokens.push({ system: v.system ?? null, code: String(v.value) });
      if (v?.type?.text) texts.push(v.type.text);
      break;
    case 'ContactPoint':
      if (v?.value != null) tokens.push({ system: null, code: String(v.value) });
      break;
    case 'boolean':
    case 'code':
    case 'string':
    case 'id':
    case 'uri':
    case 'url':
    case 'canonical':
    case 'oid':
    case 'uuid':
    case 'integer':
    case 'positiveInt':
    case 'unsignedInt':
      if (v != null && typeof v !== 'object') tokens.push({ system: null, code: String(v) });
      break;
    case 'Reference':
      // A few token parameters point at references (e.g. *.identifier via Reference.identifier).
      if (v?.identifier?.value != null) tokens.push({ system: v.identifier.system ?? null, code: String(v.identifier.value) });
      break;
  }
  return { tokens: tokens.filter((t) => t.code.length <= MAX_CODE), texts };
}

/** The string values of one element: every searchable part of a name or an address. */
export function stringsOf(tv: TypedValue): string[] {
  const v = tv.value as any;
  if (v == null) return [];
  if (typeof v !== 'object') return [String(v)];
  switch (tv.type) {
    case 'HumanName':
      return [v.text, v.family, ...(v.given ?? []), ...(v.prefix ?? []), ...(v.suffix ?? [])].filter((s) => typeof s === 'string');
    case 'Address':
      return [v.text, ...(v.line ?? []), v.city, v.district, v.state, v.postalCode, v.country].filter((s) => typeof s === 'string');
    case 'Coding':
      return [v.display].filter(Boolean);
    case 'CodeableConcept':
      return [v.text, ...(v.coding ?? []).map((c: any) => c.display)].filter(Boolean);
    case 'Identifier':
      return [v.value].filter(Boolean);
    case 'ContactPoint':
      return [v.value].filter(Boolean);
    case 'Quantity':
      return v.value != null ? [`${v.value}${v.unit ? ' ' + v.unit : ''}`] : [];
    default:
      return [];
  }
}

/** The date ranges of one element (date, dateTime, instant, Period, Timing). */
export function datesOf(tv: TypedValue): { lo: Date; hi: Date }[] {
  const v = tv.value as any;
  if (v == null) return [];
  if (typeof v === 'string') {
    const r = dateRange(v);
    return r ? [r] : [];
  }
  if (tv.type === 'Period') {
    const lo = v.start ? dateRange(v.start)?.lo : INFINITY_LO;
    const hi = v.end ? dateRange(v.end)?.hi : INFINITY_HI;
    return lo && hi && (v.start || v.end) ? [{ lo, hi }] : [];
  }
  if (tv.type === 'Timing') {
    const out = (v.event ?? []).map((e: string) => dateRange(e)).filter(Boolean);
    const b = v.repeat?.boundsPeriod;
    if (b) out.push(...datesOf({ type: 'Period', value: b }));
    return out;
  }
  return [];
}

/** Quantities of one element; a Range counts as its low and high. */
function quantitiesOf(tv: TypedValue): any[] {
  const v = tv.value as any;
  if (v == null || typeof v !== 'object') return [];
  if (tv.type === 'Range') return [v.low, v.high].filter((q) => q?.value != null);
  if (tv.type === 'Money') return v.value != null ? [{ value: v.value, system: 'urn:iso:std:iso:4217', code: v.currency }] : [];
  return v.value != null ? [v] : [];
}

function numbersOf(tv: TypedValue): string[] {
  const v = tv.value as any;
  if (typeof v === 'number') return [String(v)];
  if (v && typeof v === 'object' && typeof v.value === 'number') return [String(v.value)];
  return [];
}

/** Reference targets of one element. */
function referencesOf(tv: TypedValue): { target_type: string | null; target_id: string | null; url: string | null }[] {
  const v = tv.value as any;
  if (v == null) return [];
  const ref: string | undefined = typeof v === 'string' ? v : v.reference;
  if (!ref) return [];
  const local = parseLocalReference(ref);
  if (local) return [{ target_type: local.type, target_id: local.id, url: null }];
  return [{ target_type: null, target_id: null, url: ref.length <= MAX_CODE ? ref : ref.slice(0, MAX_CODE) }];
}

/** Compiled path plans per parameter (null: the expression needs FHIRPath). */
const plans = new WeakMap<CompiledParam, PathPlan | null>();

/** Whether extraction may use path plans; tests switch it off to compare against FHIRPath. */
export const extraction = { pathPlans: true };

function planOf(param: CompiledParam): PathPlan | null {
  let plan = plans.get(param);
  if (plan === undefined) {
    plan = (param.expression && compilePathPlan(param.expression, param.resourceType)) || null;
    plans.set(param, plan);
  }
  return plan;
}

function evaluate(atom: CompiledParam['atom'], input: TypedValue[]): TypedValue[] {
  try {
    return evalFhirPathTyped(atom!, input);
  } catch {
    // An expression that cannot apply to this instance indexes nothing, rather than blocking the write.
    return [];
  }
}

function addValues(rows: ExtractedRows, p: string, type: SearchParamType, values: TypedValue[]): void {
  for (const tv of values) {
    switch (type) {
      case 'token': {
        const { tokens, texts } = tokensOf(tv);
        for (const t of tokens) rows.token.push({ p, ...t });
        for (const t of texts) rows.string.push({ p: p + TEXT_SUFFIX, norm: normalizeString(t), value: t.slice(0, 1000) });
        break;
      }
      case 'string':
        for (const s of stringsOf(tv)) rows.string.push({ p, norm: normalizeString(s), value: s.slice(0, 1000) });
        break;
      case 'date':
        for (const d of datesOf(tv)) rows.date.push({ p, ...d });
        break;
      case 'number':
        for (const n of numbersOf(tv)) rows.number.push({ p, value: n });
        break;
      case 'quantity':
        for (const q of quantitiesOf(tv))
          rows.quantity.push({ p, value: String(q.value), system: q.system ?? null, code: q.code ?? null, unit: q.unit ?? null });
        break;
      case 'reference':
        for (const r of referencesOf(tv)) rows.reference.push({ p, ...r });
        if ((tv.value as any)?.identifier?.value != null) {
          const id = (tv.value as any).identifier;
          rows.token.push({ p: p + IDENTIFIER_SUFFIX, system: id.system ?? null, code: String(id.value) });
        }
        break;
      case 'uri':
        if (typeof tv.value === 'string' && tv.value.length <= MAX_CODE) rows.uri.push({ p, value: tv.value });
        break;
    }
  }
}

/** Relative plans for composite components, per component expression. */
const componentPlans = new Map<string, (base: TypedValue) => TypedValue[] | undefined>();

function evaluateComponent(c: NonNullable<CompiledParam['components']>[number], base: TypedValue): TypedValue[] {
  if (extraction.pathPlans) {
    let plan = componentPlans.get(c.expression);
    if (!plan) componentPlans.set(c.expression, (plan = compileRelativePlan(c.expression)));
    const values = plan(base);
    if (values) return values;
  }
  return evaluate(c.atom, [base]);
}

function addComposite(rows: ExtractedRows, param: CompiledParam, bases: TypedValue[]): void {
  const [first, second] = param.components ?? [];
  if (!first || !second || first.type !== 'token' || (param.components?.length ?? 0) !== 2) return;
  for (const base of bases) {
    const t1 = evaluateComponent(first, base).flatMap((tv) => tokensOf(tv).tokens);
    if (!t1.length) continue;
    const seconds = evaluateComponent(second, base);
    const c2: Omit<ExtractedRows['composite'][number], 'p' | 'system1' | 'code1'>[] = [];
    const none = { system2: null, code2: null, num2: null, lo2: null, hi2: null };
    for (const tv of seconds) {
      if (second.type === 'token') for (const t of tokensOf(tv).tokens) c2.push({ ...none, system2: t.system, code2: t.code });
      else if (second.type === 'quantity')
        for (const q of quantitiesOf(tv)) c2.push({ ...none, system2: q.system ?? null, code2: q.code ?? null, num2: String(q.value) });
      else if (second.type === 'date') for (const d of datesOf(tv)) c2.push({ ...none, lo2: d.lo, hi2: d.hi });
      else if (second.type === 'string') for (const s of stringsOf(tv)) c2.push({ ...none, code2: normalizeString(s) });
      else if (second.type === 'reference')
        for (const r of referencesOf(tv)) c2.push({ ...none, code2: r.url ?? `${r.target_type}/${r.target_id}` });
    }
    for (const a of t1) for (const b of c2) rows.composite.push({ p: param.key, system1: a.system, code1: a.code, ...b });
  }
}

/** Strips the XHTML of a narrative to its words. */
function narrativeText(div: string): string {
  return div
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z]+;|&#\d+;/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The element names a resource has a value for: each JSON key, and each of its prefixes that ends
 * before a capital, since `value` is present as `valueQuantity` (a choice element) and
 * `multipleBirth` as `multipleBirthBoolean`.
 */
function presentRoots(resource: Resource): Set<string> {
  const present = new Set<string>();
  for (const key in resource) {
    present.add(key);
    for (let i = 1; i < key.length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 65 && c <= 90) present.add(key.slice(0, i));
    }
  }
  return present;
}

function hasAny(present: Set<string>, roots: string[]): boolean {
  for (const root of roots) if (present.has(root)) return true;
  return false;
}

/** Every index row of one resource, for all parameters of its type. */
export function extractIndexRows(resource: Resource): ExtractedRows {
  const rows = emptyRows();
  let input: TypedValue[] | undefined;
  const present = presentRoots(resource);
  for (const param of searchParamsFor(resource.resourceType).values()) {
    if (!param.atom || param.keys[0] !== param.key) continue; // a union is answered from its parts' rows
    if (param.roots && !hasAny(present, param.roots)) continue;
    const plan = extraction.pathPlans ? planOf(param) : null;
    const values = plan ? plan(resource) : evaluate(param.atom, (input ??= [toTypedValue(resource)]));
    if (!values.length) continue;
    if (param.type === 'composite') addComposite(rows, param, values);
    else addValues(rows, param.key, param.type, values);
  }
  const div = (resource as any).text?.div;
  if (typeof div === 'string') rows.text.push({ p: `${resource.resourceType}._text`, norm: normalizeString(narrativeText(div), 100_000) });
  return rows;
}
