import type { Observation, ObservationReferenceRange } from '@medplum/fhirtypes';
import { conceptText, quantityText, tokenOf } from './fhir-format.ts';

export const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
export const LOINC = 'http://loinc.org';

/** `system|code` naming an analyte, NLK first (the Norwegian laboratory code list), then LOINC. */
export const analyteToken = (o: Observation) => tokenOf(o.code, [NLK, LOINC]);

export function trendPath(token: string): string {
  return `/lab-results/trend?code=${encodeURIComponent(token)}`;
}

export function rangeText(r: ObservationReferenceRange[] | undefined): string {
  const range = r?.[0];
  if (!range) return '';
  if (range.low && range.high) return `${range.low.value}–${quantityText(range.high)}`;
  if (range.high) return `< ${quantityText(range.high)}`;
  if (range.low) return `> ${quantityText(range.low)}`;
  return range.text ?? '';
}

/** The flag to show: the result's interpretation, else computed from its range; undefined without either. */
export function flagOf(o: Observation): 'high' | 'low' | 'abnormal' | 'normal' | undefined {
  const code = o.interpretation?.[0]?.coding?.[0]?.code;
  if (code) {
    if (['H', 'HH', 'HU', '>'].includes(code)) return 'high';
    if (['L', 'LL', 'LU', '<'].includes(code)) return 'low';
    if (['A', 'AA', 'POS', 'DET', 'R'].includes(code)) return 'abnormal';
    if (['N', 'NEG', 'ND', 'S'].includes(code)) return 'normal';
  }
  const v = o.valueQuantity?.value;
  const range = o.referenceRange?.[0];
  if (v === undefined || !range) return undefined;
  if (range.high?.value !== undefined && v > range.high.value) return 'high';
  if (range.low?.value !== undefined && v < range.low.value) return 'low';
  return 'normal';
}

export function valueText(o: Observation): string {
  return o.valueQuantity ? quantityText(o.valueQuantity) : o.valueString ?? conceptText(o.valueCodeableConcept) ?? (o.dataAbsentReason ? conceptText(o.dataAbsentReason) : '');
}

export const whenOf = (o: Observation) => o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.issued;
