import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { DiagnosticReport, Observation, Parameters, Practitioner, PractitionerRole, Resource, ServiceRequest } from '@medplum/fhirtypes';
import type { ServiceDeps } from '../module.ts';
import { forbidden } from '../../access/errors.ts';
import { operationParameters } from '../../fhir/parameters.ts';
import { badRequest } from '../../fhir/outcome.ts';
import { parseRelativeReference } from '../../fhir/json.ts';
import { SYSTEM } from '../../registry/systems.ts';
import { writeSearchIndex } from '../../store/search-index.ts';
import type { Queryable } from '../../store/db.ts';
import { requireBody, sendResource } from '../../api/http.ts';
import { citizenReleaseStatus, RELEASE_DECISIONS, withRelease, type Release, type ReleaseDecision } from './release.ts';

/**
 * POST /fhir/DiagnosticReport/<id>/$citizen-release: the requesting clinician blocks a result
 * from the citizen, delays it to a moment, or releases it now. The decision lands on the meta of
 * the report and of every Observation under it (result, hasMember, to any depth), on every stored
 * version, in one transaction, without new versions: like FHIR's $meta-add, it is a label on the
 * resource, not a change of the result, and an old version must not show what the current one hides.
 */
export async function citizenReleaseRoutes(app: FastifyInstance, deps: ServiceDeps): Promise<void> {
  // Where the result stands for the citizen, for whoever may read the report (the requester's UI).
  app.get('/DiagnosticReport/:id/$citizen-release', async (request, reply) => {
    const { id } = request.params as { id: string };
    const report = (await deps.repo.read('DiagnosticReport', id)) as DiagnosticReport;
    await request.access.checkRead(report);
    request.returnedResources = [report];
    const st = citizenReleaseStatus(report, deps.clock());
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'discipline', valueCode: st.discipline },
        { name: 'decision', valueCode: st.decision },
        { name: 'visibleNow', valueBoolean: st.visibleNow },
        ...(st.releaseAt ? [{ name: 'releaseAt', valueInstant: st.releaseAt }] : []),
        ...(st.withheldBecause ? [{ name: 'withheldBecause', valueCode: st.withheldBecause }] : []),
      ],
    };
    return sendResource(request, reply, body);
  });

  app.post('/DiagnosticReport/:id/$citizen-release', async (request, reply) => {
    const { id } = request.params as { id: string };
    const principal = request.access.principal;
    const input = parseInput(request, deps.clock());
    const report = (await deps.repo.read('DiagnosticReport', id)) as DiagnosticReport;
    await request.access.checkRead(report);
    if (principal.kind !== 'practitioner' || !(await requesterHprs(deps, report)).includes(principal.hpr))
      throw forbidden('not-requester', 'Only the clinician who requested the analysis (ServiceRequest.requester, via DiagnosticReport.basedOn) may block, delay or release it', 'DiagnosticReport.basedOn');
    const release: Release = { ...input, decidedBy: principal.hpr, decidedAt: deps.clock().toISOString() };
    const updated = await deps.repo.inTransaction(async (w) => {
      const out: Resource[] = [];
      for (const key of await resultTree(w.tx, report)) out.push(await labelAllVersions(w.tx, key, release));
      return out;
    });
    request.returnedResources = updated;
    const body: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'decision', valueCode: release.decision },
        ...(release.until ? [{ name: 'until', valueInstant: release.until }] : []),
        ...updated.map((r) => ({ name: 'resource', valueReference: { reference: `${r.resourceType}/${r.id}` } })),
      ],
    };
    return sendResource(request, reply, body);
  });
}

function parseInput(request: FastifyRequest, now: Date): Pick<Release, 'decision' | 'until' | 'reason'> {
  const params = operationParameters(requireBody(request));
  const param = (name: string) => params.find((p) => p.name === name);
  const decision = param('decision')?.valueCode as ReleaseDecision | undefined;
  if (!decision || !RELEASE_DECISIONS.includes(decision))
    throw badRequest('lab-release-invalid', `Parameter 'decision' (valueCode) must be one of ${RELEASE_DECISIONS.join(', ')}`, "Parameters.parameter.where(name = 'decision')");
  const reason = param('reason')?.valueString;
  if (decision !== 'delay') return { decision, reason };
  const untilText = param('until')?.valueDateTime ?? param('until')?.valueInstant;
  const until = untilText ? Date.parse(untilText) : NaN;
  if (Number.isNaN(until)) throw badRequest('lab-release-invalid', "A delay needs parameter 'until' (valueDateTime)", "Parameters.parameter.where(name = 'until')");
  if (until <= now.getTime()) throw badRequest('lab-release-invalid', "'until' is not in the future; use decision 'release' to release now", "Parameters.parameter.where(name = 'until')");
  return { decision, until: new Date(until).toISOString(), reason };
}

/** HPR numbers of the practitioners who requested the report (its basedOn ServiceRequests' requesters). */
async function requesterHprs(deps: ServiceDeps, report: DiagnosticReport): Promise<string[]> {
  const out: string[] = [];
  const read = async <T extends Resource>(ref: string | undefined, type: string): Promise<T | undefined> => {
    const p = ref ? parseRelativeReference(ref) : undefined;
    if (!p || p.type !== type) return undefined;
    return (await deps.repo.read(type, p.id).catch(() => undefined)) as T | undefined;
  };
  for (const based of report.basedOn ?? []) {
    const order = await read<ServiceRequest>(based.reference, 'ServiceRequest');
    const ref = order?.requester?.reference;
    const role = await read<PractitionerRole>(ref, 'PractitionerRole');
    const practitioner = await read<Practitioner>(role ? role.practitioner?.reference : ref, 'Practitioner');
    const hpr = practitioner?.identifier?.find((i) => i.system === SYSTEM.hpr)?.value;
    if (hpr) out.push(hpr);
  }
  return out;
}

type Key = { type: string; id: string };

/** The report and every Observation under it, in the report's compartment, each once. */
async function resultTree(tx: Queryable, report: DiagnosticReport): Promise<Key[]> {
  const [{ compartment }] = await tx.query<{ compartment: string | null }>(`select compartment from resource where type = 'DiagnosticReport' and id = $1`, [report.id]);
  const seen = new Set<string>([`DiagnosticReport/${report.id}`]);
  const out: Key[] = [{ type: 'DiagnosticReport', id: report.id! }];
  let frontier = (report.result ?? []).map((r) => r.reference);
  while (frontier.length) {
    const next: (string | undefined)[] = [];
    const ids = frontier.map((ref) => (ref ? parseRelativeReference(ref) : undefined)).filter((p) => p?.type === 'Observation' && !seen.has(`Observation/${p.id}`)).map((p) => p!.id);
    if (!ids.length) break;
    // Only the report's own patient's results: a reference elsewhere is not this decision's to label.
    const rows = await tx.query<{ id: string; content: string }>(
      `select id, content from resource where type = 'Observation' and id = any($1::text[]) and compartment is not distinct from $2 and not deleted`,
      [ids, compartment]
    );
    for (const row of rows) {
      if (seen.has(`Observation/${row.id}`)) continue;
      seen.add(`Observation/${row.id}`);
      out.push({ type: 'Observation', id: row.id });
      next.push(...((JSON.parse(row.content) as Observation).hasMember ?? []).map((m) => m.reference));
    }
    frontier = next;
  }
  return out;
}

/** Puts the decision on the current version and every stored version of one resource, and reindexes it. */
async function labelAllVersions(tx: Queryable, key: Key, release: Release): Promise<Resource> {
  const [row] = await tx.query<{ rid: number; compartment: string | null; content: string }>(
    `select rid, compartment, content from resource where type = $1 and id = $2 and not deleted for update`,
    [key.type, key.id]
  );
  const current = withRelease(JSON.parse(row.content) as Resource, release);
  await tx.query(`update resource set content = $2 where rid = $1`, [row.rid, JSON.stringify(current)]);
  const versions = await tx.query<{ version: number; content: string }>(`select version, content from resource_history where rid = $1 and content is not null`, [row.rid]);
  for (const v of versions)
    await tx.query(`update resource_history set content = $3 where rid = $1 and version = $2`, [row.rid, v.version, JSON.stringify(withRelease(JSON.parse(v.content), release))]);
  await writeSearchIndex(tx, [{ rid: Number(row.rid), type: key.type, compartment: row.compartment, resource: current }]);
  return current;
}
