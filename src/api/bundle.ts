import { randomUUID } from 'node:crypto';
import type { Binary, Bundle, BundleEntry, Parameters, Resource } from '@medplum/fhirtypes';
import type { ServerContext } from './server.ts';
import type { Writer, WriteResult } from '../store/repository.ts';
import type { RequestAccess } from './auth.ts';
import { criteriaKey, parseQuery } from '../store/repository.ts';
import { search } from '../store/search/index.ts';
import { applyFhirPathPatch, applyJsonPatch } from '../fhir/patch.ts';
import { badRequest, FhirError, informational, issue, notFound } from '../fhir/outcome.ts';
import { notModified, requestErrorOf, type PreferReturn } from './http.ts';
import { isJsonObject, references, rewriteLinks } from '../fhir/json.ts';
import { cloneFhirJson } from '../fhir/json-decimals.ts';
import { isResourceType } from '../fhir/resource-types.ts';
import { takeTurns } from '../event-loop.ts';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Parsed {
  index: number;
  entry: BundleEntry;
  method: Method;
  type: string;
  id?: string;
  version?: string;
  /** search criteria of a conditional URL or a GET search */
  query?: [string, string][];
}

/** The spec's processing order for a transaction: deletes, creates, updates, then reads. */
const ORDER: Record<Method, number> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

/** A problem in one entry, reported with the entry's FHIRPath. */
function atEntry(err: unknown, index: number): FhirError {
  const e = requestErrorOf(err) ?? new FhirError(500, [issue('exception', 'internal-error', String((err as Error)?.message ?? err))]);
  const prefix = `Bundle.entry[${index}]`;
  return new FhirError(
    e.status,
    e.issues.map((i) => ({
      ...i,
      diagnostics: `${prefix}: ${i.diagnostics ?? ''}`,
      expression: i.expression?.length ? i.expression.map((x) => `${prefix}.resource.${x.replace(/^[A-Z][A-Za-z]+\./, '')}`) : [prefix],
    }))
  );
}

/** The JSON shape of a Bundle's entries, checked before anything reads them (a 400 naming the entry). */
export function checkEntries(bundle: Bundle): void {
  checkEntryList(bundle);
  (bundle.entry ?? []).forEach(checkEntry);
}

function checkEntryList(bundle: Bundle): void {
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw badRequest('invalid-bundle', 'Bundle.entry must be an array', 'Bundle.entry');
}

/** A transaction lets other requests in after this many entries of its own work on the event loop. */
const TURN_ENTRIES = 500;

const REQUEST_STRINGS = ['method', 'url', 'ifNoneExist', 'ifMatch', 'ifNoneMatch', 'ifModifiedSince'] as const;

function checkEntry(entry: unknown, index: number): void {
  const at = `Bundle.entry[${index}]`;
  if (!isJsonObject(entry)) throw badRequest('invalid-bundle', `${at} must be an object`, at);
  if (entry.fullUrl !== undefined && typeof entry.fullUrl !== 'string') throw badRequest('invalid-bundle', `${at}.fullUrl must be a string`, `${at}.fullUrl`);
  if (entry.resource !== undefined && !isJsonObject(entry.resource)) throw badRequest('invalid-bundle', `${at}.resource must be a resource (an object)`, `${at}.resource`);
  const req = entry.request;
  if (req === undefined) return;
  if (!isJsonObject(req)) throw badRequest('invalid-bundle', `${at}.request must be an object`, `${at}.request`);
  for (const k of REQUEST_STRINGS)
    if (req[k] !== undefined && typeof req[k] !== 'string') throw badRequest('invalid-bundle', `${at}.request.${k} must be a string`, `${at}.request.${k}`);
}

/** `base`: the server's FHIR base; a request URL may name it (an absolute URL) or be relative to it. */
function parseEntry(entry: BundleEntry, index: number, base: string): Parsed {
  checkEntry(entry, index);
  const req = entry.request;
  if (!req?.method || !req.url) throw badRequest('missing-request', `Bundle.entry[${index}] needs request.method and request.url`, `Bundle.entry[${index}].request`);
  if (!Object.hasOwn(ORDER, req.method))
    throw badRequest('invalid-method', `Bundle.entry[${index}]: request.method is one of ${Object.keys(ORDER).join(', ')}, not ${JSON.stringify(req.method)}`, `Bundle.entry[${index}].request.method`);
  const method = req.method as Method;
  const url = (req.url.startsWith(`${base}/`) ? req.url.slice(base.length) : req.url).replace(/^\//, '');
  const [path, query] = url.split('?', 2) as [string, string | undefined];
  const parts = path.split('/');
  const type = parts[0];
  if (!isResourceType(type)) throw badRequest('unknown-resource-type', `Bundle.entry[${index}]: unknown resource type in ${req.url}`, `Bundle.entry[${index}].request.url`);
  const p: Parsed = { index, entry, method, type, id: parts[1], version: parts[2] === '_history' ? parts[3] : undefined };
  if (query !== undefined) p.query = parseQuery(query);
  // What an entry may name: a type (create, search, conditional writes), an instance, or a version
  // to read. History, compartments and operations are REST interactions of their own.
  const shape = parts.length === 1 ? 'type' : parts.length === 2 && parts[1] ? 'instance' : parts.length === 4 && parts[2] === '_history' && parts[3] ? 'version' : undefined;
  const allowed =
    method === 'POST' ? shape === 'type' && query === undefined : method === 'GET' || method === 'HEAD' ? shape !== undefined : shape === 'instance' || (shape === 'type' && query !== undefined);
  if (!allowed) {
    const what = method === 'POST' ? 'a type (Patient), its conditions in ifNoneExist' : method === 'GET' || method === 'HEAD' ? 'a search, a read or a vread' : 'an instance (Patient/123) or search criteria (Patient?identifier=...)';
    throw badRequest('invalid-entry-url', `Bundle.entry[${index}]: a ${method} entry names ${what}, not ${req.url}`, `Bundle.entry[${index}].request.url`);
  }
  if (['POST', 'PUT'].includes(method)) {
    if (!entry.resource) throw badRequest('missing-resource', `Bundle.entry[${index}]: ${method} needs a resource`, `Bundle.entry[${index}].resource`);
    if (entry.resource.resourceType !== type) {
      throw badRequest('type-mismatch', `Bundle.entry[${index}]: the resource is a ${entry.resource.resourceType}, but the request is for ${type}`, `Bundle.entry[${index}].resource.resourceType`);
    }
  }
  if (method === 'PUT' && p.id && entry.resource?.id !== p.id) {
    throw badRequest('id-mismatch', `Bundle.entry[${index}]: the resource id ${entry.resource?.id} does not match ${req.url}`, `Bundle.entry[${index}].resource.id`);
  }
  return p;
}

function responseFor(result: WriteResult | undefined, status?: string): BundleEntry['response'] {
  if (!result) return { status: status ?? '204 No Content' };
  const r = result.resource;
  return {
    status: status ?? (result.status === 201 ? '201 Created' : '200 OK'),
    location: `${r.resourceType}/${r.id}/_history/${r.meta?.versionId}`,
    etag: `W/"${r.meta?.versionId}"`,
    lastModified: r.meta?.lastUpdated,
  };
}

/**
 * The response entries shaped by `Prefer: return=`, which applies to each write entry: a loader
 * that asks for return=minimal gets statuses, locations and versions without the stored resources
 * echoed back; return=OperationOutcome gets an outcome naming each. Reads keep their resource.
 */
export function withPreferredWrites(request: Bundle, response: Bundle, prefer: PreferReturn): Bundle {
  if (prefer === 'representation') return response;
  const requests = request.entry ?? [];
  for (const [i, e] of (response.entry ?? []).entries()) {
    if (!e.resource || !e.response || !['POST', 'PUT', 'PATCH'].includes(requests[i]?.request?.method ?? '')) continue;
    const r = e.resource;
    delete e.resource;
    if (prefer === 'OperationOutcome' && !e.response.outcome) e.response.outcome = informational(`${r.resourceType}/${r.id} (version ${r.meta?.versionId ?? '-'}): ${e.response.status}`);
  }
  return response;
}

/**
 * `access` is the caller's: every entry is held to the same policy as the REST interaction it
 * stands for (writes guarded, reads checked, searches filtered). Without it (the import CLI,
 * seeding) the caller is the platform itself.
 */
export async function processBundle(ctx: ServerContext, bundle: Bundle, access?: RequestAccess): Promise<Bundle> {
  // A batch reports a malformed entry as that entry's outcome (parseEntry), a transaction fails on it.
  checkEntryList(bundle);
  if (bundle.type === 'transaction') return processTransaction(ctx, bundle, access);
  if (bundle.type === 'batch') return processBatch(ctx, bundle, access);
  throw badRequest('invalid-bundle-type', `Only batch and transaction Bundles can be processed, not ${JSON.stringify(bundle.type)}`, 'Bundle.type');
}

/**
 * A transaction: all entries or none. Identities are settled first (new ids for creates,
 * If-None-Exist and conditional updates matched), then every urn:uuid: and conditional reference
 * is rewritten, then the entries run in the spec's order inside one database transaction.
 */

async function processTransaction(ctx: ServerContext, bundle: Bundle, access?: RequestAccess): Promise<Bundle> {
  const entries = (bundle.entry ?? []).map((e, i) => parseEntry(e, i, fhirBase(ctx)));
  // References name entries by fullUrl, so two entries with one would make them ambiguous (bdl-7).
  const named = new Map<string, number>();
  for (const p of entries) {
    const u = p.entry.fullUrl;
    if (u === undefined) continue;
    if (named.has(u))
      throw badRequest('duplicate-fullurl', `Bundle.entry[${p.index}] has the fullUrl of Bundle.entry[${named.get(u)}]; each entry's fullUrl is its own`, `Bundle.entry[${p.index}].fullUrl`);
    named.set(u, p.index);
  }
  const responses: BundleEntry[] = new Array(entries.length);
  await ctx.repo.inTransaction(
    async (w) => {
      const idMap = new Map<string, string>(); // fullUrl → Type/id
      const skip = new Set<number>(); // creates satisfied by If-None-Exist
      const targets = new Map<number, string>(); // entry → id it writes

      // Every conditional write's criteria held first, in one order (no deadlock between two
      // bundles): a concurrent bundle with the same criteria waits and then finds what this stores.
      const held = new Map<string, [string, [string, string][]]>();
      for (const p of entries) {
        const ifNoneExist = p.method === 'POST' ? p.entry.request?.ifNoneExist : undefined;
        const conditional = (p.method === 'PUT' || p.method === 'PATCH' || p.method === 'DELETE') && !p.id ? p.query : undefined;
        const criteria = ifNoneExist ? parseQuery(ifNoneExist) : conditional;
        if (criteria) held.set(criteriaKey(p.type, criteria), [p.type, criteria]);
      }
      for (const key of [...held.keys()].sort()) await w.lockCriteria(...held.get(key)!);

      // Conditional creates by criteria, and the id the first of them creates: a later entry with
      // the same criteria would match that resource once it is stored, so it is that resource.
      const createdFor = new Map<string, string>();
      for (const p of entries) {
        try {
          if (p.method === 'POST') {
            const ifNoneExist = p.entry.request?.ifNoneExist;
            const criteria = ifNoneExist ? parseQuery(ifNoneExist) : undefined;
            const key = criteria && criteriaKey(p.type, criteria);
            const earlier = key ? createdFor.get(key) : undefined;
            const match = earlier ? { id: earlier } : criteria ? await w.matchOne(p.type, criteria, `ifNoneExist ${ifNoneExist}`) : undefined;
            const id = match?.id ?? randomUUID();
            if (match) skip.add(p.index);
            else if (key) createdFor.set(key, id);
            targets.set(p.index, id);
            if (p.entry.fullUrl) idMap.set(p.entry.fullUrl, `${p.type}/${id}`);
          } else if (p.method === 'PUT' || p.method === 'PATCH' || p.method === 'DELETE') {
            let id = p.id;
            if (!id && p.query) {
              const match = await w.matchOne(p.type, p.query, p.entry.request!.url!);
              if (match) id = match.id;
              else if (p.method === 'PUT') id = p.entry.resource?.id ?? randomUUID();
              else if (p.method === 'PATCH') throw notFound(`${p.entry.request!.url} matches no ${p.type}`);
            }
            if (!id && p.method !== 'DELETE') throw badRequest('missing-id', `${p.method} needs Type/id or search criteria`, 'request.url');
            if (id) {
              targets.set(p.index, id);
              if (p.entry.fullUrl) idMap.set(p.entry.fullUrl, `${p.type}/${id}`);
            }
          }
        } catch (err) {
          throw atEntry(err, p.index);
        }
      }

      // A transaction changes each resource once (the spec: overlapping identities fail it).
      const changedBy = new Map<string, number>();
      for (const p of entries) {
        const id = targets.get(p.index);
        if (!id || p.method === 'GET' || p.method === 'HEAD' || skip.has(p.index)) continue;
        const key = `${p.type}/${id}`;
        const earlier = changedBy.get(key);
        if (earlier !== undefined)
          throw badRequest('transaction-overlap', `Bundle.entry[${p.index}] changes ${key}, which Bundle.entry[${earlier}] changes too; a transaction changes a resource once`, `Bundle.entry[${p.index}].request`);
        changedBy.set(key, p.index);
      }

      // Rewrite references (urn:uuid: placeholders and conditional references, Type?criteria) and
      // the other links that name entries by fullUrl.
      const resources: Resource[] = [];
      for (const [n, p] of entries.entries()) {
        // Thousands of entries whose references resolve without the database would otherwise hold
        // every other request until the last is done.
        if (n > 0 && n % TURN_ENTRIES === 0) await takeTurns();
        const r = p.entry.resource;
        if (!r || !['POST', 'PUT'].includes(p.method)) continue;
        // The parsed request body is this request's own: its references are rewritten in place
        // (a transaction runs once; nothing retries it with the original).
        const copy = r as Resource;
        for (const ref of references(copy)) {
          try {
            ref.set(await resolveReference(w, ref.value, idMap));
          } catch (err) {
            throw atEntry(err, p.index);
          }
        }
        rewriteLinks(copy, idMap);
        (copy as any).id = targets.get(p.index);
        p.entry = { ...p.entry, resource: copy };
        if (!skip.has(p.index)) resources.push(copy);
      }
      const ordered = [...entries].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index);
      // Plain creates and updates (no If-Match) are written in bulk, each checked first so a
      // failure names its entry; deletes still run first, as the spec orders. Their validation
      // runs (on other threads) while the database checks the references.
      const bulk = (p: Parsed) => (p.method === 'POST' && !skip.has(p.index)) || (p.method === 'PUT' && !p.entry.request?.ifMatch);
      const checked = ordered.filter(bulk);
      const refusals = w.checkEach(checked.map((p) => p.entry.resource!));
      refusals.catch(() => {}); // awaited below, unless the reference check fails first

      // One reference check for the whole bundle: entries may point at each other in any order.
      const known = new Set([...idMap.values(), ...resources.map((r) => `${r.resourceType}/${r.id}`)]);
      await w.checkReferences(resources, known).catch((err) => {
        throw new FhirError(400, (err as FhirError).issues ?? [issue('not-found', 'reference-not-found', String(err))]);
      });
      const refusal = await refusals;
      const first = refusal.findIndex(Boolean);
      if (first >= 0) throw atEntry(refusal[first], checked[first].index);
      for (const p of ordered.filter((p) => p.method === 'DELETE')) {
        try {
          responses[p.index] = await runEntry(ctx, w, p, targets.get(p.index), false, access);
        } catch (err) {
          throw atEntry(err, p.index);
        }
      }
      const creates = ordered.filter((p) => p.method === 'POST' && bulk(p));
      const created = await w.createMany(creates.map((p) => p.entry.resource!), { checked: true });
      creates.forEach((p, i) => (responses[p.index] = { fullUrl: fullUrl(ctx, created[i]), resource: created[i], response: responseFor({ resource: created[i], status: 201 }) }));
      const updates = ordered.filter((p) => p.method === 'PUT' && bulk(p));
      const updated = await w.updateMany(updates.map((p) => p.entry.resource!));
      updates.forEach((p, i) => (responses[p.index] = { fullUrl: fullUrl(ctx, updated[i].resource), resource: updated[i].resource, response: responseFor(updated[i]) }));
      for (const p of ordered) {
        if (bulk(p) || p.method === 'DELETE') continue;
        try {
          responses[p.index] = await runEntry(ctx, w, p, targets.get(p.index), skip.has(p.index), access);
        } catch (err) {
          throw atEntry(err, p.index);
        }
      }
    },
    { referenceChecks: false, guard: access?.guard, visible: access?.visibleRows() }
  );
  return { resourceType: 'Bundle', type: 'transaction-response', ...(responses.length && { entry: responses }) };
}

/** A batch: each entry on its own, each reporting its own outcome. */
async function processBatch(ctx: ServerContext, bundle: Bundle, access?: RequestAccess): Promise<Bundle> {
  const out: BundleEntry[] = [];
  for (const [index, entry] of (bundle.entry ?? []).entries()) {
    try {
      const p = parseEntry(entry, index, fhirBase(ctx));
      out.push(
        await ctx.repo.inTransaction(async (w) => {
          let id = p.id;
          if (p.method === 'POST' && entry.request?.ifNoneExist) {
            const criteria = parseQuery(entry.request.ifNoneExist);
            await w.lockCriteria(p.type, criteria);
            const match = await w.matchOne(p.type, criteria, `ifNoneExist ${entry.request.ifNoneExist}`);
            if (match) return runEntry(ctx, w, p, match.id, true, access);
          }
          if (!id && p.query && p.method !== 'GET' && p.method !== 'HEAD') {
            await w.lockCriteria(p.type, p.query);
            const match = await w.matchOne(p.type, p.query, entry.request!.url!);
            id = match?.id ?? (p.method === 'PUT' ? entry.resource?.id ?? randomUUID() : undefined);
            if (!id && p.method === 'PATCH') throw notFound(`${entry.request!.url} matches no ${p.type}`);
          }
          if (entry.resource && ['POST', 'PUT'].includes(p.method)) {
            const copy = cloneFhirJson(entry.resource) as Resource;
            for (const ref of references(copy)) ref.set(await resolveReference(w, ref.value));
            p.entry = { ...entry, resource: copy };
          }
          return runEntry(ctx, w, p, p.method === 'POST' ? randomUUID() : id, false, access);
        }, { guard: access?.guard, visible: access?.visibleRows() })
      );
    } catch (err) {
      const e = err instanceof FhirError ? err : new FhirError(500, [issue('exception', 'internal-error', String((err as Error)?.message))]);
      out.push({ response: { status: String(e.status), outcome: e.outcome } });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', ...(out.length && { entry: out }) };
}

const fhirBase = (ctx: ServerContext) => `${ctx.config.baseUrl}/fhir`;
const fullUrl = (ctx: ServerContext, r: Resource) => `${fhirBase(ctx)}/${r.resourceType}/${r.id}`;

/** `idMap`: a transaction's entries by fullUrl; a batch has none, its entries cannot refer to each other. */
async function resolveReference(w: Writer, ref: string, idMap?: Map<string, string>): Promise<string> {
  if (ref.startsWith('urn:uuid:') || ref.startsWith('urn:oid:')) {
    const target = idMap?.get(ref);
    if (!target) {
      const where = idMap ? 'no entry of the transaction' : "nothing: a batch's entries cannot refer to each other";
      throw new FhirError(400, [issue('not-found', 'reference-not-found', `Reference ${ref} matches ${where}`)]);
    }
    return target;
  }
  const m = /^([A-Z][A-Za-z]+)\?(.+)$/.exec(ref);
  if (m) {
    const match = await w.matchOne(m[1], parseQuery(m[2]), `Conditional reference ${ref}`);
    if (!match) throw new FhirError(400, [issue('not-found', 'reference-not-found', `Conditional reference ${ref} matches no resource`)]);
    return `${m[1]}/${match.id}`;
  }
  return ref;
}

async function runEntry(ctx: ServerContext, w: Writer, p: Parsed, id: string | undefined, existing: boolean, access?: RequestAccess): Promise<BundleEntry> {
  const ifMatch = p.entry.request?.ifMatch;
  switch (p.method) {
    case 'POST': {
      if (existing) {
        const r = await w.read(p.type, id!);
        await access?.checkRead(r, undefined, w.tx);
        return { fullUrl: fullUrl(ctx, r), resource: r, response: responseFor({ resource: r, status: 200 }) };
      }
      const result = await w.create(p.entry.resource!, { id });
      return { fullUrl: fullUrl(ctx, result.resource), resource: result.resource, response: responseFor(result) };
    }
    case 'PUT': {
      const result = await w.update({ ...p.entry.resource!, id } as Resource, { ifMatch });
      return { fullUrl: fullUrl(ctx, result.resource), resource: result.resource, response: responseFor(result) };
    }
    case 'PATCH': {
      const current = await w.read(p.type, id!);
      await access?.checkRead(current, undefined, w.tx);
      const body = p.entry.resource;
      let patched: Resource;
      if (body?.resourceType === 'Parameters') patched = applyFhirPathPatch(current, body as Parameters);
      else if (body?.resourceType === 'Binary' && typeof (body as Binary).data === 'string') {
        let operations: unknown;
        try {
          operations = JSON.parse(Buffer.from((body as Binary).data!, 'base64').toString('utf8'));
        } catch (err) {
          throw badRequest('patch-invalid', `The Binary's data is not a JSON Patch document: ${(err as Error).message}`, 'resource.data');
        }
        patched = applyJsonPatch(current, operations);
      } else throw badRequest('unsupported-patch', 'A PATCH entry carries a Parameters (FHIRPath Patch) or a Binary holding a JSON Patch', 'resource');
      const result = await w.update(patched, { ifMatch, method: 'PATCH' });
      return { fullUrl: fullUrl(ctx, result.resource), resource: result.resource, response: responseFor(result) };
    }
    case 'DELETE': {
      if (!id) return { response: { status: '204 No Content' } };
      const result = await w.delete(p.type, id, { ifMatch });
      return { response: { status: '204 No Content', ...(result ? { etag: `W/"${result.resource.meta?.versionId}"` } : {}) } };
    }
    case 'GET':
    case 'HEAD': {
      if (p.id && !p.query) {
        const r = p.version ? await w.vread(p.type, p.id, p.version) : await w.read(p.type, p.id);
        await access?.checkRead(r, undefined, w.tx);
        const versionOf = { etag: `W/"${r.meta?.versionId}"`, lastModified: r.meta?.lastUpdated };
        if (notModified(p.entry.request?.ifNoneMatch, p.entry.request?.ifModifiedSince, r)) return { response: { status: '304 Not Modified', ...versionOf } };
        return { fullUrl: fullUrl(ctx, r), resource: r, response: { status: '200 OK', ...versionOf } };
      }
      const result = await search(w.tx, { resourceType: p.type, params: p.query ?? [], baseUrl: `${ctx.config.baseUrl}/fhir`, accessFilter: access?.searchFilter(p.type) });
      return { resource: result, response: { status: '200 OK' } };
    }
  }
}

