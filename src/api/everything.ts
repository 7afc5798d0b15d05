import type { FastifyRequest } from 'fastify';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { ServerContext } from './server.ts';
import { parseRelativeReference, references } from '../fhir/json.ts';
import { badRequest } from '../fhir/outcome.ts';

/**
 * Patient/$everything: the patient, every resource in its compartment, and the resources those
 * reference (practitioners, organisations, medications …), paged by a cursor on the row id so
 * pages stay stable while others write.
 */
export async function everything(ctx: ServerContext, patientId: string, request: FastifyRequest): Promise<Bundle> {
  const { repo, config } = ctx;
  const base = `${config.baseUrl}/fhir`;
  const q = request.query as Record<string, string>;
  const count = Math.min(Math.max(Number(q._count ?? 100) || 100, 1), 1000);
  const after = q._cursor === undefined ? 0 : Number(q._cursor);
  if (!Number.isInteger(after) || after < 0) throw badRequest('invalid-cursor', '_cursor is not a valid paging cursor', '_cursor');
  if (after === 0) await repo.read('Patient', patientId); // 404/410 for an unknown patient

  const rows = await repo.db.query<{ rid: number; content: string }>(
    `select rid, content from resource where compartment = $1 and deleted = false and rid > $2 order by rid limit $3`,
    [patientId, after, count + 1]
  );
  const page = rows.slice(0, count).map((r) => ({ rid: Number(r.rid), resource: JSON.parse(r.content) as Resource }));
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
    ? await repo.db.query<{ content: string }>(
        `select content from resource where deleted = false and compartment is null and (type, id) in (select * from unnest($1::text[], $2::text[]))`,
        [keys.map((k) => k.split('/')[0]), keys.map((k) => k.split('/')[1])]
      )
    : [];
  const entry = (resource: Resource, mode: 'match' | 'include'): BundleEntry => ({
    fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
    resource,
    search: { mode },
  });
  const self = `${base}/Patient/${patientId}/$everything`;
  const link: Bundle['link'] = [{ relation: 'self', url: `${self}?_count=${count}${after ? `&_cursor=${after}` : ''}` }];
  if (rows.length > count) link.push({ relation: 'next', url: `${self}?_count=${count}&_cursor=${page[page.length - 1].rid}` });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link,
    entry: [...page.map((p) => entry(p.resource, 'match')), ...included.map((r) => entry(JSON.parse(r.content), 'include'))],
  };
}
