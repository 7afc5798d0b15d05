import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { serviceOf } from '../../access/services.ts';
import { etagOf, sendResource, versionHeaders } from '../../api/http.ts';
import { badRequest, FhirError, issue, notFound } from '../../fhir/outcome.ts';
import { run, sql } from '../../store/sql.ts';
import type { ServiceDeps } from '../module.ts';
import { EXT, KJ_TYPES, type KjType } from './terms.ts';
import { patientNamedIn } from '../../access/policy.ts';
import { entryState, type EntryState } from './validity.ts';

/**
 * HTTP API of the critical-information service (under /fhir, behind the auth plugin):
 *   DELETE /{AllergyIntolerance|Condition|Procedure|Flag}/:id  withdraws critical information: a new
 *          version marked entered-in-error, the history kept (other resources of these types are
 *          deleted as usual)
 *   GET    /$critical-information  the patient's critical information with each entry's state
 *          (active | inactive | entered-in-error) at the server's time; `state` selects which
 */

const ifMatchOf = (request: FastifyRequest) => request.headers['if-match'] as string | undefined;

/** The entered-in-error version of an entry (R4: AllergyIntolerance and Condition then carry no clinicalStatus). */
function withdrawn(current: Resource): Resource {
  const { versionId: _v, lastUpdated: _l, ...meta } = current.meta ?? {};
  const base = { ...current, meta } as Resource & Record<string, unknown>;
  if (current.resourceType === 'AllergyIntolerance' || current.resourceType === 'Condition') {
    const system =
      current.resourceType === 'AllergyIntolerance'
        ? 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification'
        : 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
    const { clinicalStatus: _c, ...rest } = base;
    return { ...rest, verificationStatus: { coding: [{ system, code: 'entered-in-error', display: 'Entered in Error' }] } } as Resource;
  }
  return { ...base, status: 'entered-in-error' } as Resource;
}

async function withdraw(deps: ServiceDeps, type: KjType, request: FastifyRequest, reply: FastifyReply) {
  const { id } = request.params as { id: string };
  const [row] = await deps.repo.db.query<{ content: string; deleted: boolean }>(`select content, deleted from resource where type = $1 and id = $2`, [type, id]);
  const current = row && !row.deleted ? (JSON.parse(row.content) as Resource) : undefined;
  if (!current || serviceOf(current) !== 'critical-information') {
    // Not critical information (e.g. a GP's own Condition): the ordinary FHIR delete.
    const result = await deps.repo.delete(type, id, { ifMatch: ifMatchOf(request), guard: request.access.guard });
    if (result) reply.header('etag', etagOf(result.resource));
    if (current) request.returnedResources = [current];
    return reply.code(204).send();
  }
  await request.access.checkRead(current);
  // Without the client's If-Match, the version read here: a change made meanwhile is a 412, never overwritten.
  const ifMatch = ifMatchOf(request) ?? `W/"${current.meta?.versionId}"`;
  const result = await deps.repo.update(withdrawn(current), { ifMatch, guard: request.access.guard });
  const stored = result.resource;
  versionHeaders(reply, stored);
  reply.header('content-location', `${deps.fhirBase()}/${type}/${id}/_history/${stored.meta?.versionId}`);
  request.returnedResources = [stored];
  return sendResource(request, reply, stored);
}

const STATES: EntryState[] = ['active', 'inactive', 'entered-in-error'];

function wantedStates(value: string | undefined): Set<EntryState> {
  if (value === undefined) return new Set(['active', 'inactive']);
  const asked = value.split(',').map((s) => s.trim());
  const unknown = asked.filter((s) => !(STATES as string[]).includes(s));
  if (unknown.length) throw badRequest('invalid-state', `state must be a comma-separated list of ${STATES.join(', ')}; got ${unknown.join(', ')}`, 'state');
  return new Set(asked as EntryState[]);
}

/** The patient the operation is about: nhn-patient-nin, else the only patient (or a citizen's own record) in the context. */
async function patientOf(deps: ServiceDeps, request: FastifyRequest): Promise<string> {
  const ctx = request.access.context;
  const nin = request.headers['nhn-patient-nin'] as string | undefined;
  if (ctx.patients === 'any') {
    if (!nin) throw new FhirError(400, [issue('required', 'patient-missing', 'Send the patient in the nhn-patient-nin header', 'nhn-patient-nin')]);
    const person = await deps.registry.person(nin);
    if (!person?.patientId) throw notFound('No patient record for this person');
    return person.patientId;
  }
  const grant = patientNamedIn(ctx);
  if (!grant && nin) throw notFound('No patient record for this person');
  if (!grant) throw new FhirError(400, [issue('required', 'patient-missing', 'Send the patient in the nhn-patient-nin header', 'nhn-patient-nin')]);
  return grant.patientId;
}

/** The access filter for the critical-information types the token's scopes allow (403 when none). */
function readableFilter(request: FastifyRequest) {
  const allowed = KJ_TYPES.filter((type) => {
    try {
      request.access.filterFor(type);
      return true;
    } catch {
      return false;
    }
  });
  // Every type's filter is the same predicate, which itself limits rows to the scoped types.
  return request.access.filterFor(allowed[0] ?? KJ_TYPES[0]);
}

const ORDER: Record<EntryState, number> = { active: 0, inactive: 1, 'entered-in-error': 2 };

async function criticalInformation(deps: ServiceDeps, request: FastifyRequest, reply: FastifyReply) {
  const states = wantedStates((request.query as Record<string, string | undefined>).state);
  const patientId = await patientOf(deps, request);
  const visible = readableFilter(request);
  const rows = await run<{ content: string }>(
    deps.repo.db,
    sql`select r.content from resource r where r.compartment = ${patientId} and not r.deleted
          and r.type = any(${KJ_TYPES}::text[]) and ${visible('r')} order by r.last_updated desc, r.rid desc`
  );
  const now = request.access.context.now;
  const entries = rows
    .map(({ content }) => JSON.parse(content) as Resource)
    .filter((r) => serviceOf(r) === 'critical-information')
    .map((resource) => ({ resource, state: entryState(resource, now) }))
    .filter((e) => states.has(e.state))
    .sort((a, b) => ORDER[a.state] - ORDER[b.state]);
  request.returnedResources = entries.map((e) => e.resource);
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total: entries.length,
    ...(entries.length && {
      entry: entries.map(
        (e): BundleEntry => ({
          extension: [{ url: EXT.entryState, valueCode: e.state }],
          fullUrl: `${deps.fhirBase()}/${e.resource.resourceType}/${e.resource.id}`,
          resource: e.resource,
          search: { mode: 'match' },
        })
      ),
    }),
  };
  return sendResource(request, reply, bundle);
}

export async function criticalInfoRoutes(app: FastifyInstance, deps: ServiceDeps): Promise<void> {
  for (const type of KJ_TYPES) app.delete(`/${type}/:id`, (request, reply) => withdraw(deps, type, request, reply));
  app.get('/$critical-information', (request, reply) => criticalInformation(deps, request, reply));
}
