import type { Extension, Reference, Resource } from '@medplum/fhirtypes';
import type { AccessContext, PatientGrant, WriteAction } from '../../access/policy.ts';
import { forbidden } from '../../access/errors.ts';
import { actingAuthorisation, HPR_SYSTEM, ORGNR_SYSTEM, type Principal } from '../../access/principal.ts';
import { FhirError, issue } from '../../fhir/outcome.ts';
import { raw, sql } from '../../store/sql.ts';
import type { ServiceRule } from '../module.ts';
import { AUTHORISATION_SYSTEM, claimsKjProfile, EXT, PHARMACY_AUTHORISATIONS, PROFILE, REGISTERING_AUTHORISATIONS, isKjType } from './terms.ts';

/**
 * The critical-information service's own access rules (domain.md §1):
 * - pharmacies read drug reactions (Kjernejournal is their single national source) and nothing
 *   else of the patient's critical information;
 * - only doctors (HPR authorisation LE) register, change or withdraw it, and every version records
 *   who wrote it;
 * - it is never erased: withdrawal is a new version marked entered-in-error (see routes.ts).
 */

/** Pharmacists, and pharmacy systems whose attestation names a pharmacist. */
export function isPharmacyCaller(principal: Principal): boolean {
  const a = actingAuthorisation(principal);
  return !!a && PHARMACY_AUTHORISATIONS.includes(a);
}

export function isDrugReaction(resource: Resource): boolean {
  return resource.resourceType === 'AllergyIntolerance' && (resource.category ?? []).includes('medication');
}

function drugReactionSql(alias: string) {
  const a = raw(alias);
  return sql`(${a}.type = 'AllergyIntolerance' and coalesce((${a}.content::jsonb -> 'category') @> '["medication"]'::jsonb, false))`;
}

/** Who wrote this version, as the kj-changed-by extension. */
function changedBy(ctx: AccessContext): Extension {
  const p = ctx.principal;
  const parts: Extension[] = [];
  if (p.kind === 'practitioner') parts.push({ url: 'hpr', valueIdentifier: { system: HPR_SYSTEM, value: p.hpr } });
  const org = p.kind === 'practitioner' || p.kind === 'system' ? p.organisation : undefined;
  const pointOfCare = p.kind === 'practitioner' || p.kind === 'system' ? p.childOrganisation : undefined;
  if (org) parts.push({ url: 'organisation', valueIdentifier: { system: ORGNR_SYSTEM, value: org } });
  if (pointOfCare && pointOfCare !== org) parts.push({ url: 'pointOfCare', valueIdentifier: { system: ORGNR_SYSTEM, value: pointOfCare } });
  const authorisation = actingAuthorisation(p);
  if (authorisation) parts.push({ url: 'authorisation', valueCoding: { system: AUTHORISATION_SYSTEM, code: authorisation } });
  if (p.clientId) parts.push({ url: 'client', valueString: p.clientId });
  return { url: EXT.changedBy, extension: parts };
}

/** The writing doctor as a Reference, when the registry knows their Practitioner resource. */
function writerReference(ctx: AccessContext): Reference | undefined {
  const p = ctx.principal;
  if (p.kind !== 'practitioner' || !p.registry.practitionerId) return undefined;
  return { reference: `Practitioner/${p.registry.practitionerId}`, identifier: { system: HPR_SYSTEM, value: p.hpr } };
}

/**
 * Stamps the writer on the version. The recorder (Flag: author) is the first registrar: carried
 * forward from the version replaced, so a later change cannot rewrite it; on registration the
 * client's, else the writing doctor.
 */
function stamp(resource: Resource, ctx: AccessContext, previous: Resource | undefined): Resource {
  const extension = [...((resource as { extension?: Extension[] }).extension ?? []).filter((e) => e.url !== EXT.changedBy), changedBy(ctx)];
  const out = { ...resource, extension } as Resource & { recorder?: Reference; author?: Reference };
  const recorderKey = resource.resourceType === 'Flag' ? 'author' : 'recorder';
  const registrar = (previous as { recorder?: Reference; author?: Reference } | undefined)?.[recorderKey] ?? out[recorderKey] ?? writerReference(ctx);
  if (registrar) out[recorderKey] = registrar;
  return out;
}

function beforeWrite(resource: Resource, action: WriteAction, ctx: AccessContext, _grant: PatientGrant | 'any', previous?: Resource): Resource {
  const type = resource.resourceType;
  if (action === 'delete')
    throw new FhirError(409, [
      issue('business-rule', 'kj-withdraw-not-erase', `Critical information is withdrawn, never erased: send DELETE /${type}/${resource.id} on its own (it becomes entered-in-error, the history stays)`, type),
    ]);
  const authorisation = actingAuthorisation(ctx.principal);
  if (!authorisation || !REGISTERING_AUTHORISATIONS.includes(authorisation))
    throw forbidden(
      'kj-doctor-only',
      `Only doctors (HPR authorisation ${REGISTERING_AUTHORISATIONS.join(', ')}) register or change critical information; this request acts as ${authorisation ?? 'no authorisation'}`,
      ctx.principal.kind === 'practitioner' ? 'nhn-user-role' : 'authorization_details.practitioner.authorization'
    );
  if (!claimsKjProfile(resource)) {
    const expected = isKjType(type) ? PROFILE[type] : Object.values(PROFILE).join(', ');
    throw new FhirError(422, [issue('invalid', 'kj-profile-required', `Critical information must claim the profile ${expected} in meta.profile`, `${type}.meta.profile`)]);
  }
  return stamp(resource, ctx, previous);
}

export const rules: ServiceRule[] = [
  {
    service: 'critical-information',
    visible: (resource, _grant, ctx) => !isPharmacyCaller(ctx.principal) || isDrugReaction(resource),
    visibleSql: (alias, _grant, ctx) => (isPharmacyCaller(ctx.principal) ? drugReactionSql(alias) : raw('true')),
    beforeWrite,
  },
];
