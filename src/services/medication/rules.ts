import type { MedicationRequest, Resource } from '@medplum/fhirtypes';
import { forbidden } from '../../access/errors.ts';
import type { AccessContext } from '../../access/policy.ts';
import { actingAuthorisation, type PractitionerPrincipal } from '../../access/principal.ts';
import { FhirError, issue } from '../../fhir/outcome.ts';
import type { ServiceRule } from '../module.ts';
import { practitionerRef } from './context.ts';
import { isWithin } from './operation-scope.ts';
import { catalogueIssues, stampNewPrescription } from './prescriptions.ts';
import { SETTINGS } from './settings.ts';
import { isPllEntry, isPllList } from './validate.ts';

/**
 * The medication service's write rules. Reads follow the common rules (grants, reservation,
 * restriction and the citizen's blocks, which keep a blocked prescriber out of everything).
 *
 * - A prescription is created by a prescriber (LE/TL) and never changed in place: revocation,
 *   renewal and dispensing are operations that change it (routes in prescription-routes.ts).
 * - Dispenses are written only by $dispense, which counts what is left under a row lock.
 * - The PLL (List + MedicationStatements) is written only by its operations, by doctors.
 */
export function practitionerIn(ctx: AccessContext, categories: string[], code: string, what: string): PractitionerPrincipal {
  const p = ctx.principal;
  if (p.kind !== 'practitioner') throw forbidden(code, `${what} needs a health professional with authorisation ${categories.join(' or ')}`, 'helseid://claims/hpr/hpr_number');
  const role = actingAuthorisation(p);
  if (!role || !categories.includes(role))
    throw forbidden(code, `${what} needs authorisation ${categories.join(' or ')} (kodeverk 9060); this request acts as ${role ?? 'no category'}`, 'nhn-user-role');
  return p;
}

function prescriptionWrite(resource: Resource, action: string, ctx: AccessContext): Resource {
  if (isWithin(ctx, 'dispense') || isWithin(ctx, 'revoke') || isWithin(ctx, 'renew') || isWithin(ctx, 'pll')) {
    // Operations change existing prescriptions; a renewal also creates the new one, stamped below.
    if (action !== 'create') return resource;
  }
  if (action !== 'create')
    throw forbidden('prescription-immutable', 'A prescription is not changed in place: revoke it ($revoke) or renew it with changes ($renew)', 'MedicationRequest');
  const p = practitionerIn(ctx, SETTINGS.prescriberCategories, 'prescriber-required', 'Prescribing');
  const mr = resource as MedicationRequest;
  const issues = catalogueIssues(mr, 'MedicationRequest');
  if (issues.length) throw new FhirError(422, issues);
  if (mr.status !== 'active') throw new FhirError(422, [issue('business-rule', 'prescription-status', `A new prescription has status active, not ${mr.status}`, 'MedicationRequest.status')]);
  if (mr.intent !== 'order') throw new FhirError(422, [issue('business-rule', 'prescription-intent', `An e-prescription has intent order, not ${mr.intent}`, 'MedicationRequest.intent')]);
  return stampNewPrescription(mr, practitionerRef(p), ctx.now);
}

export const rules: ServiceRule[] = [
  {
    service: 'medication',
    beforeWrite(resource, action, ctx) {
      switch (resource.resourceType) {
        case 'MedicationRequest':
          return prescriptionWrite(resource, action, ctx);
        case 'MedicationDispense':
          if (!isWithin(ctx, 'dispense')) throw forbidden('dispense-via-operation', 'Dispenses are recorded with POST MedicationRequest/<id>/$dispense, which counts what is left', 'MedicationDispense');
          return resource;
        case 'List':
        case 'MedicationStatement':
          // Only the PLL and its entries; other lists and statements are ordinary record data.
          if (!isPllList(resource) && !isPllEntry(resource) && !resource.id?.startsWith('pll-')) return resource;
          practitionerIn(ctx, SETTINGS.pllCategories, 'pll-doctors-only', 'Changing the medication list (PLL)');
          if (!isWithin(ctx, 'pll')) throw forbidden('pll-via-operation', 'The medication list is changed with POST /fhir/$medication-list (reconciliation) and its pause/resume operations', resource.resourceType);
          return resource;
        default:
          return resource;
      }
    },
  },
];
