import type { AllergyIntolerance, MedicationRequest } from '@medplum/fhirtypes';
import type { PractitionerPrincipal } from '../../access/principal.ts';
import { entryNamedBy } from './catalogue.ts';
import { practitionerRef } from './context.ts';
import { ATC_SYSTEM, KJ_ALLERGY_PROFILE } from './terms.ts';

/**
 * A drug reaction recorded in the prescription flow, as the critical-information record it lands in
 * (Kjernejournal is the single national source of drug reactions, domain.md §1): the doctor's
 * AllergyIntolerance completed with the critical-information profile, category medication, the
 * patient of the prescription, the recording doctor and, when the doctor named no substance, the
 * ATC code of the prescribed drug.
 */
export function drugReactionRecord(input: AllergyIntolerance, prescription: MedicationRequest, doctor: PractitionerPrincipal, now: Date): AllergyIntolerance {
  const drug = entryNamedBy(prescription);
  const profiles = input.meta?.profile ?? [];
  return {
    ...input,
    meta: { ...input.meta, profile: profiles.includes(KJ_ALLERGY_PROFILE) ? profiles : [...profiles, KJ_ALLERGY_PROFILE] },
    clinicalStatus: input.clinicalStatus ?? { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    verificationStatus: input.verificationStatus ?? { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'unconfirmed' }] },
    type: input.type ?? 'allergy',
    category: ['medication'],
    code: input.code ?? (drug?.atc ? { coding: [{ system: ATC_SYSTEM, code: drug.atc, display: drug.substance }], text: drug.substance } : undefined),
    patient: prescription.subject as AllergyIntolerance['patient'],
    recordedDate: input.recordedDate ?? now.toISOString(),
    recorder: practitionerRef(doctor),
  };
}
