import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, BundleEntry, OperationOutcome, Parameters, Resource } from '@medplum/fhirtypes';
import type { ServerContext } from './server.ts';
import { badRequest, FhirError, informational, issue, notFound } from '../fhir/outcome.ts';
import { isResourceType } from '../fhir/resource-types.ts';
import { parseCount, parseInstant } from '../fhir/paging.ts';
import type { HistoryEntry, WriteResult } from '../store/repository.ts';
import { FHIR_JSON, checkFormat, etagOf, isPretty, notModified, preferReturn, preferStrict, queryPairs, requestErrorOf, requireBody, sendResource, versionHeaders } from './http.ts';
import { processBundle, withPreferredWrites } from './bundle.ts';
import { entryResources, search as runSearch, searchBundleJson } from '../store/search/index.ts';
import { parseElements, parseSummary, shapeResource } from '../store/search/shape.ts';
import { capabilityStatement, type OperationRoute } from './capability.ts';
import { everything } from './everything.ts';
import { run, sql } from '../store/sql.ts';
import { applyPatchRequest } from './patch.ts';
import { operationParameters } from '../fhir/parameters.ts';

type Params = { type: string; id: string; vid: string; ctype: string };

export async function registerRestRoutes(app: FastifyInstance, ctx: ServerContext, operations: OperationRoute[]): Promise<void> {
  const { repo, config } = ctx;
  // Read per request: the public base URL may be settled only once the server listens.
  const base = () => `${config.baseUrl}/fhir`;

  app.addHook('onRequest', async (request) => checkFormat(request));

  const typeOf = (request: FastifyRequest) => {
    const { type } = request.params as Params;
    if (type.startsWith('$')) throw unknownOperation(request, type); // a system-level operation the server lacks
    if (!isResourceType(type)) throw new FhirError(404, [issue('not-supported', 'unknown-resource-type', `Unknown resource type ${type}`)]);
    return type;
  };

  /** The response to a write, shaped by Prefer: return=. */
  function sendWrite(request: FastifyRequest, reply: FastifyReply, result: WriteResult) {
    const r = result.resource;
    versionHeaders(reply, r);
    const location = `${base()}/${r.resourceType}/${r.id}/_history/${r.meta?.versionId}`;
    if (result.status === 201) reply.header('location', location);
    reply.header('content-location', location);
    const prefer = preferReturn(request);
    if (prefer === 'minimal') return reply.code(result.status).send();
    if (prefer === 'OperationOutcome') {
      const verb = result.unchanged ? 'unchanged' : result.status === 201 ? 'created' : 'updated';
      return sendResource(request, reply, informational(`${r.resourceType}/${r.id} ${verb} (version ${r.meta?.versionId})`, verb), result.status);
    }
    return sendResource(request, reply, r, result.status);
  }

  const search = async (request: FastifyRequest, resourceType: string | undefined, extra: [string, string][] = [], compartment?: { type: 'Patient'; id: string }) => {
    const bundle = await runSearch(repo.db, {
      resourceType,
      params: [...queryPairs(request), ...extra],
      compartment,
      strict: preferStrict(request),
      baseUrl: base(),
      accessFilter: request.access.searchFilter(resourceType),
      // The page goes out as stored, unless pretty-printed.
      storedText: !isPretty(request),
    });
    // The audit records what the page carries; handing it over spares parsing the response again.
    request.returnedResources = () => entryResources(bundle);
    return bundle;
  };
  /** Searches answer with the number of restricted documents the caller did not get (NHN convention). */
  const sendSearch = async (request: FastifyRequest, reply: FastifyReply, type: string | undefined, bundle: Bundle) => {
    if (type === 'DocumentReference') reply.header('NHN-SecurityLabel-Nors-Count', String(await request.access.restrictedCount(type)));
    return sendBundle(request, reply, bundle);
  };
  const sendBundle = (request: FastifyRequest, reply: FastifyReply, bundle: Bundle) =>
    isPretty(request) ? sendResource(request, reply, bundle) : reply.code(200).header('content-type', FHIR_JSON).send(searchBundleJson(bundle));
  const formBody = (request: FastifyRequest): [string, string][] => (Array.isArray(request.body) ? (request.body as [string, string][]) : []);

  // --- whole system
  app.get('/metadata', async (request, reply) => sendResource(request, reply, await capabilityStatement(ctx, operations)));
  app.get('/', async (request, reply) => sendBundle(request, reply, await search(request, undefined)));
  app.post('/_search', async (request, reply) => sendBundle(request, reply, await search(request, undefined, formBody(request))));
  app.post('/', async (request, reply) => {
    const body = requireBody(request);
    if (body.resourceType !== 'Bundle') throw badRequest('not-a-bundle', `POST to the base takes a batch or transaction Bundle, not ${body.resourceType}`, 'resourceType');
    const response = await processBundle(ctx, body as Bundle, request.access);
    return sendResource(request, reply, withPreferredWrites(body as Bundle, response, preferReturn(request)));
  });
  app.get('/_history', async (request, reply) => sendResource(request, reply, await historyBundle(request, {})));

  // --- type level
  app.get('/:type', async (request, reply) => {
    const type = typeOf(request);
    return sendSearch(request, reply, type, await search(request, type));
  });
  app.post('/:type/_search', async (request, reply) => {
    const type = typeOf(request);
    return sendSearch(request, reply, type, await search(request, type, formBody(request)));
  });
  app.get('/:type/_history', async (request, reply) => sendResource(request, reply, await historyBundle(request, { type: typeOf(request) })));

  app.post('/:type', async (request, reply) => {
    const type = typeOf(request);
    const body = requireBody(request);
    if (body.resourceType !== type) throw badRequest('type-mismatch', `The body is a ${body.resourceType}, but was sent to ${type}`, 'resourceType');
    const ifNoneExist = request.headers['if-none-exist'] as string | undefined;
    const { id: _ignored, ...withoutId } = body; // the server assigns ids on create
    const result = await repo.create(withoutId as Resource, { ifNoneExist, guard: request.access.guard, visible: request.access.visibleRows() });
    // A conditional create that found a match returns it: only to a caller who may read it.
    if (result.unchanged) await request.access.checkRead(result.resource);
    return sendWrite(request, reply, result);
  });

  /** Conditional update / delete / patch: PUT|DELETE|PATCH /Type?criteria, matched in the transaction that writes. */
  const criteriaOf = (request: FastifyRequest, action: string) => {
    const criteria = queryPairs(request).filter(([k]) => !k.startsWith('_format') && k !== '_pretty');
    if (criteria.length === 0) throw badRequest('missing-criteria', `Conditional ${action} needs search criteria in the URL`);
    return criteria;
  };
  const ifMatchOf = (request: FastifyRequest) => request.headers['if-match'] as string | undefined;

  app.put('/:type', async (request, reply) => {
    const type = typeOf(request);
    const body = requireBody(request);
    if (body.resourceType !== type) throw badRequest('type-mismatch', `The body is a ${body.resourceType}, but was sent to ${type}`, 'resourceType');
    const criteria = criteriaOf(request, 'update');
    // Matching and writing in one transaction, the criteria held: two such requests that find
    // nothing do not both create.
    const result = await repo.inTransaction(
      async (w) => {
        await w.lockCriteria(type, criteria);
        const match = await w.matchOne(type, criteria, 'The criteria');
        if (match) {
          if (body.id && body.id !== match.id) throw badRequest('id-mismatch', `The body's id ${body.id} is not the id of the matching ${type} (${match.id})`, `${type}.id`);
          return w.update({ ...body, id: match.id }, { ifMatch: ifMatchOf(request) });
        }
        return body.id ? w.update(body) : w.create(body);
      },
      { guard: request.access.guard, visible: request.access.visibleRows() }
    );
    return sendWrite(request, reply, result);
  });

  app.delete('/:type', async (request, reply) => {
    const type = typeOf(request);
    const criteria = criteriaOf(request, 'delete');
    await repo.inTransaction(
      async (w) => {
        // Conditional delete removes one resource at a time (capability: conditionalDelete 'single').
        const match = await w.matchOne(type, criteria, 'The criteria');
        if (match) await w.delete(type, match.id);
      },
      { guard: request.access.guard, visible: request.access.visibleRows() }
    );
    return reply.code(204).send();
  });

  app.patch('/:type', async (request, reply) => {
    const type = typeOf(request);
    return sendWrite(request, reply, await applyPatchRequest(repo, type, criteriaOf(request, 'patch'), request, request.access.guard));
  });

  app.post('/:type/$validate', async (request, reply) => sendResource(request, reply, await validateOperation(request, typeOf(request))));

  // --- instance level
  app.get('/:type/:id', async (request, reply) => {
    const type = typeOf(request);
    const { id } = request.params as Params;
    if (id.startsWith('$')) throw unknownOperation(request, id);
    const { resource: r, text, compartment } = await repo.readStored(type, id);
    await request.access.checkRead(r, compartment);
    versionHeaders(reply, r);
    if (notModified(request.headers['if-none-match'], request.headers['if-modified-since'], r)) return reply.code(304).send();
    request.returnedResources = [r];
    const shaped = applySummary(request, r);
    // The stored text is the resource's JSON as is: no second serialisation unless it is reshaped.
    if (shaped === r && !isPretty(request)) return reply.code(200).header('content-type', FHIR_JSON).send(text);
    return sendResource(request, reply, shaped);
  });

  app.put('/:type/:id', async (request, reply) => {
    const type = typeOf(request);
    const { id } = request.params as Params;
    const body = requireBody(request);
    if (body.resourceType !== type) throw badRequest('type-mismatch', `The body is a ${body.resourceType}, but was sent to ${type}`, 'resourceType');
    if (body.id === undefined) throw badRequest('missing-id', `An update needs the id in the body (${id})`, `${type}.id`);
    if (body.id !== id) throw badRequest('id-mismatch', `The body's id ${body.id} does not match the URL's ${id}`, `${type}.id`);
    return sendWrite(request, reply, await repo.update(body, { ifMatch: ifMatchOf(request), guard: request.access.guard }));
  });

  app.patch('/:type/:id', async (request, reply) => {
    const type = typeOf(request);
    const { id } = request.params as Params;
    return sendWrite(request, reply, await applyPatchRequest(repo, type, id, request, request.access.guard));
  });

  app.delete('/:type/:id', async (request, reply) => {
    const type = typeOf(request);
    const { id } = request.params as Params;
    const result = await repo.delete(type, id, { ifMatch: ifMatchOf(request), guard: request.access.guard });
    if (result) reply.header('etag', etagOf(result.resource));
    return reply.code(204).send();
  });

  const instanceHistory = async (request: FastifyRequest, reply: FastifyReply) => {
    const type = typeOf(request);
    const { id } = request.params as Params;
    const entries = await historyBundle(request, { type, id });
    // An empty history of an unknown resource is a 404, not an empty Bundle; so is that of one the
    // caller may not see (hidden data does not exist for them). Also for _count=0, the total alone.
    if (!entries.entry) {
      const [row] = await run(repo.db, sql`select 1 from resource r where r.type = ${type} and r.id = ${id} and ${request.access.filterFor(type)('r')}`);
      if (!row) throw notFound(`${type}/${id} is not known`);
    }
    return sendResource(request, reply, entries);
  };
  app.get('/:type/:id/_history', instanceHistory);

  app.get('/:type/:id/_history/:vid', async (request, reply) => {
    const type = typeOf(request);
    const { id, vid } = request.params as Params;
    const r = await repo.vread(type, id, vid);
    await request.access.checkRead(r);
    versionHeaders(reply, r);
    request.returnedResources = [r];
    return sendResource(request, reply, applySummary(request, r));
  });

  app.post('/:type/:id/$validate', async (request, reply) => sendResource(request, reply, await validateOperation(request, typeOf(request), (request.params as Params).id)));

  app.get('/Patient/:id/$everything', async (request, reply) => {
    const { id } = request.params as Params;
    return sendResource(request, reply, await everything(ctx, id, request));
  });

  app.get('/Patient/:id/:ctype', async (request, reply) => {
    const { id, ctype } = request.params as Params;
    // The router prefers this static /Patient prefix over /:type/:id/_history.
    if (ctype === '_history') return instanceHistory(Object.assign(request, { params: { type: 'Patient', id } }), reply);
    if (ctype.startsWith('$')) throw unknownOperation(request, ctype);
    if (!isResourceType(ctype)) throw new FhirError(404, [issue('not-supported', 'unknown-resource-type', `Unknown resource type ${ctype}`)]);
    return sendBundle(request, reply, await search(request, ctype, [], { type: 'Patient', id }));
  });

  // --- helpers bound to this server

  async function historyBundle(request: FastifyRequest, scope: { type?: string; id?: string }): Promise<Bundle> {
    const q = request.query as Record<string, string>;
    const count = parseCount(q._count, 50);
    const offset = Math.max(Number(q._offset ?? 0) || 0, 0);
    const query = { ...scope, since: parseInstant('_since', q._since), at: parseInstant('_at', q._at), filter: request.access.filterFor(scope.type) };
    const path = `${base()}${scope.type ? `/${scope.type}` : ''}${scope.id ? `/${scope.id}` : ''}/_history`;
    const keep = queryPairs(request).filter(([k]) => k !== '_offset');
    const link = (o: number) => `${path}?${new URLSearchParams([...keep, ['_offset', String(o)]]).toString()}`;
    // _count=0: the total alone, as in a search.
    if (count === 0) return { resourceType: 'Bundle', type: 'history', total: await repo.historyTotal(query), link: [{ relation: 'self', url: link(offset) }] };
    const rows: HistoryEntry[] = await repo.history({ ...query, count: count + 1, offset });
    const page = rows.slice(0, count);
    const links: Bundle['link'] = [{ relation: 'self', url: link(offset) }];
    if (rows.length > count) links.push({ relation: 'next', url: link(offset + count) });
    if (offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
    return {
      resourceType: 'Bundle',
      type: 'history',
      link: links,
      // An empty page has no entry element: JSON arrays are never empty in FHIR.
      ...(page.length && {
        entry: page.map((h): BundleEntry => ({
          fullUrl: `${base()}/${h.type}/${h.id}`,
          ...(h.resource ? { resource: h.resource } : {}),
          request: { method: h.method, url: h.method === 'POST' ? h.type : `${h.type}/${h.id}` },
          response: { status: h.method === 'DELETE' ? '204' : h.version === 1 ? '201' : '200', etag: `W/"${h.version}"`, lastModified: h.lastUpdated },
        })),
      }),
    };
  }

  /**
   * $validate (http://hl7.org/fhir/R4/resource-operation-validate.html): the resource as the body or
   * as the `resource` parameter; `profile` validates against that profile too (one the server does
   * not hold is an error here, where a resource's own meta.profile only warns); `mode` create or
   * update (an update needs the id); `mode=delete` whether deleting Type/id would succeed.
   */
  async function validateOperation(request: FastifyRequest, type: string, id?: string) {
    const q = request.query as Record<string, string>;
    const sent = request.body as Resource | undefined;
    const params = sent?.resourceType === 'Parameters' ? operationParameters(sent) : undefined;
    const mode = params?.find((x) => x.name === 'mode')?.valueCode ?? q.mode;
    if (mode === 'delete') return validateDelete(request, type, id);
    let body = requireBody(request);
    const profile = params?.find((x) => x.name === 'profile')?.valueUri ?? q.profile;
    if (mode !== undefined && !['create', 'update', 'profile'].includes(mode)) throw badRequest('invalid-mode', `mode must be create, update, delete or profile, got ${JSON.stringify(mode)}`, 'mode');
    if (params) {
      const p = params.find((x) => x.name === 'resource');
      if (!p?.resource) throw badRequest('missing-resource', 'The Parameters need a "resource" parameter', 'Parameters.parameter');
      body = p.resource;
    }
    if (body.resourceType !== type) throw badRequest('type-mismatch', `The resource is a ${body.resourceType}, but $validate was called on ${type}`, 'resourceType');
    if (id && body.id !== id) throw badRequest('id-mismatch', `The resource's id ${body.id} does not match ${id}`, `${type}.id`);
    if (mode === 'update' && !body.id) throw badRequest('missing-id', 'mode=update needs the resource id', `${type}.id`);
    const claimed: string[] = Array.isArray(body.meta?.profile) ? body.meta.profile : [];
    const checked = profile && !claimed.includes(profile) ? ({ ...body, meta: { ...body.meta, profile: [...claimed, profile] } } as Resource) : (body as Resource);
    const asked = profile === undefined ? undefined : `${type}.meta.profile[${checked.meta!.profile!.indexOf(profile)}]`;
    const issues = (repo.options.validate?.(checked) ?? []).map((i) => {
      if (asked === undefined || i.expression?.[0] !== asked || i.details?.coding?.[0]?.code !== 'profile-unknown') return i;
      // Asked for by name, a profile the server cannot check is a failure to validate, not a note.
      return { ...i, severity: 'error' as const, expression: claimed.includes(profile!) ? i.expression : ['profile'] };
    });
    return {
      resourceType: 'OperationOutcome',
      issue: issues.length ? issues : [issue('informational', 'valid', `The ${type} is valid`, undefined, 'information')],
    };
  }

  /**
   * $validate mode=delete: the delete is run, with the caller's rights and every service's rules,
   * in a transaction that is then rolled back. Nothing is kept: the services release what a delete
   * frees (a document's files) only once a delete commits, and tell others of it only then.
   */
  async function validateDelete(request: FastifyRequest, type: string, id: string | undefined): Promise<OperationOutcome> {
    if (id === undefined) throw badRequest('missing-id', 'mode=delete asks about one resource: call Type/id/$validate', 'mode');
    try {
      await repo.inTransaction(
        async (w) => {
          await w.delete(type, id);
          throw WOULD_DELETE;
        },
        { guard: request.access.guard, visible: request.access.visibleRows() }
      );
    } catch (err) {
      if (err === WOULD_DELETE) return { resourceType: 'OperationOutcome', issue: [issue('informational', 'valid', `${type}/${id} may be deleted`, undefined, 'information')] };
      const refused = requestErrorOf(err);
      if (refused && refused.status < 500) return refused.outcome;
      throw err;
    }
    throw new Error('unreachable: the trial delete always rolls back');
  }
}

/** Thrown to roll a trial delete back once it has succeeded. */
const WOULD_DELETE = Symbol('would delete');

/** A `$name` the server has no route for: an id or a type cannot start with `$`, so it is not a read or a search. */
export function unknownOperation(request: { method: string; url: string }, name: string): FhirError {
  return new FhirError(404, [issue('not-supported', 'unknown-operation', `No operation ${name} for ${request.method} ${request.url.split('?')[0]}`)]);
}

/** `_summary` and `_elements` on a read or vread: the same subsetting as a search's. */
function applySummary(request: FastifyRequest, r: Resource): Resource {
  const q = request.query as Record<string, string | string[] | undefined>;
  if (q._summary === undefined && q._elements === undefined) return r;
  if (Array.isArray(q._summary)) throw badRequest('repeated-parameter', '_summary may be given only once', '_summary');
  const summary = q._summary === undefined ? undefined : parseSummary(q._summary, false);
  return shapeResource(r, summary, q._elements === undefined ? undefined : parseElements([q._elements].flat()));
}

