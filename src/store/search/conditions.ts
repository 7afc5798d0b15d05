import { splitSearchOnComma } from '@medplum/core';
import { isCompartmentReference } from '../../fhir/compartment.ts';
import { getSearchParam, isResourceType, type CompiledParam } from '../../fhir/search-parameters.ts';
import { badRequest } from '../../fhir/outcome.ts';
import { and, or, raw, sql, type Sql } from '../sql.ts';
import { IDENTIFIER_SUFFIX, TEXT_SUFFIX } from './extract.ts';
import type { ValueSet } from '@medplum/fhirtypes';
import { codesAbove, codesBelow, expandValueSet } from './valuesets.ts';
import { dateRange, decimals, normalizeString, parseLocalReference } from './values.ts';

/** Thrown for a parameter or modifier we do not support: ignored (and reported) unless strict. */
export class UnsupportedParam extends Error {}

export interface CompileContext {
  baseUrl: string;
  accessFilter?: (alias: string) => Sql;
  aliasCount: number;
  /** ValueSets stored on this server that the search's :in / :not-in name (loaded beforehand). */
  valueSets?: Map<string, ValueSet>;
}

const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
type Prefix = (typeof PREFIXES)[number];

const TABLE: Record<string, string> = {
  token: 'sp_token',
  string: 'sp_string',
  date: 'sp_date',
  number: 'sp_number',
  quantity: 'sp_quantity',
  reference: 'sp_reference',
  uri: 'sp_uri',
  composite: 'sp_composite',
};

/**
 * How deep chains and `_has` nest, and how many joins one search may compile to. A chain is compiled once per
 * type its reference may point at, at every level, so its SQL grows with the product of those counts: 100 bytes
 * of `Library?composed-of.composed-of…` made 11 MB of SQL in 2 s, and 20 nested `_has` took 13 s (session 16).
 * Real searches chain two or three links.
 */
const MAX_CHAIN_LINKS = 3;
const MAX_HAS_DEPTH = 4;
const MAX_ALIASES = 1000;

function nextAlias(ctx: CompileContext, prefix: string): string {
  if (ctx.aliasCount >= MAX_ALIASES)
    throw badRequest('search-too-complex', `The search needs more than ${MAX_ALIASES} joins of the index tables; split it or name fewer target types in its chains`);
  return `${prefix}${++ctx.aliasCount}`;
}

/** `name` as sent: `code`, `code:modifier`, `ref:Type.chained...`, `_has:...`. */
export function splitName(name: string): { code: string; modifier?: string; chain?: string } {
  const dot = name.indexOf('.');
  const head = dot >= 0 ? name.slice(0, dot) : name;
  const chain = dot >= 0 ? name.slice(dot + 1) : undefined;
  const colon = head.indexOf(':');
  return colon >= 0 ? { code: head.slice(0, colon), modifier: head.slice(colon + 1), chain } : { code: head, chain };
}

/** Parameters of several types (system search, chains with several targets) must exist on each. */
function paramsFor(types: string[], code: string): CompiledParam[] | undefined {
  const found = types.map((t) => getSearchParam(t, code));
  if (found.some((p) => !p)) return undefined;
  return found as CompiledParam[];
}

/** The rows of these parameters: their `keys` (a union parameter's are its parts'). */
export function keyCond(x: string, params: CompiledParam[], suffix = ''): Sql {
  const keys = params.flatMap((p) => p.keys);
  return keys.length === 1 ? sql`${raw(x)}.p = ${keys[0] + suffix}` : sql`${raw(x)}.p = any(${keys.map((k) => k + suffix)}::text[])`;
}

function parsePrefix(value: string, param: string): { prefix: Prefix; rest: string } {
  const m = /^([a-z]{2})(.*)$/.exec(value);
  if (m && (PREFIXES as readonly string[]).includes(m[1])) return { prefix: m[1] as Prefix, rest: m[2] };
  if (m && /^[a-z]{2}[-+\d]/.test(value)) throw badRequest('invalid-prefix', `Unknown prefix '${m[1]}' in ${param}=${value}`, param);
  return { prefix: 'eq', rest: value };
}

/** Range semantics of the spec for a stored range [lo, hi] against a searched range [qlo, qhi]. */
function rangeCond(lo: Sql, hi: Sql, prefix: Prefix, qlo: unknown, qhi: unknown, cast: string, apDelta?: unknown): Sql {
  const c = raw(cast);
  const contained = sql`(${lo} >= ${qlo}::${c} and ${hi} <= ${qhi}::${c})`;
  switch (prefix) {
    case 'eq':
      return contained;
    case 'ne':
      return sql`not ${contained}`;
    case 'gt':
      return sql`${hi} > ${qhi}::${c}`;
    case 'lt':
      return sql`${lo} < ${qlo}::${c}`;
    case 'ge':
      return sql`(${hi} > ${qhi}::${c} or ${contained})`;
    case 'le':
      return sql`(${lo} < ${qlo}::${c} or ${contained})`;
    case 'sa':
      return sql`${lo} > ${qhi}::${c}`;
    case 'eb':
      return sql`${hi} < ${qlo}::${c}`;
    case 'ap':
      return sql`(${lo} <= ${qhi}::${c} + ${apDelta}::${raw(cast === 'timestamptz' ? 'interval' : 'numeric')} and ${hi} >= ${qlo}::${c} - ${apDelta}::${raw(cast === 'timestamptz' ? 'interval' : 'numeric')})`;
  }
}

function dateValueCond(lo: Sql, hi: Sql, value: string, param: string): Sql {
  const { prefix, rest } = parsePrefix(value, param);
  const r = dateRange(rest);
  if (!r) throw badRequest('invalid-date', `Invalid date '${rest}' in ${param}; expected e.g. 2020, 2020-03, 2020-03-01 or 2020-03-01T10:00:00Z`, param);
  const delta = Math.max(Math.abs(Date.now() - r.lo.getTime()) * 0.1, 1000);
  return rangeCond(lo, hi, prefix, r.lo.toISOString(), r.hi.toISOString(), 'timestamptz', `${Math.round(delta)} milliseconds`);
}

function numberValueCond(v: Sql, text: string, prefix: Prefix, param: string): Sql {
  // One way to match each digit: `\d+\.?\d*` could split a run between its two loops at every point, and a long
  // run that did not end well (a POST _search body can be megabytes) took time quadratic in its length.
  if (!/^[-+]?(\d+(?:\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw badRequest('invalid-number', `Invalid number '${text}' in ${param}`, param);
  const n = Number(text);
  // Precision: "100" means [99.5, 100.5); "100.00" means [99.995, 100.005).
  const half = 0.5 * 10 ** -decimals(text);
  const lo = (n - half).toString();
  const hi = (n + half).toString();
  switch (prefix) {
    case 'eq':
      return sql`(${v} >= ${lo}::numeric and ${v} < ${hi}::numeric)`;
    case 'ne':
      return sql`not (${v} >= ${lo}::numeric and ${v} < ${hi}::numeric)`;
    case 'gt':
    case 'sa':
      return sql`${v} > ${text}::numeric`;
    case 'lt':
    case 'eb':
      return sql`${v} < ${text}::numeric`;
    case 'ge':
      return sql`${v} >= ${text}::numeric`;
    case 'le':
      return sql`${v} <= ${text}::numeric`;
    case 'ap': {
      const d = Math.abs(n) * 0.1;
      return sql`(${v} >= ${(n - d).toString()}::numeric and ${v} <= ${(n + d).toString()}::numeric)`;
    }
  }
}

/** `system|code`, `|code`, `system|`, `code` → a condition on (system, code) columns. */
function tokenCond(sys: Sql, code: Sql, value: string): Sql {
  const bar = value.indexOf('|');
  if (bar < 0) return sql`${code} = ${value}`;
  const s = value.slice(0, bar);
  const c = value.slice(bar + 1);
  if (!s) return sql`(${sys} is null and ${code} = ${c})`;
  if (!c) return sql`${sys} = ${s}`;
  return sql`(${sys} = ${s} and ${code} = ${c})`;
}

/**
 * OR over many token values: plain codes become one `code = any(...)`, the index-friendly form for
 * long lists. As a probe the list stays a plain `= any`: its per-value estimates keep the planner
 * from hashing every row of a hundred codes (it did, at 70 ms, for `in (select unnest(…))`), at
 * the price of ~5 ms planning for 100 codes. Checked row by row (`form` 'row', when another
 * probe leads), the column is hidden from the statistics (see idIn): no per-value estimates, one
 * hashed constant.
 */
function tokenOrCond(x: string, values: string[], form: 'probe' | 'row' = 'probe'): Sql {
  const plain = values.filter((v) => !v.includes('|'));
  const bySystem = new Map<string, string[]>();
  const rest: string[] = [];
  for (const v of values.filter((v) => v.includes('|'))) {
    const [s, c] = [v.slice(0, v.indexOf('|')), v.slice(v.indexOf('|') + 1)];
    if (!s || !c) rest.push(v);
    else if (bySystem.has(s)) bySystem.get(s)!.push(c);
    else bySystem.set(s, [c]);
  }
  const parts: Sql[] = [];
  const code = raw(`${x}.code`);
  if (plain.length) parts.push(anyOf(code, plain, form));
  for (const [s, codes] of bySystem) parts.push(sql`(${anyOf(code, codes, form)} and ${raw(x)}.system = ${s})`);
  for (const v of rest) parts.push(tokenCond(raw(`${x}.system`), raw(`${x}.code`), v));
  return or(parts);
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => '\\' + c);

function stringCond(x: string, modifier: string | undefined, value: string): Sql {
  if (modifier === 'exact') return sql`${raw(x)}.value = ${value}`;
  const norm = escapeLike(normalizeString(value));
  if (modifier === 'contains') return sql`${raw(x)}.norm like ${'%' + norm + '%'}`;
  return sql`${raw(x)}.norm like ${norm + '%'}`;
}

function quantityCond(x: string, value: string, param: string): Sql {
  const { prefix, rest } = parsePrefix(value, param);
  const [num, system, code] = splitBars(rest);
  const parts = [numberValueCond(raw(`${x}.value`), num, prefix, param)];
  if (system) parts.push(sql`${raw(x)}.system = ${system}`);
  if (code) parts.push(system ? sql`${raw(x)}.code = ${code}` : sql`(${raw(x)}.code = ${code} or ${raw(x)}.unit = ${code})`);
  return and(parts);
}

function splitBars(value: string): string[] {
  return value.split(/(?<!\\)\|/).map((s) => s.replace(/\\\|/g, '|'));
}

/**
 * A list of local references (Type/id, or ids under a :Type modifier) grouped by type, or undefined
 * when any value is something else: one `target_id = any(…)` per type is one index-only scan,
 * where an OR of (type, id) pairs becomes a bitmap OR that reads the table's pages.
 */
function typedReferences(values: string[], typeModifier: string | undefined, ctx: CompileContext): Map<string, string[]> | undefined {
  const byType = new Map<string, string[]>();
  for (const value of values) {
    const v = value.startsWith(ctx.baseUrl + '/') ? value.slice(ctx.baseUrl.length + 1) : value;
    const local = typeModifier ? { type: typeModifier, id: v } : parseLocalReference(v);
    if (!local) return undefined;
    if (byType.has(local.type)) byType.get(local.type)!.push(local.id);
    else byType.set(local.type, [local.id]);
  }
  return byType;
}

/**
 * `target_id` among many ids, in the form the query needs. Planning `col = any(<constant array>)`
 * looks every element up in the column's statistics (1,000 common values here): ~25 ms for 400
 * ids, more than running the query. As a probe (index-driven: the references to these targets),
 * a long list is a join with its unnest, which plans in well under a millisecond. Checked row by
 * row (is this row's target one of them), the column is hidden from the statistics behind `|| ''`
 * so that the list stays a constant PostgreSQL hashes once, without a per-element estimate.
 */
function idIn(x: string, ids: string[], form: 'probe' | 'row'): Sql {
  const column = raw(`${x}.target_id`);
  return form === 'row' ? anyOf(column, ids, 'row') : inList(column, ids);
}

/** `column = any(values)`; for a long list checked row by row, hidden from the statistics (see idIn). */
function anyOf(column: Sql, values: string[], form: 'probe' | 'row'): Sql {
  if (values.length === 1) return sql`${column} = ${values[0]}`;
  if (form === 'row' && values.length > SHORT_LIST) return sql`(${column} || '') = any(${values}::text[])`;
  return sql`${column} = any(${values}::text[])`;
}

/** `column` is one of `values`: a long list as a join with its unnest, which plans cheaply (see idIn). */
function inList(column: Sql, values: string[]): Sql {
  if (values.length === 1) return sql`${column} = ${values[0]}`;
  if (values.length <= SHORT_LIST) return sql`${column} = any(${values}::text[])`;
  return sql`${column} in (select unnest(${values}::text[]))`;
}
const SHORT_LIST = 8;

/** A value's comma-separated alternatives; without an escape, a plain split (the library's walks every character: a resolved chain's list is 20 kB). */
const splitValues = (value: string) => (value.includes('\\') ? splitSearchOnComma(value) : value.split(','));

function referenceCond(x: string, param: CompiledParam, value: string, typeModifier: string | undefined, ctx: CompileContext): Sql {
  let v = value;
  if (v.startsWith(ctx.baseUrl + '/')) v = v.slice(ctx.baseUrl.length + 1);
  const local = parseLocalReference(v);
  if (typeModifier) return sql`(${raw(x)}.target_type = ${typeModifier} and ${raw(x)}.target_id = ${v})`;
  if (local) return sql`(${raw(x)}.target_type = ${local.type} and ${raw(x)}.target_id = ${local.id})`;
  if (/^[A-Za-z0-9\-.]{1,64}$/.test(v)) return sql`${raw(x)}.target_id = ${v}`;
  return sql`${raw(x)}.url = ${v}`;
}

/** Path steps a `:above` value may have: its prefixes, one per step, grow with the square of its length. */
const MAX_ABOVE_STEPS = 64;

function uriCond(x: string, modifier: string | undefined, value: string, name: string): Sql {
  if (modifier === 'below') return sql`${raw(x)}.value like ${escapeLike(value) + '%'}`;
  if (modifier === 'above') {
    if (value.split('/').length > MAX_ABOVE_STEPS + 1) throw badRequest('invalid-uri', `${name} has more than ${MAX_ABOVE_STEPS} path steps`, name);
    const prefixes: string[] = [];
    for (let i = value.length; i > 0; i--) if (i === value.length || value[i] === '/') prefixes.push(value.slice(0, i));
    return sql`${raw(x)}.value = any(${prefixes}::text[])`;
  }
  return sql`${raw(x)}.value = ${value}`;
}

function compositeCond(x: string, param: CompiledParam, value: string, name: string): Sql {
  const [first, second] = value.split('$');
  if (second === undefined || !param.components || param.components.length !== 2)
    throw badRequest('invalid-composite', `Composite ${name} needs two values joined by $`, name);
  const c2 = param.components[1];
  const parts = [tokenCond(raw(`${x}.system1`), raw(`${x}.code1`), first)];
  if (c2.type === 'token') parts.push(tokenCond(raw(`${x}.system2`), raw(`${x}.code2`), second));
  else if (c2.type === 'quantity') {
    const { prefix, rest } = parsePrefix(second, name);
    const [num, system, code] = splitBars(rest);
    parts.push(numberValueCond(raw(`${x}.num2`), num, prefix, name));
    if (system) parts.push(sql`${raw(x)}.system2 = ${system}`);
    if (code) parts.push(sql`${raw(x)}.code2 = ${code}`);
  } else if (c2.type === 'date') parts.push(dateValueCond(raw(`${x}.lo2`), raw(`${x}.hi2`), second, name));
  else if (c2.type === 'string') parts.push(sql`${raw(x)}.code2 like ${escapeLike(normalizeString(second)) + '%'}`);
  else parts.push(sql`${raw(x)}.code2 = ${second}`);
  return and(parts);
}

/** Positive probes into one index table, by condition: a search can be driven from that table alone. */
export const indexProbes = new WeakMap<Sql, IndexProbe>();

export interface IndexProbe {
  table: string;
  x: string;
  where: Sql;
  /** Set for a probe for the references to a few given resources: rows of a handful of targets. */
  targets?: number;
  /** The index returns the probe's rows in rid order (one value of one parameter): a walk in rid order can stop early. */
  ordered?: boolean;
  /** The same condition in the form cheapest to check for one row at a time (see idIn). */
  perRow?: Sql;
  /** References to these patients through the compartment's own element: a match lies in one of their compartments. */
  compartments?: string[];
}
/** Conditions that read nothing of the resource row but its rid (so need no resource row to evaluate). */
export const ridOnly = new WeakSet<Sql>();
/** For conditions that read the resource row: the same condition reading only the rid (it fetches the row itself). */
export const ridVariant = new WeakMap<Sql, Sql>();

/** Some row of `table` belongs to the resource `alias` and satisfies `where`. */
const rowOf = (table: string, x: string, alias: string, where: Sql): Sql =>
  sql`exists (select 1 from ${raw(table)} ${raw(x)} where ${raw(x)}.rid = ${raw(alias)}.rid and ${where})`;

function existsIn(table: string, x: string, alias: string, where: Sql, targets?: number): Sql {
  const s = rowOf(table, x, alias, where);
  indexProbes.set(s, { table, x, where, targets });
  ridOnly.add(s);
  return s;
}

function negate(e: Sql): Sql {
  const s = sql`not ${e}`;
  ridOnly.add(s);
  return s;
}

/**
 * One search parameter (all its comma-separated alternatives) as a condition on the resource
 * row `alias`, whose type is one of `types`. Conditions are EXISTS probes into the index
 * tables, which PostgreSQL turns into semi-joins driven by whichever side is more selective.
 */
export function compileParam(ctx: CompileContext, types: string[], alias: string, name: string, value: string): Sql {
  if (name.startsWith('_has:')) return compileHas(ctx, types, alias, name, value);
  const { code, modifier, chain } = splitName(name);
  if (code === '_id' || code === '_lastUpdated') return compileColumnParam(alias, code, modifier, value, name);
  if (code === '_text' || code === '_content') return compileText(ctx, types, alias, code, modifier, value);
  const params = paramsFor(types, code);
  if (!params) throw new UnsupportedParam(`Unknown search parameter '${code}' for ${types.length > 3 ? 'these types' : types.join(', ')}`);
  const type = params[0].type;
  if (chain) return compileChain(ctx, params, alias, modifier, chain, value, name);
  const table = TABLE[type];
  if (!table) throw new UnsupportedParam(`Search parameter '${code}' of type ${type} is not supported`);
  const x = nextAlias(ctx, 'x');

  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw badRequest('invalid-missing', `${name} must be true or false`, name);
    const e = existsIn(table, x, alias, keyCond(x, params));
    return value === 'true' ? negate(e) : e;
  }
  const values = splitValues(value);
  if (!values.length || values.some((v) => v === '')) throw badRequest('empty-value', `Empty value in ${name}`, name);

  switch (type) {
    case 'token': {
      if (modifier === 'text') {
        // string semantics: the text starts with the value (case- and accent-insensitive)
        const conds = values.map((v) => sql`${raw(x)}.norm like ${escapeLike(normalizeString(v)) + '%'}`);
        return existsIn('sp_string', x, alias, and([keyCond(x, params, TEXT_SUFFIX), or(conds)]));
      }
      if (modifier === 'in' || modifier === 'not-in') {
        const members = values.flatMap((v) => {
          const exp = expandValueSet(v, ctx.valueSets);
          if (!exp) throw new UnsupportedParam(`Value set '${v}' of ${name} is not known to this server, or not an enumeration`);
          return exp;
        });
        const conds = members.map((m) =>
          // elements of type `code` carry no system in the index: their binding implies it
          m.codes
            ? sql`((${raw(x)}.system = ${m.system} or ${raw(x)}.system is null) and ${anyOf(raw(`${x}.code`), m.codes, 'probe')})`
            : sql`${raw(x)}.system = ${m.system}`
        );
        const e = existsIn(table, x, alias, and([keyCond(x, params), or(conds)]));
        return modifier === 'in' ? e : negate(e);
      }
      if (modifier === 'below' || modifier === 'above') {
        const conds = values.map((v) => {
          const [system, code] = splitBars(v);
          const codes = system && code ? (modifier === 'below' ? codesBelow(system, code) : codesAbove(system, code)) : undefined;
          if (!codes) throw new UnsupportedParam(`:${modifier} on ${code} needs system|code of a code system known to this server`);
          return sql`(${raw(x)}.system = ${system} and ${anyOf(raw(`${x}.code`), codes, 'probe')})`;
        });
        return existsIn(table, x, alias, and([keyCond(x, params), or(conds)]));
      }
      if (modifier && modifier !== 'not') throw new UnsupportedParam(`Modifier :${modifier} is not supported on token parameter ${code}`);
      const e = existsIn(table, x, alias, and([keyCond(x, params), tokenOrCond(x, values)]));
      // sp_token_value is (p, code, rid): one code of one parameter comes out in rid order.
      if (params.length === 1 && values.length === 1 && !values[0].endsWith('|')) indexProbes.get(e)!.ordered = true;
      if (values.length > SHORT_LIST)
        indexProbes.get(e)!.perRow = rowOf(table, x, alias, and([keyCond(x, params), tokenOrCond(x, values, 'row')]));
      return modifier === 'not' ? negate(e) : e;
    }
    case 'string': {
      if (modifier && modifier !== 'exact' && modifier !== 'contains')
        throw new UnsupportedParam(`Modifier :${modifier} is not supported on string parameter ${code}`);
      return existsIn(table, x, alias, and([keyCond(x, params), or(values.map((v) => stringCond(x, modifier, v)))]));
    }
    case 'date':
      if (modifier) throw new UnsupportedParam(`Modifier :${modifier} is not supported on date parameter ${code}`);
      return existsIn(table, x, alias, and([keyCond(x, params), or(values.map((v) => dateValueCond(raw(`${x}.lo`), raw(`${x}.hi`), v, name)))]));
    case 'number':
      if (modifier) throw new UnsupportedParam(`Modifier :${modifier} is not supported on number parameter ${code}`);
      return existsIn(
        table,
        x,
        alias,
        and([keyCond(x, params), or(values.map((v) => { const { prefix, rest } = parsePrefix(v, name); return numberValueCond(raw(`${x}.value`), rest, prefix, name); }))])
      );
    case 'quantity':
      if (modifier) throw new UnsupportedParam(`Modifier :${modifier} is not supported on quantity parameter ${code}`);
      return existsIn(table, x, alias, and([keyCond(x, params), or(values.map((v) => quantityCond(x, v, name)))]));
    case 'reference': {
      if (modifier === 'identifier')
        return existsIn('sp_token', x, alias, and([keyCond(x, params, IDENTIFIER_SUFFIX), tokenOrCond(x, values)]));
      const typeModifier = modifier && isResourceType(modifier) ? modifier : undefined;
      if (modifier && !typeModifier) throw new UnsupportedParam(`Modifier :${modifier} is not supported on reference parameter ${code}`);
      const ids = values.every((v) => /^[A-Za-z0-9\-.]{1,64}$/.test(v)) && !typeModifier && values.length > 1;
      const typed = values.length > 1 && !ids ? typedReferences(values, typeModifier, ctx) : undefined;
      const lists: [string | undefined, string[]][] | undefined = ids ? [[undefined, values]] : typed ? [...typed] : undefined;
      if (!lists) return existsIn(table, x, alias, and([keyCond(x, params), or(values.map((v) => referenceCond(x, params[0], v, typeModifier, ctx)))]), values.length);
      const listCond = (form: 'probe' | 'row') =>
        or(lists.map(([type, list]) => (type ? sql`(${raw(x)}.target_type = ${type} and ${idIn(x, list, form)})` : idIn(x, list, form))));
      const probe = existsIn(table, x, alias, and([keyCond(x, params), listCond('probe')]), values.length);
      const info = indexProbes.get(probe)!;
      info.perRow = rowOf(table, x, alias, and([keyCond(x, params), listCond('row')]));
      const patients = lists.every(([type]) => type === 'Patient' || (!type && params[0].targets.length === 1 && params[0].targets[0] === 'Patient'));
      if (patients && params.length === 1 && isCompartmentReference(params[0].resourceType, params[0].expression)) info.compartments = lists.flatMap(([, list]) => list);
      return probe;
    }
    case 'uri':
      if (modifier && modifier !== 'above' && modifier !== 'below') throw new UnsupportedParam(`Modifier :${modifier} is not supported on uri parameter ${code}`);
      return existsIn(table, x, alias, and([keyCond(x, params), or(values.map((v) => uriCond(x, modifier, v, name)))]));
    case 'composite':
      if (modifier) throw new UnsupportedParam(`Modifier :${modifier} is not supported on composite parameter ${code}`);
      return existsIn(table, x, alias, and([keyCond(x, params), or(values.map((v) => compositeCond(x, params[0], v, name)))]));
  }
  throw new UnsupportedParam(`Search parameter '${code}' is not supported`);
}

/** _id and _lastUpdated live on the resource row itself. */
function compileColumnParam(alias: string, code: string, modifier: string | undefined, value: string, name: string): Sql {
  const values = splitValues(value);
  if (modifier === 'missing') return raw(value === 'true' ? 'false' : 'true');
  if (code === '_id') {
    if (modifier && modifier !== 'not') throw new UnsupportedParam(`Modifier :${modifier} is not supported on _id`);
    const c = inList(raw(`${alias}.id`), values);
    return modifier === 'not' ? sql`not ${c}` : c;
  }
  if (modifier) throw new UnsupportedParam(`Modifier :${modifier} is not supported on _lastUpdated`);
  const col = raw(`${alias}.last_updated`);
  return or(values.map((v) => dateValueCond(col, col, v, name)));
}

/** _text: words of the narrative (contains semantics). _content is not indexed. */
function compileText(ctx: CompileContext, types: string[], alias: string, code: string, modifier: string | undefined, value: string): Sql {
  if (code === '_content' || modifier) throw new UnsupportedParam(`${code}${modifier ? ':' + modifier : ''} is not supported`);
  const x = nextAlias(ctx, 'x');
  const keys = types.map((t) => `${t}._text`);
  const words = value.split(/\s+/).filter(Boolean).map((w) => sql`${raw(x)}.norm like ${'%' + escapeLike(normalizeString(w)) + '%'}`);
  return existsIn('sp_text', x, alias, and([sql`${raw(x)}.p = any(${keys}::text[])`, ...words]));
}

/** subject:Patient.name=x → the referenced resource must match `name=x`; chains nest. */
function compileChain(
  ctx: CompileContext,
  params: CompiledParam[],
  alias: string,
  modifier: string | undefined,
  chain: string,
  value: string,
  name: string
): Sql {
  checkChainLinks(chain, name);
  const x = nextAlias(ctx, 'x');
  const t = nextAlias(ctx, 't');
  const target = chainTarget(ctx, chainTargetTypes(params, modifier, chain, name), t, chain, value);
  const chained = sql`exists (select 1 from sp_reference ${raw(x)} join resource ${raw(t)} on ${raw(t)}.type = ${raw(x)}.target_type and ${raw(t)}.id = ${raw(x)}.target_id where ${raw(x)}.rid = ${raw(alias)}.rid and ${keyCond(x, params)} and not ${raw(t)}.deleted and ${target})`;
  ridOnly.add(chained);
  return chained;
}

/** `chain` is what follows the first reference: `subject:Patient.organization.name` follows 2 references. */
function checkChainLinks(chain: string, name: string): void {
  const links = chain.split('.').length;
  if (links > MAX_CHAIN_LINKS) throw badRequest('invalid-chain', `${name} follows ${links} references; at most ${MAX_CHAIN_LINKS} are followed`, name);
}

/** The resource types a chain through `params` may point at. */
function chainTargetTypes(params: CompiledParam[], modifier: string | undefined, chain: string, name: string): string[] {
  if (params[0].type !== 'reference') throw badRequest('invalid-chain', `${params[0].code} is not a reference parameter and cannot be chained`, name);
  let targets = modifier ? [modifier] : [...new Set(params.flatMap((p) => p.targets))];
  if (modifier && !isResourceType(modifier)) throw badRequest('invalid-chain', `Unknown resource type '${modifier}' in ${name}`, name);
  const nextCode = splitName(chain).code;
  // The chained parameter decides which of the allowed target types are meant.
  if (!nextCode.startsWith('_')) targets = targets.filter((tt) => getSearchParam(tt, nextCode));
  if (!targets.length) throw new UnsupportedParam(`No target type of ${params[0].code} has the parameter '${nextCode}'`);
  return targets;
}

/** What a resource row `t` must satisfy to be a target of the chain (the caller's access filter included). */
function chainTarget(ctx: CompileContext, targets: string[], t: string, chain: string, value: string): Sql {
  const inner = or(targets.map((tt) => and([sql`${raw(t)}.type = ${tt}`, compileParam(ctx, [tt], t, chain, value)])));
  return ctx.accessFilter ? sql`${inner} and (${ctx.accessFilter(t)})` : inner;
}

/**
 * For a chained parameter (`subject:Patient.name=x`) of a search on `types`: the reference
 * parameter's code and the query for the (type, id) of every live resource the chain may point
 * at. The search can then ask for references to those resources, which the planner estimates
 * far better than a join through the chain. Undefined for anything else.
 */
export function chainTargetsQuery(ctx: CompileContext, types: string[], name: string, value: string): { code: string; query: Sql } | undefined {
  if (name.startsWith('_has:')) return undefined;
  const { code, modifier, chain } = splitName(name);
  if (!chain) return undefined;
  const params = paramsFor(types, code);
  if (!params) return undefined;
  checkChainLinks(chain, name);
  const t = nextAlias(ctx, 't');
  const targetTypes = chainTargetTypes(params, modifier, chain, name);
  if (targetTypes.length === 1 && targetTypes[0] === 'Patient' && !ctx.accessFilter) {
    // A Patient's index rows carry its own id as their compartment, and exist only while it is
    // live: one positive probe on an index that includes the compartment yields the ids itself.
    const probe = indexProbes.get(compileParam(ctx, ['Patient'], t, chain, value));
    if (probe && COMPARTMENT_IN_INDEX.has(probe.table)) {
      const x = raw(probe.x);
      return { code, query: sql`select distinct 'Patient' as type, ${x}.compartment as id from ${raw(probe.table)} ${x} where ${probe.where} and ${x}.compartment is not null` };
    }
  }
  const target = chainTarget(ctx, targetTypes, t, chain, value);
  return { code, query: sql`select ${raw(t)}.type, ${raw(t)}.id from resource ${raw(t)} where not ${raw(t)}.deleted and ${target}` };
}
/** Index tables whose value index includes the compartment (migrations 0005 and 0006). */
const COMPARTMENT_IN_INDEX = new Set(['sp_token', 'sp_string']);

/** _has:Observation:patient:code=x → some Observation whose `patient` points here has code x. */
function compileHas(ctx: CompileContext, types: string[], alias: string, name: string, value: string): Sql {
  const parts = name.split(':');
  const [, srcType, refCode] = parts;
  const rest = parts.slice(3).join(':');
  if (!srcType || !refCode || !rest || !isResourceType(srcType))
    throw badRequest('invalid-has', `Malformed ${name}; expected _has:Type:reference:parameter=value`, name);
  const depth = name.split('_has:').length - 1;
  if (depth > MAX_HAS_DEPTH) throw badRequest('invalid-has', `${name} nests ${depth} _has; at most ${MAX_HAS_DEPTH} are followed`, name);
  const ref = getSearchParam(srcType, refCode);
  if (!ref || ref.type !== 'reference') throw badRequest('invalid-has', `'${refCode}' is not a reference parameter of ${srcType}`, name);
  const x = nextAlias(ctx, 'x');
  const s = nextAlias(ctx, 's');
  const target = sql`${raw(x)}.p = ${ref.key} and ${raw(x)}.target_id = ${raw(alias)}.id and ${raw(x)}.target_type = ${raw(alias)}.type`;
  const byRid = compileParam(ctx, [srcType], x, rest, value);
  // Index rows exist only for live resources, so a source condition that reads nothing but the
  // rid is checked on the reference row itself: one probe per source instead of a heap fetch
  // of its resource row too (half the cost of a _has over many sources).
  if (ridOnly.has(byRid) && !ctx.accessFilter) {
    const has = sql`exists (select 1 from sp_reference ${raw(x)} where ${target} and ${byRid})`;
    // In a query led by another parameter's index rows, the candidate's id comes from its
    // resource row, looked up by rid: one probe per candidate checked, in rid order, so a page
    // stops after its first matches instead of testing every candidate.
    const rr = nextAlias(ctx, 'rr');
    const typeCond = types.length === 1 ? sql`${raw(rr)}.type = ${types[0]}` : sql`${raw(rr)}.type = any(${types}::text[])`;
    // The reference rows are looked up per candidate in a LATERAL kept apart by `offset 0`: as a
    // join on target_id = id, planning alone cost more than a page of checks (see includeQuery).
    ridVariant.set(
      has,
      sql`exists (select 1 from resource ${raw(rr)} cross join lateral (select 1 from sp_reference ${raw(x)} where ${raw(x)}.target_id = ${raw(rr)}.id and ${raw(x)}.target_type = ${raw(rr)}.type and ${raw(x)}.p = ${ref.key} and ${byRid} offset 0) ${raw(x)} where ${raw(rr)}.rid = ${raw(alias)}.rid and ${typeCond} and not ${raw(rr)}.deleted)`
    );
    return has;
  }
  const inner = compileParam(ctx, [srcType], s, rest, value);
  const access = ctx.accessFilter ? sql` and (${ctx.accessFilter(s)})` : raw('');
  return sql`exists (select 1 from sp_reference ${raw(x)} join resource ${raw(s)} on ${raw(s)}.rid = ${raw(x)}.rid where ${target} and not ${raw(s)}.deleted and ${inner}${access})`;
}
