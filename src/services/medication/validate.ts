import type { List, MedicationStatement, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcome.ts';
import { entryNamedBy } from './catalogue.ts';
import { catalogueIssues, isEPrescription } from './prescriptions.ts';
import { LIST_TYPE_SYSTEM, PLL_CODE, PLL_ENTRY_SYSTEM } from './terms.ts';

/** A medication list entry: a MedicationStatement with the PLL entry UUID. */
export const isPllEntry = (r: Resource): r is MedicationStatement =>
  r.resourceType === 'MedicationStatement' && !!r.identifier?.some((i) => i.system === PLL_ENTRY_SYSTEM);

/** The PLL itself: a List coded list-type|pll. */
export const isPllList = (r: Resource): boolean =>
  r.resourceType === 'List' && !!(r as List).code?.coding?.some((c) => c.system === LIST_TYPE_SYSTEM && c.code === PLL_CODE);

/** PLL entries may not be vaccines, foods or consumables (domain.md §2). */
export function pllEntryIssues(s: MedicationStatement, at: string): OperationOutcomeIssue[] {
  const catalogue = catalogueIssues(s, at);
  if (catalogue.length) return catalogue;
  const kind = entryNamedBy(s)!.kind;
  if (kind === 'drug') return [];
  const what = { vaccine: 'vaccines', food: 'foods (næringsmidler)', consumable: 'consumables (forbruksmateriell)' }[kind];
  return [issue('business-rule', 'pll-excluded-product', `The medication list does not hold ${what}: ${entryNamedBy(s)!.name} cannot be an entry`, `${at}.medication`)];
}

/**
 * module.validate: every write of an e-prescription or a PLL entry, whoever writes it (API,
 * import, seeding), must name a catalogue entry. Other MedicationRequests (foreign prescriptions in
 * an IPS, examples) are not e-prescriptions of this service and are left alone.
 */
export function validateMedication(r: Resource): OperationOutcomeIssue[] {
  if (isEPrescription(r)) return catalogueIssues(r, 'MedicationRequest');
  if (isPllEntry(r)) return pllEntryIssues(r, 'MedicationStatement');
  return [];
}
