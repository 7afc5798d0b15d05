import type { Resource } from '@medplum/fhirtypes';
import type { ServiceRule } from '../module.ts';
import { forbidden } from '../../access/errors.ts';
import { badRequest } from '../../fhir/outcome.ts';
import { disciplineOf, rules as table, UNSPECIFIED, DISCIPLINE_SYSTEM } from './settings.ts';
import { documentOfVisibleReportSql, isResult, releaseOf, RELEASE_DECISIONS, reportsOfDocument, visibleResult, visibleResultSql, withRelease } from './release.ts';
import { stableStringify } from '../../fhir/json.ts';

/**
 * The lab-results service's own access rules (see ../module.ts ServiceRule): who sees a result
 * (discipline switches, quality assurance, the citizen's release), in whatever form, and who may
 * publish one.
 */
export const rules: ServiceRule[] = [
  {
    // A lab report in document form follows its DiagnosticReport (release.ts reportsOfDocument).
    service: 'documents',
    visibleSql: (alias, grant, ctx) => documentOfVisibleReportSql(alias, grant.citizenView, ctx.now),
    visibleGiven: async (resource, grant, ctx, db) => {
      const reports = reportsOfDocument(resource);
      if (!reports.length) return true;
      const rows = await db.query<{ content: string }>(
        `select content from resource where type = 'DiagnosticReport' and id = any($1::text[]) and compartment = $2 and not deleted`,
        [reports, grant.patientId]
      );
      return rows.every((r) => visibleResult(JSON.parse(r.content), grant.citizenView, ctx.now));
    },
  },
  {
    service: 'lab-results',
    visible: (resource, grant, ctx) => visibleResult(resource, grant.citizenView, ctx.now),
    visibleSql: (alias, grant, ctx) => visibleResultSql(alias, grant.citizenView, ctx.now),
    beforeWrite: (resource, action, ctx, _grant, previous) => {
      // Results come from laboratories and health personnel; a citizen's own measurements are 'measurements'.
      if (ctx.principal.kind === 'citizen')
        throw forbidden('lab-results-source-only', 'Lab results are published by laboratories and health personnel, not by citizens', resource.resourceType);
      if (action === 'delete' || !isResult(resource)) return resource;
      return keepRelease(checkPublishedResult(resource, ctx.now), previous);
    },
  },
];

function checkPublishedResult(resource: Resource, now: Date): Resource {
  const type = resource.resourceType;
  const discipline = disciplineOf(resource);
  if (!table()[discipline].source) {
    if (discipline === UNSPECIFIED)
      throw badRequest('lab-discipline-missing', `A lab result names its discipline in ${type}.category (system ${DISCIPLINE_SYSTEM}, or HL7 v2-0074)`, `${type}.category`);
    throw forbidden('lab-discipline-off', `Results of discipline '${discipline}' are not received yet (switched off for sources)`, `${type}.category`);
  }
  const release = releaseOf(resource);
  if (release) {
    const at = `${type}.meta.extension('${'lab-citizen-release'}')`;
    if (!RELEASE_DECISIONS.includes(release.decision)) throw badRequest('lab-release-invalid', `The citizen release decision must be one of ${RELEASE_DECISIONS.join(', ')}`, at);
    if (release.decision === 'delay' && Number.isNaN(Date.parse(release.until ?? ''))) throw badRequest('lab-release-invalid', 'A delay needs an `until` instant', at);
  }
  // The automatic release counts from `issued`: a result without one is issued when it is received.
  if (!(resource as { issued?: string }).issued) return { ...resource, issued: now.toISOString() } as Resource;
  return resource;
}

/**
 * The requester's decision outlives a corrected result: an update without it carries the stored
 * one forward; an update that changes it is refused, since only $citizen-release changes it.
 */
function keepRelease(resource: Resource, previous: Resource | undefined): Resource {
  const before = previous && releaseOf(previous);
  const after = releaseOf(resource);
  if (!before) return after ? withRelease(resource, after) : resource;
  if (after && stableStringify(after) !== stableStringify(before))
    throw forbidden('lab-release-by-operation', 'The citizen release of a result is changed by its requester through DiagnosticReport/$citizen-release only', `${resource.resourceType}.meta.extension`);
  return withRelease(resource, before);
}
