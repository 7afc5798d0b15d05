import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Parameters } from '@medplum/fhirtypes';
import type { PatientGrant } from '../access/policy.ts';
import { forbidden } from '../access/errors.ts';
import { fromConsent, loadPrivacy, savePrivacy, toConsent } from '../access/privacy.ts';
import type { RegistryLookup } from '../access/registry-port.ts';
import { ALL_SERVICES, serviceSql } from '../access/services.ts';
import { readAccessLog } from '../audit/access-log.ts';
import { FhirError, issue } from '../fhir/outcome.ts';
import type { Db } from '../store/db.ts';
import { sql, run } from '../store/sql.ts';
import { hasActiveCriticalInformation } from '../services/critical-info/status.ts';

/**
 * The citizen's privacy settings, the per-patient status call and the citizen's access log.
 * Registered at the server root next to authPlugin (paths include /fhir).
 *   GET  /fhir/$privacy-settings   the Consent of the citizen (or of `nhn-patient-nin` they represent)
 *   PUT  /fhir/$privacy-settings   replace it (the citizen, a parent of a child under 12, an assigned power of attorney)
 *   GET  /fhir/$privacy-status     for health personnel: has data, has active critical information,
 *                                  last changed, is the caller blocked. Not logged as clinical access.
 *   GET  /fhir/$access-log         "who has looked at my data", newest first; from, to, _count, _offset
 *   GET  /fhir/$representations    whom the citizen may act for (self included) and which services
 *                                  are open for each, as the policy decides it (send no nhn-patient-nin),
 *                                  plus the service table (which services may be reserved or restricted)
 */
export interface PrivacyRoutesOptions {
  db: Db;
  registry: RegistryLookup;
  /** The server's clock: whether critical information is still active depends on it (validUntil). */
  clock?: () => Date;
}

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

function citizenGrant(request: FastifyRequest): PatientGrant {
  const ctx = request.access.context;
  const p = ctx.principal;
  if (p.kind !== 'citizen') throw forbidden('citizens-only', 'Privacy settings and the access log are for the citizen and their representatives');
  if (ctx.patients === 'any') throw forbidden('citizens-only', 'Not available to this caller');
  const nin = p.onBehalfOf ?? p.nin;
  const grant = ctx.patients.find((g) => g.nin === nin);
  if (!grant) throw new FhirError(404, [issue('not-found', 'no-patient', 'No patient record for this person')]);
  return grant;
}

export async function privacyRoutes(app: FastifyInstance, opts: PrivacyRoutesOptions): Promise<void> {
  const { db, registry } = opts;
  const clock = opts.clock ?? (() => new Date());

  app.get('/fhir/$privacy-settings', { config: { audit: false } }, async (request, reply) => {
    const grant = citizenGrant(request);
    const settings = await loadPrivacy(db, grant.patientId);
    request.access.audit({ interaction: 'privacy-settings-read', outcome: 'success', patient: { id: grant.patientId, nin: grant.nin } });
    return reply.header('content-type', FHIR_JSON).send(JSON.stringify(toConsent(grant.patientId, grant.nin, settings)));
  });

  app.put('/fhir/$privacy-settings', { config: { audit: false } }, async (request, reply) => {
    const grant = citizenGrant(request);
    if (!grant.mayManagePrivacy)
      throw forbidden('may-not-manage-privacy', 'Only the person, a parent of a child under 12 or an assigned power of attorney may change privacy settings');
    const settings = fromConsent(request.body);
    const saved = await savePrivacy(db, grant.patientId, grant.nin, settings);
    request.access.audit({ interaction: 'privacy-settings-update', outcome: 'success', patient: { id: grant.patientId, nin: grant.nin }, entities: [`Consent/privacy-${grant.patientId}/_history/${saved.version}`] });
    return reply.header('content-type', FHIR_JSON).send(JSON.stringify(toConsent(grant.patientId, grant.nin, saved)));
  });

  app.get('/fhir/$privacy-status', { config: { access: 'principal', audit: false } }, async (request, reply) => {
    const p = request.principal!;
    if (p.kind !== 'practitioner' && p.kind !== 'system' && p.kind !== 'admin') throw forbidden('personnel-only', 'The status call is for health personnel and their systems');
    const nin = request.headers['nhn-patient-nin'] as string | undefined;
    if (!nin) throw new FhirError(400, [issue('required', 'patient-missing', 'Send the patient in the nhn-patient-nin header', 'nhn-patient-nin')]);
    const person = await registry.person(nin);
    const out: Parameters = { resourceType: 'Parameters', parameter: [] };
    if (!person?.patientId) {
      out.parameter!.push({ name: 'hasData', valueBoolean: false }, { name: 'hasActiveCriticalInformation', valueBoolean: false }, { name: 'callerBlocked', valueBoolean: false });
      return reply.header('content-type', FHIR_JSON).send(JSON.stringify(out));
    }
    const privacy = await loadPrivacy(db, person.patientId);
    const visible = sql`r.compartment = ${person.patientId} and not r.deleted and r.type <> 'Patient' and not (${serviceSql('r')} = any(${privacy.reserved}::text[]))`;
    const [stats] = await run<{ n: number; last: string | null }>(db, sql`select count(*)::int as n, max(r.last_updated) as last from resource r where ${visible}`);
    // Active as the critical-information service decides it, and only what this caller may ever see (a pharmacy: drug reactions).
    const critical = !privacy.reserved.includes('critical-information') && (await hasActiveCriticalInformation(db, person.patientId, p, clock()));
    out.parameter!.push(
      { name: 'hasData', valueBoolean: Number(stats.n) > 0 },
      { name: 'hasActiveCriticalInformation', valueBoolean: critical },
      ...(stats.last ? [{ name: 'lastChanged', valueInstant: new Date(stats.last).toISOString() }] : []),
      { name: 'callerBlocked', valueBoolean: p.kind === 'practitioner' && privacy.blockedHpr.includes(p.hpr) }
    );
    return reply.header('content-type', FHIR_JSON).send(JSON.stringify(out));
  });

  app.get('/fhir/$access-log', { config: { audit: false } }, async (request, reply) => {
    const grant = citizenGrant(request);
    const q = request.query as Record<string, string>;
    for (const k of ['from', 'to'] as const)
      if (q[k] !== undefined && Number.isNaN(Date.parse(q[k]))) throw new FhirError(400, [issue('invalid', 'invalid-date', `${k} must be a date or instant`, k)]);
    const count = q._count === undefined ? 50 : Number(q._count);
    const offset = q._offset === undefined ? 0 : Number(q._offset);
    if (!Number.isInteger(count) || count < 1 || !Number.isInteger(offset) || offset < 0)
      throw new FhirError(400, [issue('invalid', 'invalid-paging', '_count must be a positive and _offset a non-negative integer', '_count')]);
    const log = await readAccessLog(db, [grant.patientId], { from: q.from, to: q.to, count, offset });
    return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ patient: grant.nin, total: log.total, count, offset, entries: log.entries }));
  });

  // The portal's "act for" switch. Straight from the resolved access context, so it offers exactly
  // the people and services the policy would let through. Not clinical access: it shows the
  // caller's own relations (names and birth dates from the registry's Patient), no health data.
  app.get('/fhir/$representations', { config: { audit: false } }, async (request, reply) => {
    const ctx = request.access.context;
    const p = ctx.principal;
    if (p.kind !== 'citizen' || ctx.patients === 'any') throw forbidden('citizens-only', 'The list of people you may act for is for citizens');
    const grants = ctx.patients;
    const rows = await run<{ id: string; content: string }>(db, sql`select id, content from resource where type = 'Patient' and not deleted and id = any(${grants.map((g) => g.patientId)}::text[])`);
    const patients = new Map(rows.map((r) => [r.id, JSON.parse(r.content)]));
    const people = grants.map((g) => {
      const patient = patients.get(g.patientId);
      const n = patient?.name?.[0];
      return {
        nin: g.nin,
        patientId: g.patientId,
        name: n ? [...(n.given ?? []), n.family].filter(Boolean).join(' ') : g.nin,
        birthDate: patient?.birthDate,
        relation: g.relation,
        mayManagePrivacy: g.mayManagePrivacy,
        services: ALL_SERVICES.filter((s) => g.services.has(s.code)).map((s) => ({ code: s.code, name: s.name })),
      };
    });
    // Self first, then the others by name.
    people.sort((a, b) => Number(b.relation === 'self') - Number(a.relation === 'self') || a.name.localeCompare(b.name));
    // The whole service table too: privacy settings name services the person may no longer see (a reservation).
    const catalogue = ALL_SERVICES.map((s) => ({ code: s.code, name: s.name, reservable: s.reservable, restrictable: s.restrictable }));
    return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ self: p.nin, people, catalogue }));
  });
}
(privacyRoutes as any)[Symbol.for('skip-override')] = true;
