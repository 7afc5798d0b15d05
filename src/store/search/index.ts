import type { Bundle, BundleEntry, BundleLink, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { allResourceTypes, isResourceType } from '../../fhir/search-parameters.ts';
import { badRequest, FhirError, issue } from '../../fhir/outcome.ts';
import { parseCount } from '../../fhir/paging.ts';
import type { Queryable } from '../db.ts';
import { and, join, raw, run, sql, type Sql } from '../sql.ts';
import { chainTargetsQuery, compileParam, indexProbes, ridOnly, ridVariant, UnsupportedParam, type CompileContext } from './conditions.ts';
import { loadIncludes, parseInclude, type IncludeSpec, type Row } from './include.ts';
import { afterCursor, decodeCursor, encodeCursor, orderBy, sortKeys, type Cursor, type SortKey } from './paging.ts';
import { parseElements, parseSummary, shapeResource, type Summary } from './shape.ts';
import { loadStoredValueSets } from './valuesets.ts';
import { parseFhirJson, stringifyFhirJson } from '../../fhir/json-decimals.ts';

export interface SearchInput {
  resourceType?: string;
  params: [string, string][];
  compartment?: { type: 'Patient'; id: string };
  strict?: boolean;
  baseUrl: string;
  accessFilter?: (resourceAlias: string) => Sql;
  /**
   * Entries whose resource goes out as stored carry the stored JSON text (STORED_JSON) instead of
   * a parsed `resource`: for a response serialised by searchBundleJson, which splices the text in.
   */
  storedText?: boolean;
}

/** The stored JSON text of an entry's resource, on entries of a `storedText` search. */
export const STORED_JSON = Symbol('stored JSON text');
type StoredEntry = BundleEntry & { [STORED_JSON]?: string };

export const DEFAULT_COUNT = 20;

/** Parameters that shape the result rather than filter it. */
const RESULT_PARAMS = new Set(['_count', '_sort', '_include', '_revinclude', '_summary', '_elements', '_total', '_cursor', '_type', '_format', '_pretty']);

interface Plan {
  types: string[] | undefined;
  where: Sql[];
  sort?: string;
  count: number;
  includes: IncludeSpec[];
  summary?: Summary;
  elements?: string[];
  total?: 'none' | 'accurate' | 'estimate';
  cursor?: Cursor;
  ignored: OperationOutcomeIssue[];
  /** The positive index probe that leads the match query (see matchQuery). */
  driver?: Sql;
}

function unsupported(strict: boolean | undefined, plan: { ignored: OperationOutcomeIssue[] }, name: string, message: string): void {
  if (strict) throw new FhirError(400, [issue('not-supported', 'unsupported-search-parameter', message, name)]);
  plan.ignored.push(issue('not-supported', 'unsupported-search-parameter', `${message}; ignored`, name, 'warning'));
}

function single(name: string, values: string[]): string {
  if (values.length > 1) throw badRequest('repeated-parameter', `${name} may be given only once`, name);
  return values[0];
}

/** Turns the raw query pairs into SQL conditions and result options; every bad value is a 400 here, before any query runs. */
function plan(input: SearchInput, ctx: CompileContext, alias: string): Plan {
  const byName = new Map<string, string[]>();
  for (const [k, v] of input.params) {
    const values = byName.get(k);
    if (values) values.push(v);
    else byName.set(k, [v]);
  }
  const p: Plan = { types: undefined, where: [], count: DEFAULT_COUNT, includes: [], ignored: [] };

  if (input.resourceType) {
    if (!isResourceType(input.resourceType)) throw badRequest('unknown-type', `Unknown resource type '${input.resourceType}'`);
    p.types = [input.resourceType];
  } else if (byName.has('_type')) {
    p.types = [...new Set(byName.get('_type')!.flatMap((v) => v.split(',')))];
    for (const t of p.types) if (!isResourceType(t)) throw badRequest('unknown-type', `Unknown resource type '${t}' in _type`, '_type');
  }
  const types = p.types ?? allResourceTypes();

  for (const [name, values] of byName) {
    const base = name.split(':')[0];
    if (base === '_count') {
      p.count = parseCount(single(name, values), DEFAULT_COUNT);
    } else if (base === '_sort') p.sort = single(name, values);
    else if (base === '_include' || base === '_revinclude') {
      for (const v of values) {
        try {
          p.includes.push(parseInclude(name, v));
        } catch (e) {
          if (!(e instanceof UnsupportedParam)) throw e;
          unsupported(input.strict, p, name, e.message);
        }
      }
    } else if (base === '_summary') p.summary = parseSummary(single(name, values));
    else if (base === '_elements') p.elements = parseElements(values);
    else if (base === '_total') {
      const v = single(name, values);
      if (!['none', 'accurate', 'estimate'].includes(v)) throw badRequest('invalid-total', `_total must be none, accurate or estimate`, '_total');
      p.total = v as Plan['total'];
    } else if (base === '_cursor') p.cursor = decodeCursor(single(name, values));
    else if (RESULT_PARAMS.has(base)) continue;
    else {
      for (const value of values) {
        try {
          p.where.push(compileParam(ctx, types, alias, name, value));
        } catch (e) {
          if (!(e instanceof UnsupportedParam)) throw e;
          unsupported(input.strict, p, name, e.message);
        }
      }
    }
  }
  return p;
}

function baseConditions(input: SearchInput, p: Plan, alias: string): Sql[] {
  const conds: Sql[] = [sql`not ${raw(alias)}.deleted`];
  if (p.types?.length === 1) conds.unshift(sql`${raw(alias)}.type = ${p.types[0]}`);
  else if (p.types) conds.unshift(sql`${raw(alias)}.type = any(${p.types}::text[])`);
  if (input.compartment) {
    // A Patient is in its own compartment; every other patient-owned row carries its id.
    conds.push(
      input.resourceType === 'Patient' ? sql`${raw(alias)}.id = ${input.compartment.id}` : sql`${raw(alias)}.compartment = ${input.compartment.id}`
    );
  }
  if (input.accessFilter) conds.push(sql`(${input.accessFilter(alias)})`);
  return conds;
}

/**
 * Of several positive probes, the one expected to return the fewest rows leads: a patient's
 * handful of references rather than a code every patient has. The planner cannot make this
 * choice itself once the leading table is fixed, so unless a probe is obviously selective we
 * ask it for its estimate of each probe (one EXPLAIN each, planning only).
 */
async function chooseDriver(db: Queryable, p: Plan): Promise<void> {
  const candidates = p.where.filter((w) => indexProbes.has(w));
  if (candidates.length <= 1) {
    p.driver = candidates[0];
    return;
  }
  // References to one or a few given resources (patient=123) are as selective as it gets:
  // no need for the planner's opinion, which would cost a round trip per probe.
  const targeted = candidates
    .filter((c) => (indexProbes.get(c)!.targets ?? Infinity) <= 3)
    .sort((a, b) => indexProbes.get(a)!.targets! - indexProbes.get(b)!.targets!);
  if (targeted.length) {
    p.driver = targeted[0];
    return;
  }
  let best = Infinity;
  for (const c of candidates) {
    const d = indexProbes.get(c)!;
    const { text, values } = sql`explain (format json) select ${raw(d.x)}.rid from ${raw(d.table)} ${raw(d.x)} where ${d.where}`.toQuery();
    const [row] = await db.query<any>(text, values);
    const plan = typeof row['QUERY PLAN'] === 'string' ? JSON.parse(row['QUERY PLAN']) : row['QUERY PLAN'];
    const rows = Number(plan[0].Plan['Plan Rows']);
    if (rows < best) {
      best = rows;
      p.driver = c;
    }
  }
}

/**
 * The rids (and sort keys) of all matches. When every condition is a probe into the index
 * tables, the first positive probe's table drives the query and the resource table is not read
 * at all: index rows exist only for live resources, and their `p` implies the type. This keeps
 * PostgreSQL from walking a whole type in rid order hoping to meet matches early (a plan it
 * picks on misestimates and that costs O(rows of the type)). Otherwise the resource table leads.
 */
function matchQuery(input: SearchInput, p: Plan, a: string, keys: SortKey[], keySelect: Sql): Sql {
  const driver = p.driver;
  if (!driver || !rowFree(input, p, keys)) return sql`select ${raw(a)}.rid${keySelect} from resource ${raw(a)} where ${and([...baseConditions(input, p, a), ...p.where])}`;
  const d = indexProbes.get(driver)!;
  const x = raw(d.x);
  const inCompartment = input.compartment ? sql` and ${x}.compartment = ${input.compartment.id}` : raw('');
  // The driver's rows are checked against the rest: each in its row-by-row form where it has one.
  const rest = p.where.filter((w) => w !== driver).map(rowByRow);
  // Ordered by rid so that, for the default order, the page is the first rows of a walk that
  // stops once it is full: an equality probe reads its index in rid order (rid follows the value
  // in every key), so `status=active` costs a page, not a sort of every active request.
  return sql`select ${raw(a)}.rid${keySelect} from (select distinct ${x}.rid from ${raw(d.table)} ${x} where ${d.where}${inCompartment} order by ${x}.rid) ${raw(a)} where ${and(rest)}`;
}

/** A condition in the form cheapest to check for one candidate row at a time, reading only its rid where it can. */
const rowByRow = (w: Sql): Sql => indexProbes.get(w)?.perRow ?? ridVariant.get(w) ?? w;

/** With an access filter, or in a Patient's own compartment, the resource table must lead: it holds what they test. */
const resourceTableLeads = (input: SearchInput) => !!input.accessFilter || (!!input.compartment && input.resourceType === 'Patient');

/** The search can be answered from the index tables and rids alone, without the resource rows. */
function rowFree(input: SearchInput, p: Plan, keys: SortKey[]): boolean {
  return (
    !resourceTableLeads(input) &&
    keys.every((k) => !k.needsRow) &&
    p.where.every((w) => ridOnly.has(w) || ridVariant.has(w))
  );
}

/** A chain with at most this many targets is searched as references to them. */
const CHAIN_TARGETS_LIMIT = 1000;

/**
 * Chained parameters rewritten as references to the resources the chain selects, found first
 * (`subject:Patient.name=x` → `subject=Patient/a,Patient/b,…`), when they are at most
 * CHAIN_TARGETS_LIMIT. The planner estimates a join through the chain badly (a name prefix as
 * one row when it is hundreds, so it collects every reference to them and sorts them); a list of
 * known targets it estimates well, and the walk below can use it row by row. The answer is the
 * same: the chain's SQL is the condition on the targets. Other parameters are passed through.
 */
async function resolveChains(db: Queryable, input: SearchInput, ctx: CompileContext): Promise<[string, string][]> {
  if (!input.resourceType || !input.params.some(([k]) => k.includes('.') && !k.startsWith('_has:'))) return input.params;
  const out: [string, string][] = [];
  for (const [name, value] of input.params) {
    let chain;
    try {
      chain = chainTargetsQuery(ctx, [input.resourceType], name, value);
    } catch {
      chain = undefined; // plan() reports the parameter's error
    }
    if (!chain) {
      out.push([name, value]);
      continue;
    }
    const targets = await run<{ type: string; id: string }>(db, sql`${chain.query} limit ${CHAIN_TARGETS_LIMIT + 1}`);
    // No target: the chain's own SQL finds nothing quickly; too many: a list would cost more than the join.
    out.push(targets.length && targets.length <= CHAIN_TARGETS_LIMIT ? [chain.code, targets.map((t) => `${t.type}/${t.id}`).join(',')] : [name, value]);
  }
  return out;
}

/** Reference lists to at least this many patients may lead to a walk (below). */
const WALK_TARGETS = 50;

/**
 * The first page in rid order for "references to many patients" + "one code" (a resolved chain
 * such as subject:Patient.name=x, or a long list of patients), found by walking the code's
 * index rows in rid order and stopping once the page is full. The planner cannot be trusted
 * here: it estimates the references to 400 patients at 5,000 rows when they are 75,000, and
 * collects and sorts all of them. The walk reads only index tuples: each carries its
 * resource's compartment, and a resource whose compartment element points at Patient/x lies in
 * x's compartment, so `compartment ∈ patients` discards almost every non-match in the index
 * itself; each survivor is then checked exactly, one row at a time. The cost is bounded by the
 * code's own row count. With the list's targets uniformly spread, a page needs about
 * page × patients-in-store / targets index tuples, while collecting costs targets × references
 * per patient: the walk wins from some tens of targets on, hence WALK_TARGETS.
 */
function walkPlan(input: SearchInput, p: Plan, keys: SortKey[]): { lead: Sql; compartments: string[] } | undefined {
  if (p.summary === 'count' || p.count === 0 || p.cursor?.prev || keys.length || !rowFree(input, p, keys)) return undefined;
  const compartments = p.where.map((w) => indexProbes.get(w)?.compartments).find((c) => c && c.length >= WALK_TARGETS);
  const lead = p.where.find((w) => indexProbes.get(w)?.ordered);
  return compartments && lead ? { lead, compartments } : undefined;
}

async function walkInRidOrder(db: Queryable, input: SearchInput, p: Plan, walk: { lead: Sql; compartments: string[] }, want: number, after?: number): Promise<(Row & Record<string, unknown>)[]> {
  const lead = walk.lead;
  const d = indexProbes.get(lead)!;
  const x = raw(d.x);
  const bounds = and([
    d.where,
    // `|| ''` keeps the list a constant PostgreSQL hashes, without a statistics lookup per element (see idIn).
    sql`(${x}.compartment || '') = any(${walk.compartments}::text[])`,
    ...(input.compartment ? [sql`${x}.compartment = ${input.compartment.id}`] : []),
    ...(after !== undefined ? [sql`${x}.rid > ${after}`] : []),
  ]);
  const rest = p.where
    .filter((w) => w !== lead)
    // offset 0 keeps each check a per-row subplan: a join would bring back the collect-and-sort plan.
    .map((w) => sql`exists (select 1 where ${rowByRow(w)} offset 0)`);
  return run(
    db,
    sql`select c.rid, c.type, c.id, c.content from (
          select r.rid from (select distinct ${x}.rid from ${raw(d.table)} ${x} where ${bounds} order by ${x}.rid) r
          where ${and(rest)} order by r.rid limit ${want}) q
        join resource c on c.rid = q.rid order by q.rid`
  );
}

/** The stored ValueSets that :in / :not-in parameters name (compilation itself is synchronous). */
async function valueSetsNamed(db: Queryable, params: [string, string][]) {
  const urls = params.filter(([k]) => /:(in|not-in)$/.test(k)).flatMap(([, v]) => v.split(','));
  return loadStoredValueSets(db, urls);
}

function queryString(params: [string, string][]): string {
  return params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

function link(input: SearchInput, relation: string, cursor?: Cursor): BundleLink {
  const params = input.params.filter(([k]) => k !== '_cursor');
  if (cursor) params.push(['_cursor', encodeCursor(cursor)]);
  const path = input.compartment
    ? `${input.baseUrl}/Patient/${input.compartment.id}${input.resourceType ? '/' + input.resourceType : ''}`
    : `${input.baseUrl}${input.resourceType ? '/' + input.resourceType : ''}`;
  const qs = queryString(params);
  return { relation, url: qs ? `${path}?${qs}` : path };
}

/**
 * FHIR search: a searchset Bundle of one page of matches (keyset-paged, see paging.ts), their
 * includes, and links. Malformed values are a 400 FhirError; unknown parameters are ignored and
 * reported in an OperationOutcome entry, or a 400 when `strict`.
 */
export async function search(db: Queryable, input: SearchInput): Promise<Bundle> {
  const ctx: CompileContext = { baseUrl: input.baseUrl, accessFilter: input.accessFilter, aliasCount: 0, valueSets: await valueSetsNamed(db, input.params) };
  const a = 'r';
  const p = plan({ ...input, params: await resolveChains(db, input, ctx) }, ctx, a);
  const where = and([...baseConditions(input, p, a), ...p.where]);
  let keys;
  try {
    keys = sortKeys(p.types ?? allResourceTypes(), p.sort, a);
  } catch (e) {
    if (!(e instanceof UnsupportedParam)) throw e;
    unsupported(input.strict, p, '_sort', e.message);
    keys = sortKeys([], undefined, a);
  }
  if (p.cursor && p.cursor.v.length !== keys.length) throw badRequest('invalid-cursor', 'The paging cursor does not belong to this search', '_cursor');

  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset' };
  // _count=0 is _summary=count (FHIR search, _count): the total, no entries.
  const wantTotal = p.summary === 'count' || p.count === 0 ? (p.total === 'estimate' ? 'estimate' : 'accurate') : p.total;
  const walk = walkPlan(input, p, keys);
  // Only an index-led query uses a driver (matchQuery): where the resource table leads, asking
  // the planner would be a wasted round trip.
  if (!resourceTableLeads(input) && (!walk || wantTotal === 'accurate')) await chooseDriver(db, p);
  if (wantTotal === 'accurate') {
    const [{ n }] = await run<{ n: number }>(db, sql`select count(*)::int as n from (${matchQuery(input, p, a, [], raw(''))}) m`);
    bundle.total = Number(n);
  } else if (wantTotal === 'estimate') {
    const { text, values } = sql`explain (format json) select 1 from resource ${raw(a)} where ${where}`.toQuery();
    const [row] = await db.query<any>(text, values);
    const planJson = typeof row['QUERY PLAN'] === 'string' ? JSON.parse(row['QUERY PLAN']) : row['QUERY PLAN'];
    bundle.total = Math.round(planJson[0].Plan['Plan Rows']);
  }

  const entries: BundleEntry[] = [];
  let rows: (Row & Record<string, unknown>)[] = [];
  let hasMore = false;
  if (p.summary !== 'count' && p.count > 0) {
    const reverse = !!p.cursor?.prev;
    // Two levels: the page of rids (and sort keys) is found first, touching only indexes and
    // the narrow columns of resource; the wide content is read for those rows alone.
    const keySelect = keys.length ? sql`, ${join(keys.map((k, i) => sql`${k.expr} as ${raw(`k${i}`)}`), ', ')}` : raw('');
    const keyText = keys.length ? raw(', ' + keys.map((_, i) => `q.k${i}::text as c${i}`).join(', ')) : raw('');
    const inner = matchQuery(input, p, a, keys, keySelect);
    const after = p.cursor ? afterCursor(keys, p.cursor, reverse, 'q') : raw('true');
    const page = sql`select q.*${keyText} from (${inner}) q where ${after} order by ${orderBy(keys, reverse, 'q')} limit ${p.count + 1}`;
    rows = walk
      ? await walkInRidOrder(db, input, p, walk, p.count + 1, p.cursor?.r)
      : await run(db, sql`select c.rid, c.type, c.id, c.content, pg.* from (${page}) pg join resource c on c.rid = pg.rid order by ${orderBy(keys, reverse, 'pg')}`);
    hasMore = rows.length > p.count;
    rows = rows.slice(0, p.count);
    if (reverse) rows.reverse();
    const cursorOf = (r: Record<string, unknown>, prev: boolean): Cursor => ({
      v: keys.map((_, i) => (r[`c${i}`] as string | null) ?? null),
      r: Number(r.rid),
      ...(prev ? { prev: true } : {}),
    });
    bundle.link = [link(input, 'self', p.cursor)];
    if (rows.length) {
      const moreAfter = reverse ? true : hasMore;
      const moreBefore = reverse ? hasMore : !!p.cursor;
      if (moreAfter) bundle.link.push(link(input, 'next', cursorOf(rows[rows.length - 1], false)));
      if (moreBefore) bundle.link.push(link(input, 'previous', cursorOf(rows[0], true)));
    }
    if (p.cursor) bundle.link.push(link(input, 'first'));
    for (const r of rows) entries.push(entry(input, r, 'match', p));
    const included = await loadIncludes(db, p.includes, rows, input.accessFilter);
    for (const r of included) entries.push(entry(input, r, 'include', p));
  } else bundle.link = [link(input, 'self', p.cursor)];

  if (p.ignored.length)
    entries.push({ resource: { resourceType: 'OperationOutcome', issue: p.ignored }, search: { mode: 'outcome' } } as BundleEntry);
  if (entries.length) bundle.entry = entries;
  return bundle;
}

function entry(input: SearchInput, r: Row, mode: 'match' | 'include', p: Plan): StoredEntry {
  const fullUrl = `${input.baseUrl}/${r.type}/${r.id}`;
  const reshaped = mode === 'match' && ((p.summary && p.summary !== 'false') || p.elements?.length);
  if (input.storedText && !reshaped) return { fullUrl, search: { mode }, [STORED_JSON]: r.content };
  const resource = parseFhirJson(r.content) as Resource;
  return { fullUrl, resource: mode === 'match' ? shapeResource(resource, p.summary, p.elements) : resource, search: { mode } };
}

/** The resource of each entry (outcomes left out), parsing stored texts: what a response carries. */
export function entryResources(bundle: Bundle): Resource[] {
  const out: Resource[] = [];
  for (const e of (bundle.entry ?? []) as StoredEntry[]) {
    const r = e.resource ?? (e[STORED_JSON] !== undefined ? (parseFhirJson(e[STORED_JSON]) as Resource) : undefined);
    if (r && r.resourceType !== 'OperationOutcome') out.push(r);
  }
  return out;
}

/**
 * The Bundle's JSON with each stored text spliced in as it is: a page of resources is sent without
 * parsing and serialising each again. Equal to JSON.stringify of the parsed Bundle.
 */
export function searchBundleJson(bundle: Bundle): string {
  const { entry, ...rest } = bundle;
  const head = JSON.stringify(rest);
  if (!entry?.length) return head;
  const parts = (entry as StoredEntry[]).map((e) => {
    const text = e[STORED_JSON];
    if (text === undefined) return stringifyFhirJson(e);
    return `{"fullUrl":${JSON.stringify(e.fullUrl)},"resource":${text},"search":${JSON.stringify(e.search)}}`;
  });
  return `${head.slice(0, -1)},"entry":[${parts.join(',')}]}`;
}

/** Matches for conditional create/update/delete and conditional references; throws FhirError 400 for bad params. */
export async function findMatches(
  db: Queryable,
  resourceType: string,
  params: [string, string][],
  limit = 2,
  visible?: (alias: string) => Sql
): Promise<{ rid: number; id: string }[]> {
  // The caller's filter also applies inside chains and _has, as in a search: hidden resources neither match nor make others match.
  const ctx: CompileContext = { baseUrl: '', accessFilter: visible, aliasCount: 0, valueSets: await valueSetsNamed(db, params) };
  const input: SearchInput = { resourceType, params, strict: true, baseUrl: '', accessFilter: visible };
  const p = plan(input, ctx, 'r');
  if (!p.where.length) throw badRequest('missing-criteria', `Conditional matching on ${resourceType} needs at least one search parameter`);
  const rows = await run<{ rid: number; id: string }>(
    db,
    sql`select r.rid, r.id from resource r where ${and([...baseConditions(input, p, 'r'), ...p.where])} order by r.rid limit ${limit}`
  );
  return rows.map((r) => ({ rid: Number(r.rid), id: r.id }));
}
