import { parseFhirPath, type FhirPathAtom } from '@medplum/core';
import { definitions } from './definitions.ts';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { loadBaseDefinitions } from './profiles.ts';
import { RESOURCE_TYPES } from './resource-types.ts';

/**
 * The search parameters the server indexes and understands, compiled per resource type.
 * Loaded from the R4 definitions; custom SearchParameter resources are added with
 * registerSearchParameter and take effect for writes from then on (existing rows need
 * `npm run reindex`).
 */

export type SearchParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

export interface CompiledComponent {
  /** The component's own parameter type (looked up through its definition canonical). */
  type: SearchParamType;
  expression: string;
  atom: FhirPathAtom;
}

export interface CompiledParam {
  code: string;
  type: SearchParamType;
  /** The resource type this compilation is for (one SearchParameter may have many bases). */
  resourceType: string;
  /** `Type.code`: the key of this parameter's rows in the index tables. */
  key: string;
  /** The expression restricted to this resource type, with `x as T` rewritten to `x.ofType(T)`. */
  expression?: string;
  atom?: FhirPathAtom;
  /** For reference parameters: the resource types it may point to. */
  targets: string[];
  components?: CompiledComponent[];
  url?: string;
  /**
   * The top-level elements the expression starts from (`value` for `Observation.value.ofType(Quantity)`),
   * or undefined when that cannot be read off the expression. A resource without any of them
   * has no value for the parameter, which spares most FHIRPath evaluations when indexing.
   */
  roots?: string[];
  /**
   * The keys of the index rows that answer this parameter: its own key, or, when its expression
   * is the union of other parameters' expressions (R4's `combo-*` of Observation), theirs. Such a
   * parameter stores no rows of its own; in a Synthea load they would be a sixth of all rows.
   */
  keys: string[];
}

/** Parameters answered from the resource table itself rather than the index tables. */
export const RESOURCE_COLUMN_PARAMS = new Set(['_id', '_lastUpdated']);

/**
 * medplum's FHIRPath engine needs the type schema for `ofType`/`is` and choice types; it is the
 * same schema the validator uses, loaded once in one place.
 */
export function ensureFhirSchema(): void {
  loadBaseDefinitions();
}

const byType = new Map<string, Map<string, CompiledParam>>();
const byUrl = new Map<string, SearchParameter>();
let resourceTypes: string[] = [];
let loaded = false;

/** Every concrete resource type of R4. */
export function allResourceTypes(): string[] {
  load();
  return resourceTypes;
}

/** `a.b as T` cannot be applied to a collection in FHIRPath engines; `ofType(T)` means the same. */
export function fixAsExpressions(expression: string): string {
  return expression.replace(/\s+as\s+([A-Za-z]+)/g, '.ofType($1)').replace(/\.as\(([A-Za-z]+)\)/g, '.ofType($1)');
}

/** Splits a FHIRPath union at its top level: `A.x | (B.y as T)` → [`A.x`, `(B.y as T)`]. */
export function splitUnion(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'" && expression[i - 1] !== '\\') quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  return parts.filter(Boolean);
}

/** Whether the parentheses of `s` pair up (none closes before it opens). */
export function balanced(s: string): boolean {
  let depth = 0;
  for (const c of s) {
    if (c === '(') depth++;
    else if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/**
 * The part of a multi-base expression that applies to one type. Evaluating only that part
 * keeps indexing cheap (the `clinical-code` expression names 15 types), and rewriting the
 * `Resource.`/`DomainResource.` root makes the base parameters evaluate on concrete types.
 */
export function expressionForType(expression: string, resourceType: string): string | undefined {
  const root = (p: string) => p.replace(/^\(+/, '').split(/[.\s]/)[0];
  const parts = splitUnion(expression)
    .filter((p) => [resourceType, 'Resource', 'DomainResource'].includes(root(p)))
    .map((p) => p.replace(/^(\(*)(Resource|DomainResource)\b/, `$1${resourceType}`));
  return parts.length ? fixAsExpressions(parts.join(' | ')) : undefined;
}

function rootsOf(expression: string, resourceType: string): string[] | undefined {
  const roots: string[] = [];
  for (const part of splitUnion(expression)) {
    // Only plain paths qualify: `A.x.exists() and ...` yields `false` even when x is absent.
    let outer = part;
    while (/\([^()]*\)/.test(outer)) outer = outer.replace(/\([^()]*\)/g, '');
    if (/\s(and|or|xor|implies|is|as)\s|[=<>!~+*/-]|\.(exists|empty|not|count|iif|all|allTrue|anyTrue|hasValue)\b/.test(outer)) return undefined;
    const m = new RegExp(`^\\(*${resourceType}\\.([a-zA-Z]+)(?![a-zA-Z(])`).exec(part);
    if (!m) return undefined;
    roots.push(m[1]);
  }
  return roots;
}

function compile(sp: SearchParameter, resourceType: string): CompiledParam | undefined {
  const type = sp.type as SearchParamType;
  const code = sp.code!;
  const key = `${resourceType}.${code}`;
  const base: CompiledParam = { code, type, resourceType, key, keys: [key], targets: sp.target ?? [], url: sp.url };
  if (RESOURCE_COLUMN_PARAMS.has(code)) return base;
  if (!sp.expression) return undefined; // _text, _content, _query: handled specially or unsupported
  const expression = expressionForType(sp.expression, resourceType);
  if (!expression) return undefined;
  let atom: FhirPathAtom;
  try {
    atom = parseFhirPath(expression);
  } catch {
    return undefined; // an unparsable custom expression must not break every write
  }
  const compiled: CompiledParam = { ...base, expression, atom, roots: rootsOf(expression, resourceType) };
  if (type === 'composite') {
    const components: CompiledComponent[] = [];
    for (const c of sp.component ?? []) {
      const def = c.definition ? byUrl.get(c.definition) : undefined;
      if (!def || !c.expression) return undefined;
      const expr = fixAsExpressions(c.expression);
      components.push({ type: def.type as SearchParamType, expression: expr, atom: parseFhirPath(expr) });
    }
    compiled.components = components;
  }
  return compiled;
}

function add(sp: SearchParameter): string[] {
  if (sp.url) byUrl.set(sp.url, sp);
  const touched: string[] = [];
  for (const b of sp.base ?? []) {
    const types = (b as string) === 'Resource' || (b as string) === 'DomainResource' ? resourceTypes : [b];
    for (const t of types) {
      const c = compile(sp, t);
      if (!c) continue;
      let m = byType.get(t);
      if (!m) byType.set(t, (m = new Map()));
      m.set(c.code, c);
      touched.push(t);
    }
  }
  return touched;
}

/** A union's parts, compared as text: `(Observation.value as Quantity)` is `Observation.value.ofType(Quantity)`. */
function unionParts(p: CompiledParam): Set<string> | undefined {
  // References stay out: chains, _include and compartments read a reference parameter's own rows.
  if (!p.expression || p.type === 'reference' || p.type === 'special') return undefined;
  const bare = (part: string) => {
    let s = part.replace(/\s+/g, ' ').trim();
    while (/^\((.*)\)$/.test(s) && splitUnion(s.slice(1, -1)).length === 1 && balanced(s.slice(1, -1))) s = s.slice(1, -1).trim();
    return s;
  };
  return new Set(splitUnion(p.expression).map(bare));
}

/** Composites are unions of each other only with the same components (types and expressions, in order). */
function sameComponents(a: CompiledParam, b: CompiledParam): boolean {
  const x = a.components ?? [];
  const y = b.components ?? [];
  return x.length === y.length && x.every((c, i) => c.type === y[i].type && c.expression === y[i].expression);
}

/**
 * Sets `keys` of the parameters of one resource type: a parameter whose union parts are exactly
 * covered by other parameters of the same type (each a strict subset) is answered from their rows.
 * Smaller unions are settled first, so a union of unions resolves to the parameters with rows.
 */
function settleUnions(resourceType: string): void {
  const params = [...(byType.get(resourceType)?.values() ?? [])];
  const parts = new Map<CompiledParam, Set<string>>();
  for (const p of params) {
    p.keys = [p.key];
    const set = unionParts(p);
    if (set) parts.set(p, set);
  }
  const bySize = [...parts.keys()].sort((a, b) => parts.get(a)!.size - parts.get(b)!.size);
  for (const p of bySize) {
    const mine = parts.get(p)!;
    if (mine.size < 2) continue;
    const covered = new Set<string>();
    const keys = new Set<string>();
    for (const q of [...bySize].reverse()) {
      const theirs = parts.get(q)!;
      if (theirs.size >= mine.size || q.type !== p.type || !sameComponents(p, q)) continue;
      if (![...theirs].every((x) => mine.has(x)) || [...theirs].every((x) => covered.has(x))) continue;
      for (const x of theirs) covered.add(x);
      for (const k of q.keys) keys.add(k);
    }
    if (covered.size === mine.size) p.keys = [...keys];
  }
}

function load(): void {
  if (loaded) return;
  loaded = true;
  ensureFhirSchema();
  resourceTypes = [...RESOURCE_TYPES].sort();
  const bundle = definitions('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
  const params = (bundle.entry ?? []).map((e) => e.resource!);
  // Components refer to other parameters by canonical URL, so know them all before compiling.
  for (const sp of params) if (sp.url) byUrl.set(sp.url, sp);
  for (const sp of params) add(sp);
  for (const t of byType.keys()) settleUnions(t);
}

/** The compiled parameters of a resource type, by code. */
export function searchParamsFor(resourceType: string): Map<string, CompiledParam> {
  load();
  return byType.get(resourceType) ?? new Map();
}

export function getSearchParam(resourceType: string, code: string): CompiledParam | undefined {
  return searchParamsFor(resourceType).get(code);
}

export function isResourceType(type: string): boolean {
  return RESOURCE_TYPES.has(type);
}

/**
 * Adds or replaces a custom SearchParameter (e.g. one POSTed to the server). New writes index
 * it at once; existing resources only after a reindex of their types (also when it replaces a
 * part of a union parameter, which then needs rows of its own).
 */
export function registerSearchParameter(sp: SearchParameter): string[] {
  load();
  if (!sp.code || !sp.type || !sp.base?.length) throw new Error('A SearchParameter needs code, type and base');
  for (const t of new Set(add(sp))) settleUnions(t);
  return sp.base.flatMap((b: string) => (b === 'Resource' || b === 'DomainResource' ? resourceTypes : [b]));
}
