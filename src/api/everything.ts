import type { FastifyRequest } from 'fastify';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { ServerContext } from './server.ts';
import { parseRelativeReference, references } from '../fhir/json.ts';
import { badRequest, FhirError, issue } from '../fhir/outcome.ts';
import { isResourceType } from '../fhir/resource-types.ts';
import { parseCount } from '../fhir/paging.ts';
import { and, raw, run, sql } from '../store/sql.ts';
import { parseFhirJson } from '../fhir/json-decimals.ts';

/**
 * Patient/$everything (http://hl7.org/fhir/R4/patient-operation-everything.html): the patient, every
 * resource in its compartment, and the resources those reference (practitioners, organisations,
 * medications …), paged by a cursor on the row id so pages stay stable while others write.
 * `_type` and `_since` narrow both; `start` and `end` (care dates) are refused rather than ignored.
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
  for (const name of ['start', 'end']) {
    if (q[name] !== undefined) throw new FhirError(400, [issue('not-supported', 'parameter-not-supported', `$everything does not support ${name} (care dates); use _since or a search`, name)]);
  }
  const types = q._type === undefined ? undefined : [q._type].flat().flatMap((v) => v.split(',')).map((t) => t.trim());
  for (const t of types ?? []) if (!isResourceType(t)) throw badRequest('unknown-resource-type', `_type: unknown resource type ${JSON.stringify(t)}`, '_type');
  const since = one('_since');
  if (since !== undefined && (!/^\d{4}-\d{2}-\d{2}T/.test(since) || Number.isNaN(Date.parse(since)))) {
    throw badRequest('invalid-date', `_since must be an instant, got ${JSON.stringify(since)}`, '_since');
  }
  // Which rows take part, in the compartment and among what it references alike.
  const narrowed = (alias: string) =>
    and([...(types ? [sql`${raw(alias)}.type = any(${types}::text[])`] : []), ...(since ? [sql`${raw(alias)}.last_updated >= ${since}::timestamptz`] : [])]);

  if (after === 0) await request.access.checkRead(await repo.read('Patient', patientId), patientId);
  const visible = request.access.filterFor(undefined);
  const inCompartment = sql`r.compartment = ${patientId} and r.deleted = false and ${visible('r')} and ${narrowed('r')}`;
  const self = `${base}/Patient/${patientId}/$everything`;
  const kept = [...(types ? [['_type', types.join(',')]] : []), ...(since ? [['_since', since]] : [])];
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
