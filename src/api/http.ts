import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Resource } from '@medplum/fhirtypes';
import { badRequest, FhirError, issue } from '../fhir/outcome.ts';
import { databaseErrorAsFhir } from '../store/db.ts';
import { stringifyFhirJson } from '../fhir/json-decimals.ts';
import { etagNames, etagVersions, notModifiedSince } from '../fhir/etag.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * An error the request caused, as its OperationOutcome: a FhirError as it is, a database error the
 * client can act on (databaseErrorAsFhir), or a body nested so deeply that processing it ran out
 * of stack. Anything else is undefined: a fault of the server (500).
 */
export function requestErrorOf(err: unknown): FhirError | undefined {
  if (err instanceof FhirError) return err;
  if (err instanceof RangeError && /call stack/i.test(err.message)) return badRequest('too-deep', 'The request is nested too deeply to process');
  return databaseErrorAsFhir(err);
}

export const etagOf = (r: Resource) => `W/"${r.meta?.versionId ?? '1'}"`;

/**
 * A conditional read's 304 (RFC 9110 §13.1.2, §13.2.2): `If-None-Match` names the current version
 * (a list, or `*`), or, without it, `If-Modified-Since` is not before the last update. A malformed
 * ETag names nothing.
 */
export function notModified(ifNoneMatch: string | undefined, ifModifiedSince: string | undefined, r: Resource): boolean {
  if (ifNoneMatch !== undefined) {
    const named = etagVersions(ifNoneMatch);
    return !!named && etagNames(named, Number(r.meta?.versionId));
  }
  return ifModifiedSince !== undefined && notModifiedSince(ifModifiedSince, r.meta?.lastUpdated);
}

/** Query pairs of a request, in order, with repeated names kept (AND semantics in search). */
export function queryPairs(request: FastifyRequest): [string, string][] {
  const q = request.url.indexOf('?');
  return q < 0 ? [] : [...new URLSearchParams(request.url.slice(q + 1)).entries()];
}

// Module-level functions and loops, not closures made per request: tsx names each closure it creates (__name).
/** A media type whose fhirVersion parameter names another FHIR version than this server's R4 (4.0). */
function otherFhirVersion(type: string): boolean {
  const m = /;\s*fhirVersion\s*=\s*"?([^;",\s]+)/i.exec(type);
  return m !== null && !/^4\.0(\.\d+)?$/.test(m[1]);
}
function acceptable(type: string): boolean {
  return !otherFhirVersion(type) && /^(json|application\/(fhir\+)?json|\*\/\*|application\/\*|text\/html)/i.test(type.trim());
}
function acceptsJson(accept: string): boolean {
  for (const t of accept.split(',')) if (acceptable(t) || (/json/.test(t) && !otherFhirVersion(t))) return true;
  return false;
}
const versionRefused = (what: string, status: 406 | 415) =>
  new FhirError(status, [issue('not-supported', 'unsupported-fhir-version', `${what}: this server speaks FHIR R4 (fhirVersion=4.0)`)]);

/** `_format`: JSON is what this server speaks; XML and turtle are refused clearly. */
export function checkFormat(request: FastifyRequest): void {
  // A Binary read answers in the content's own type whatever the Accept (FHIR Binary; IHE ITI-68).
  if (request.method === 'GET' && /\/Binary\/[^/?]+(?:\?|$)/.test(request.url)) return;
  const contentType = request.headers['content-type'];
  if (contentType && otherFhirVersion(contentType)) throw versionRefused(`Content-Type ${contentType}`, 415);
  const format = (request.query as Record<string, string> | undefined)?._format;
  const accept = request.headers.accept;
  const wanted = format ?? accept;
  if (!wanted) return;
  if (format && !acceptable(format)) throw new FhirError(406, [issue('not-supported', 'unsupported-format', `_format ${format} is not supported; this server speaks application/fhir+json`)]);
  if (!format && accept && !acceptsJson(accept)) {
    if (/json/.test(accept)) throw versionRefused(`Accept ${accept}`, 406);
    throw new FhirError(406, [issue('not-supported', 'unsupported-format', `Accept ${accept} is not supported; this server speaks application/fhir+json`)]);
  }
}

export const isPretty = (request: FastifyRequest) => (request.query as Record<string, string> | undefined)?._pretty === 'true';

export function sendResource(request: FastifyRequest, reply: FastifyReply, body: unknown, status = 200): FastifyReply {
  return reply.code(status).header('content-type', FHIR_JSON).send(stringifyFhirJson(body, isPretty(request) ? 2 : undefined));
}

/** Headers every response carrying one resource version gets. */
export function versionHeaders(reply: FastifyReply, r: Resource): void {
  reply.header('etag', etagOf(r));
  if (r.meta?.lastUpdated) reply.header('last-modified', new Date(r.meta.lastUpdated).toUTCString());
}

export type PreferReturn = 'minimal' | 'representation' | 'OperationOutcome';

export function preferReturn(request: FastifyRequest): PreferReturn {
  const m = /return=(minimal|representation|OperationOutcome)/i.exec(String(request.headers.prefer ?? ''));
  if (!m) return 'representation';
  return m[1].toLowerCase() === 'minimal' ? 'minimal' : m[1].toLowerCase() === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

export const preferStrict = (request: FastifyRequest) => /handling=strict/i.test(String(request.headers.prefer ?? ''));

export function requireBody(request: FastifyRequest): Resource {
  const body = request.body;
  if (body === undefined || body === null || (typeof body === 'string' && body.length === 0)) {
    throw badRequest('missing-body', 'The request needs a FHIR resource as body');
  }
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('not-a-resource', 'The body must be a FHIR resource (a JSON object)');
  return body as Resource;
}
