import type { FastifyRequest } from 'fastify';
import type { Parameters, Resource } from '@medplum/fhirtypes';
import type { Repository, WriteGuard, WriteResult } from '../store/repository.ts';
import { badRequest, notFound } from '../fhir/outcome.ts';
import { applyFhirPathPatch, applyJsonPatch } from '../fhir/patch.ts';

/**
 * PATCH of one resource: JSON Patch (application/json-patch+json) or FHIRPath Patch (a Parameters
 * resource). Read, patch and write happen in one transaction holding the row, so a concurrent
 * writer cannot slip in between; If-Match is checked against the version read.
 */
export async function applyPatchRequest(
  repo: Repository,
  type: string,
  /** The resource's id, or the search criteria of a conditional patch (matched in the same transaction). */
  target: string | [string, string][],
  request: FastifyRequest,
  guard?: WriteGuard
): Promise<WriteResult> {
  const body = request.body;
  const contentType = String(request.headers['content-type'] ?? '');
  const ifMatch = request.headers['if-match'] as string | undefined;
  return repo.inTransaction(async (w) => {
    let id = target as string;
    if (Array.isArray(target)) {
      const match = await w.matchOne(type, target, 'The criteria');
      if (!match) throw notFound(`No ${type} matches the criteria`);
      id = match.id;
    }
    await w.tx.query('select 1 from resource where type = $1 and id = $2 for update', [type, id]);
    const current = await w.read(type, id);
    await request.access.checkRead(current, undefined, w.tx);
    let patched: Resource;
    if (contentType.startsWith('application/json-patch+json') || Array.isArray(body)) {
      patched = applyJsonPatch(current, body);
    } else if (body && typeof body === 'object' && (body as Resource).resourceType === 'Parameters') {
      patched = applyFhirPathPatch(current, body as Parameters);
    } else {
      throw badRequest('unsupported-patch', 'PATCH takes a JSON Patch document (application/json-patch+json) or a FHIRPath Patch Parameters resource');
    }
    return w.update(patched, { ifMatch, method: 'PATCH' });
  }, { guard, visible: request.access.visibleRows() });
}
