import type { Reference } from '@medplum/fhirtypes';
import type { AccessContext, PatientGrant } from '../../access/policy.ts';
import type { PractitionerPrincipal } from '../../access/principal.ts';
import { badRequest } from '../../fhir/outcome.ts';
import { HPR_SYSTEM } from './terms.ts';

/** The one patient a PLL call is about: `nhn-patient-nin` (or the attestation), or the citizen themself. */
export function patientInContext(ctx: AccessContext): PatientGrant {
  const missing = () => badRequest('patient-context-missing', 'Name the patient with the nhn-patient-nin header', 'nhn-patient-nin');
  if (ctx.patients === 'any') throw missing();
  const p = ctx.principal;
  const nin = p.kind === 'citizen' ? p.onBehalfOf ?? p.nin : p.kind === 'admin' ? undefined : p.patientNin ?? p.attestation?.patients[0];
  const grant = ctx.patients.find((g) => g.nin === nin) ?? (ctx.patients.length === 1 ? ctx.patients[0] : undefined);
  if (!grant) throw missing();
  return grant;
}

/** The practitioner as a reference: the Practitioner resource with the HPR number. */
export function practitionerRef(p: PractitionerPrincipal): Reference<any> {
  const identifier = { system: HPR_SYSTEM, value: p.hpr };
  return p.registry.practitionerId ? { reference: `Practitioner/${p.registry.practitionerId}`, identifier } : { identifier };
}
