import type { FastifyRequest } from 'fastify';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { ServerContext } from './server.ts';
import { parseRelativeReference, references } from '../fhir/json.ts';
import { badRequest } from '../fhir/outcome.ts';
import { isResourceType, RESOURCE_TYPES } from '../fhir/resource-types.ts';
import { getSearchParam } from '../fhir/search-parameters.ts';
import { dateRange } from '../store/search/values.ts';
import { parseCount, parseInstant } from '../fhir/paging.ts';
import { and, raw, run, sql, type Sql } from '../store/sql.ts';
import { parseFhirJson } from '../fhir/json-decimals.ts';

/**
 * Patient/$everything (http://hl7.org/fhir/R4/patient-operation-everything.html): the patient, every
 * resource in its compartment, and the resources those reference (practitioners, organisations,
 * medications …), paged by a cursor on the row id so pages stay stable while others write.
 * `_type`, `_since`, `start` and `end` narrow both.
 */
export async function everything(ctx: ServerContext, patientId: string, request: FastifyRequest): Promise<Bundle> {
  const { repo, config } = ctx;
  const base = `${config.baseUrl}/fhir`;
  const q = request.query as Record<string, string | string[] | undefined>;
  const one = (name: string) => {
    const v = q[name];
    if (Array.isArray(v)) throw badRequest('repeated-parameter', `${name} may be given only once`, name);
    return v;
  };
  const count = parseCount(one('_count'), 100);
  const cursor = one('_cursor');
  const after = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isInteger(after) || after < 0) throw badRequest('invalid-cursor', '_cursor is not a valid paging cursor', '_cursor');
  const start = one('start');
  const end = one('end');
  const care = careDates(start, end);
  const types = q._type === undefined ? undefined : [q._type].flat().flatMap((v) => v.split(',')).map((t) => t.trim());
  for (const t of types ?? []) if (!isResourceType(t)) throw badRequest('unknown-resource-type', `_type: unknown resource type ${JSON.stringify(t)}`, '_type');
  const since = parseInstant('_since', one('_since'));
  // Which rows take part, in the compartment and among what it references alike.
  const narrowed = (alias: string) =>
    and([
      ...(types ? [sql`${raw(alias)}.type = any(${types}::text[])`] : []),
      ...(since ? [sql`${raw(alias)}.last_updated >= ${since}::timestamptz`] : []),
      ...(care ? [care(alias)] : []),
    ]);

  if (after === 0) await request.access.checkRead(await repo.read('Patient', patientId), patientId);
  const visible = request.access.filterFor(undefined);
  const inCompartment = sql`r.compartment = ${patientId} and r.deleted = false and ${visible('r')} and ${narrowed('r')}`;
  const self = `${base}/Patient/${patientId}/$everything`;
  const kept = [
    ...(types ? [['_type', types.join(',')]] : []),
    ...(since ? [['_since', since]] : []),
    ...(start === undefined ? [] : [['start', start]]),
    ...(end === undefined ? [] : [['end', end]]),
  ];
  const linkTo = (pairs: string[][]) => `${self}?${new URLSearchParams([...kept, ...pairs]).toString()}`;
  if (count === 0) {
    // _count=0: the total alone, as in a search (the patient's compartment; what it references comes with each page).
    const [{ n }] = await run<{ n: number }>(repo.db, sql`select count(*)::int as n from resource r where ${inCompartment}`);
    return { resourceType: 'Bundle', type: 'searchset', total: Number(n), link: [{ relation: 'self', url: linkTo([['_count', '0']]) }] };
  }
  const rows = await run<{ rid: number; content: string }>(
    repo.db,
    sql`select r.rid, r.content from resource r where ${inCompartment} and r.rid > ${after} order by r.rid limit ${count + 1}`
  );
  const page = rows.slice(0, count).map((r) => ({ rid: Number(r.rid), resource: parseFhirJson(r.content) as Resource }));
  const inPage = new Set(page.map((p) => `${p.resource.resourceType}/${p.resource.id}`));
  const wanted = new Set<string>();
  for (const { resource } of page) {
    for (const ref of references(resource)) {
      const p = parseRelativeReference(ref.value);
      if (p && !inPage.has(`${p.type}/${p.id}`)) wanted.add(`${p.type}/${p.id}`);
    }
  }
  const keys = [...wanted];
  // Referenced resources outside any compartment (practitioners, organisations …); ones in another
  // patient's compartment are not part of this patient's record.
  const included = keys.length
    ? await run<{ content: string }>(
        repo.db,
        sql`select r.content from resource r
             where r.deleted = false and r.compartment is null and ${visible('r')} and ${narrowed('r')}
               and (r.type, r.id) in (select * from unnest(${keys.map((k) => k.split('/')[0])}::text[], ${keys.map((k) => k.split('/')[1])}::text[]))`
      )
    : [];
  const entry = (resource: Resource, mode: 'match' | 'include'): BundleEntry => ({
    fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
    resource,
    search: { mode },
  });
  const link: Bundle['link'] = [{ relation: 'self', url: linkTo([['_count', String(count)], ...(after ? [['_cursor', String(after)]] : [])]) }];
  if (rows.length > count) link.push({ relation: 'next', url: linkTo([['_count', String(count)], ['_cursor', String(page[page.length - 1].rid)]]) });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link,
    ...(page.length && { entry: [...page.map((p) => entry(p.resource, 'match')), ...included.map((r) => entry(parseFhirJson(r.content), 'include'))] }),
  };
}

/**
 * `start` and `end` (dates, any precision) relate to care dates, not record dates: a resource takes
 * part when its type's `date` search parameter (R4's clinical date: Observation.effective,
 * Encounter.period, Procedure.performed …) has a value overlapping [start, end]. A resource without
 * one (a Patient, a Medication, a Condition, whose dates have other names) is not dated care, and
 * stays in, as are records before `end` when no `start` is given.
 */
function careDates(start: string | undefined, end: string | undefined): ((alias: string) => Sql) | undefined {
  if (start === undefined && end === undefined) return undefined;
  const bound = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const range = dateRange(value);
    if (!range || value.includes('T')) throw badRequest('invalid-date', `${name} must be a date (YYYY, YYYY-MM or YYYY-MM-DD), got ${JSON.stringify(value)}`, name);
    return range;
  };
  const from = bound('start', start)?.lo;
  const to = bound('end', end)?.hi;
  if (from && to && from > to) throw badRequest('invalid-date', 'start is after end', 'start');
  const keys = [...new Set([...RESOURCE_TYPES].flatMap((t) => getSearchParam(t, 'date')?.keys ?? []))];
  return (alias) => {
    const dated = sql`select 1 from sp_date d where d.rid = ${raw(alias)}.rid and d.p = any(${keys}::text[])`;
    const overlap = and([...(from ? [sql`d.hi >= ${from.toISOString()}::timestamptz`] : []), ...(to ? [sql`d.lo <= ${to.toISOString()}::timestamptz`] : [])]);
    return sql`(not exists (${dated}) or exists (${dated} and ${overlap}))`;
  };
}
