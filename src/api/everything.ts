import type { FastifyRequest } from 'fastify';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { ServerContext } from './server.ts';
import { parseRelativeReference, references } from '../fhir/json.ts';
import { badRequest } from '../fhir/outcome.ts';
import { parseCount } from '../fhir/paging.ts';
import { run, sql } from '../store/sql.ts';
import { parseFhirJson } from '../fhir/json-decimals.ts';

/**
 * Patient/$everything: the patient, every resource in its compartment, and the resources those
 * reference (practitioners, organisations, medications …), paged by a cursor on the row id so
 * pages stay stable while others write.
 */
export async function everything(ctx: ServerContext, patientId: string, request: FastifyRequest): Promise<Bundle> {
  const { repo, config } = ctx;
  const base = `${config.baseUrl}/fhir`;
  const q = request.query as Record<string, string>;
  const count = parseCount(q._count, 100);
  const after = q._cursor === undefined ? 0 : Number(q._cursor);
  if (!Number.isInteger(after) || after < 0) throw badRequest('invalid-cursor', '_cursor is not a valid paging cursor', '_cursor');

  if (after === 0) await request.access.checkRead(await repo.read('Patient', patientId), patientId);
  const visible = request.access.filterFor(undefined);
  const inCompartment = sql`r.compartment = ${patientId} and r.deleted = false and ${visible('r')}`;
  const self = `${base}/Patient/${patientId}/$everything`;
  if (count === 0) {
    // _count=0: the total alone, as in a search (the patient's compartment; what it references comes with each page).
    const [{ n }] = await run<{ n: number }>(repo.db, sql`select count(*)::int as n from resource r where ${inCompartment}`);
    return { resourceType: 'Bundle', type: 'searchset', total: Number(n), link: [{ relation: 'self', url: `${self}?_count=0` }] };
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
             where r.deleted = false and r.compartment is null and ${visible('r')}
               and (r.type, r.id) in (select * from unnest(${keys.map((k) => k.split('/')[0])}::text[], ${keys.map((k) => k.split('/')[1])}::text[]))`
      )
    : [];
  const entry = (resource: Resource, mode: 'match' | 'include'): BundleEntry => ({
    fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
    resource,
    search: { mode },
  });
  const link: Bundle['link'] = [{ relation: 'self', url: `${self}?_count=${count}${after ? `&_cursor=${after}` : ''}` }];
  if (rows.length > count) link.push({ relation: 'next', url: `${self}?_count=${count}&_cursor=${page[page.length - 1].rid}` });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link,
    ...(page.length && { entry: [...page.map((p) => entry(p.resource, 'match')), ...included.map((r) => entry(parseFhirJson(r.content), 'include'))] }),
  };
}
