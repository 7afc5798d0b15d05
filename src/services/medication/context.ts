import type { Reference } from '@medplum/fhirtypes';
import { patientNamedIn, type AccessContext, type PatientGrant } from '../../access/policy.ts';
import type { PractitionerPrincipal } from '../../access/principal.ts';
import { badRequest } from '../../fhir/outcome.ts';
import { HPR_SYSTEM } from './terms.ts';

/** The one patient a medication call is about (policy's patientNamedIn), or a 400 naming the header. */
export function patientInContext(ctx: AccessContext): PatientGrant {
  const grant = patientNamedIn(ctx);
  if (!grant) throw badRequest('patient-context-missing', 'Name the patient with the nhn-patient-nin header', 'nhn-patient-nin');
  return grant;
}

/** The practitioner as a reference: the Practitioner resource with the HPR number. */
export function practitionerRef(p: PractitionerPrincipal): Reference<any> {
  const identifier = { system: HPR_SYSTEM, value: p.hpr };
  return p.registry.practitionerId ? { reference: `Practitioner/${p.registry.practitionerId}`, identifier } : { identifier };
}
