import { badRequest } from '../../fhir/outcome.ts';
import { getSearchParam, isResourceType, searchParamsFor } from '../../fhir/search-parameters.ts';
import type { Queryable } from '../db.ts';
import { raw, run, sql, type Sql } from '../sql.ts';
import { UnsupportedParam } from './conditions.ts';

export interface IncludeSpec {
  rev: boolean;
  iterate: boolean;
  /** Source type of the reference (the included-from type for _include, the included type for _revinclude). */
  source: string;
  /** Keys (`Type.code`) of the reference parameters followed; `*` expands to all of the source's. */
  keys: string[];
  targetType?: string;
}

export interface Row {
  rid: number;
  type: string;
  id: string;
  content: string;
}

/** Rounds of :iterate before we stop following references (guards against cycles and fan-out). */
const MAX_ITERATIONS = 4;
/** Upper bound of included resources per page, so one page cannot pull in a whole database. */
const MAX_INCLUDED = 1000;

/** `_include=Observation:subject[:Patient]`, `_include=Observation:*`, `_revinclude:iterate=...`. */
export function parseInclude(name: string, value: string): IncludeSpec {
  const rev = name.startsWith('_revinclude');
  const modifier = name.split(':')[1];
  if (modifier && modifier !== 'iterate' && modifier !== 'recurse') throw new UnsupportedParam(`Modifier :${modifier} is not supported on ${name.split(':')[0]}`);
  const [source, code, targetType] = value.split(':');
  if (!source || !code || !isResourceType(source)) throw badRequest('invalid-include', `Malformed ${name}=${value}; expected Type:parameter[:targetType]`, name);
  let keys: string[];
  if (code === '*') keys = [...searchParamsFor(source).values()].filter((p) => p.type === 'reference').map((p) => p.key);
  else {
    const p = getSearchParam(source, code);
    if (!p || p.type !== 'reference') throw badRequest('invalid-include', `'${code}' is not a reference parameter of ${source}`, name);
    keys = [p.key];
  }
  if (targetType && !isResourceType(targetType)) throw badRequest('invalid-include', `Unknown target type '${targetType}' in ${name}`, name);
  return { rev, iterate: !!modifier, source, keys, targetType };
}

/**
 * The resources the includes pull in for a page of matches: plain includes follow the matches
 * only, :iterate ones also what was included before. Same access filter as the matches.
 */
export async function loadIncludes(
  db: Queryable,
  specs: IncludeSpec[],
  matches: Row[],
  accessFilter?: (alias: string) => Sql
): Promise<Row[]> {
  if (!specs.length || !matches.length) return [];
  const seen = new Set(matches.map((r) => r.rid));
  const included: Row[] = [];
  let frontier = matches;
  for (let round = 0; round <= MAX_ITERATIONS && frontier.length && included.length < MAX_INCLUDED; round++) {
    const active = specs.filter((s) => round === 0 || s.iterate);
    const found: Row[] = [];
    for (const spec of active) {
      const rows = await run<Row>(db, includeQuery(spec, frontier, accessFilter));
      for (const r of rows) {
        if (seen.has(r.rid)) continue;
        seen.add(r.rid);
        found.push(r);
      }
    }
    included.push(...found);
    frontier = found;
    if (!active.some((s) => s.iterate)) break;
  }
  return included.slice(0, MAX_INCLUDED);
}

/**
 * The resources a page includes. Each lookup is a LATERAL subquery kept apart by `offset 0`: as a
 * plain join of reference targets to resource ids the planner compares the two columns' most
 * common values (1,000 for target_id) to estimate it, which took 0.7 ms, several times the
 * lookups themselves; a per-row lookup by index needs no such estimate.
 */
function includeQuery(spec: IncludeSpec, from: Row[], accessFilter?: (alias: string) => Sql): Sql {
  const access = accessFilter ? sql` and (${accessFilter('t')})` : raw('');
  const target = spec.targetType ? sql` and t.type = ${spec.targetType}` : raw('');
  if (!spec.rev) {
    const rids = from.filter((r) => r.type === spec.source).map((r) => r.rid);
    return sql`select distinct on (t.rid) t.rid, t.type, t.id, t.content from sp_reference x
      cross join lateral (select t.rid, t.type, t.id, t.content from resource t
        where t.type = x.target_type and t.id = x.target_id and not t.deleted${target}${access} offset 0) t
      where x.rid = any(${rids}::bigint[]) and x.p = any(${spec.keys}::text[]) order by t.rid limit ${MAX_INCLUDED}`;
  }
  // _revinclude=Observation:subject: Observations whose subject points at a page resource.
  const targets = spec.targetType ? from.filter((r) => r.type === spec.targetType) : from;
  return sql`select distinct on (t.rid) t.rid, t.type, t.id, t.content
    from unnest(${targets.map((r) => r.type)}::text[], ${targets.map((r) => r.id)}::text[]) as m(type, id)
    cross join lateral (select x.rid from sp_reference x where x.target_id = m.id and x.target_type = m.type and x.p = any(${spec.keys}::text[]) offset 0) x
    cross join lateral (select t.rid, t.type, t.id, t.content from resource t
      where t.rid = x.rid and t.type = ${spec.source} and not t.deleted${access} offset 0) t
    order by t.rid limit ${MAX_INCLUDED}`;
}
