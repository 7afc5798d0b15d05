import type { CodeableConcept, MedicationRequest, OperationOutcomeIssue, Reference, Resource } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcome.ts';
import { entryNamedBy } from './catalogue.ts';
import { SETTINGS } from './settings.ts';
import { PRESCRIPTION_ID_SYSTEM, REMAINING_DISPENSES_EXT } from './terms.ts';

/** E-prescriptions (MedicationRequest) as this service keeps them: the rules that need no database. */

/** How many times a prescription may be dispensed: the first dispense plus numberOfRepeatsAllowed. */
export function allowedDispenses(mr: MedicationRequest): number {
  return (mr.dispenseRequest?.numberOfRepeatsAllowed ?? 0) + 1;
}

export function remainingDispenses(mr: MedicationRequest): number {
  const ext = mr.extension?.find((e) => e.url === REMAINING_DISPENSES_EXT);
  return ext?.valueUnsignedInt ?? ext?.valueInteger ?? allowedDispenses(mr);
}

export function withRemaining(mr: MedicationRequest, remaining: number): MedicationRequest {
  const others = (mr.extension ?? []).filter((e) => e.url !== REMAINING_DISPENSES_EXT);
  return { ...mr, extension: [...others, { url: REMAINING_DISPENSES_EXT, valueUnsignedInt: remaining }] };
}

export function prescriptionIdOf(mr: MedicationRequest): string | undefined {
  return mr.identifier?.find((i) => i.system === PRESCRIPTION_ID_SYSTEM)?.value;
}

export const isEPrescription = (r: Resource): r is MedicationRequest => r.resourceType === 'MedicationRequest' && !!prescriptionIdOf(r);

/** Issues when medication[x] does not name a catalogue entry. `at` is the FHIRPath of the resource. */
export function catalogueIssues(r: { medicationReference?: any; medicationCodeableConcept?: any }, at: string): OperationOutcomeIssue[] {
  if (entryNamedBy(r)) return [];
  return [
    issue(
      'code-invalid',
      'medication-not-in-catalogue',
      'The medication must name an entry of the medication catalogue: medicationReference Medication/<fest id>, or a CodeableConcept with the FEST id or an ATC code of the catalogue (GET /fhir/Medication lists it)',
      `${at}.medication`
    ),
  ];
}

/**
 * medication[x] with the catalogue's name as display, so that readers who cannot read the catalogue
 * (citizens see only their own compartment) still see what the drug is.
 */
export function named<T extends { medicationReference?: Reference<any>; medicationCodeableConcept?: CodeableConcept }>(r: T): Partial<T> {
  const entry = entryNamedBy(r);
  if (!entry) return {};
  if (r.medicationReference) return { medicationReference: { ...r.medicationReference, display: entry.name } } as Partial<T>;
  return { medicationCodeableConcept: { ...r.medicationCodeableConcept, text: r.medicationCodeableConcept?.text ?? entry.name } } as Partial<T>;
}

/** Why a prescription cannot be dispensed now, or undefined. */
export function notDispensableReason(mr: MedicationRequest, now: Date): { code: string; message: string } | undefined {
  if (mr.status !== 'active') return { code: 'prescription-not-active', message: `The prescription is ${mr.status}: it cannot be dispensed` };
  const v = mr.dispenseRequest?.validityPeriod;
  if (v?.start && Date.parse(v.start) > now.getTime()) return { code: 'prescription-not-yet-valid', message: `The prescription is valid from ${v.start}` };
  if (v?.end && endOfDay(v.end) < now.getTime()) return { code: 'prescription-expired', message: `The prescription expired on ${v.end}: no dispensing after its validity` };
  if (remainingDispenses(mr) <= 0) return { code: 'no-dispenses-left', message: 'Every dispense of this prescription has been made' };
  return undefined;
}

/** An active prescription that can still be dispensed (not expired, dispenses left). */
export const isCurrent = (mr: MedicationRequest, now: Date) => !notDispensableReason(mr, now);

/** A date (YYYY-MM-DD) counts to its end; a dateTime is exact. */
function endOfDay(d: string): number {
  return d.length === 10 ? Date.parse(`${d}T23:59:59.999Z`) : Date.parse(d);
}

/**
 * A new prescription as stored: the server's prescription id, the prescriber, validity (default
 * from the settings), and the dispense counter. `prescriber` is the doctor of the token.
 */
export function stampNewPrescription(mr: MedicationRequest, prescriber: Reference<any>, now: Date): MedicationRequest {
  const today = now.toISOString().slice(0, 10);
  const end = new Date(now.getTime() + SETTINGS.defaultValidityDays * 86_400_000).toISOString().slice(0, 10);
  const validity = mr.dispenseRequest?.validityPeriod ?? {};
  const stamped: MedicationRequest = {
    ...mr,
    ...named(mr),
    identifier: [...(mr.identifier ?? []).filter((i) => i.system !== PRESCRIPTION_ID_SYSTEM), { system: PRESCRIPTION_ID_SYSTEM, value: mr.id }],
    authoredOn: mr.authoredOn ?? now.toISOString(),
    requester: prescriber,
    dispenseRequest: { ...mr.dispenseRequest, validityPeriod: { start: validity.start ?? today, end: validity.end ?? end } },
  };
  return withRemaining(stamped, allowedDispenses(stamped));
}
