import type { CodeableConcept, Coding } from '@medplum/fhirtypes';

/**
 * The analytes of the synthetic lab histories: NLK (Norsk laboratoriekodeverk, NPU codes) and
 * LOINC codings, units and adult reference ranges as Norwegian laboratories commonly report them.
 * Synthetic data only; check codes against the published NLK before relying on them elsewhere.
 */
export const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';
export const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';

export interface Analyte {
  key: string;
  nlk?: { code: string; display: string };
  loinc: { code: string; display: string };
  unit: string;
  ucum: string;
  decimals: number;
  /** Reference range by sex; `high` only for upper-bounded analytes. */
  range: { female: [number | undefined, number | undefined]; male: [number | undefined, number | undefined] };
}

export const ANALYTES: Record<string, Analyte> = {
  hb: { key: 'hb', loinc: { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood' }, unit: 'g/dL', ucum: 'g/dL', decimals: 1, range: { female: [11.7, 15.3], male: [13.4, 17.0] } },
  hba1c: { key: 'hba1c', nlk: { code: 'NPU27300', display: 'B—Hemoglobin A1c(IFCC); substansfraksjon' }, loinc: { code: '59261-8', display: 'Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol' }, unit: 'mmol/mol', ucum: 'mmol/mol', decimals: 0, range: { female: [20, 42], male: [20, 42] } },
  creatinine: { key: 'creatinine', nlk: { code: 'NPU18016', display: 'P—Kreatininium; substanskonsentrasjon' }, loinc: { code: '14682-9', display: 'Creatinine [Moles/volume] in Serum or Plasma' }, unit: 'µmol/L', ucum: 'umol/L', decimals: 0, range: { female: [45, 90], male: [60, 105] } },
  egfr: { key: 'egfr', loinc: { code: '62238-1', display: 'Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)' }, unit: 'mL/min/1,73m²', ucum: 'mL/min/{1.73_m2}', decimals: 0, range: { female: [60, undefined], male: [60, undefined] } },
  alat: { key: 'alat', nlk: { code: 'NPU19651', display: 'P—Alaninaminotransferase; katalytisk konsentrasjon' }, loinc: { code: '1742-6', display: 'Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma' }, unit: 'U/L', ucum: 'U/L', decimals: 0, range: { female: [10, 45], male: [10, 70] } },
  cholesterol: { key: 'cholesterol', nlk: { code: 'NPU01566', display: 'P—Kolesterol; substanskonsentrasjon' }, loinc: { code: '14647-2', display: 'Cholesterol [Moles/volume] in Serum or Plasma' }, unit: 'mmol/L', ucum: 'mmol/L', decimals: 1, range: { female: [3.3, 6.9], male: [3.3, 6.9] } },
  crp: { key: 'crp', nlk: { code: 'NPU19748', display: 'P—C-reaktivt protein; massekonsentrasjon' }, loinc: { code: '1988-5', display: 'C reactive protein [Mass/volume] in Serum or Plasma' }, unit: 'mg/L', ucum: 'mg/L', decimals: 0, range: { female: [undefined, 5], male: [undefined, 5] } },
  tsh: { key: 'tsh', nlk: { code: 'NPU03577', display: 'P—Thyreotropin; arbitrær substanskonsentrasjon' }, loinc: { code: '3016-3', display: 'Thyrotropin [Units/volume] in Serum or Plasma' }, unit: 'mIU/L', ucum: 'm[IU]/L', decimals: 2, range: { female: [0.4, 4.0], male: [0.4, 4.0] } },
};

export function analyteCode(a: Analyte): CodeableConcept {
  const coding: Coding[] = [];
  if (a.nlk) coding.push({ system: NLK, code: a.nlk.code, display: a.nlk.display });
  coding.push({ system: LOINC, code: a.loinc.code, display: a.loinc.display });
  return { coding, text: a.loinc.display };
}

/** H, L or N against the range. */
export function flagOf(value: number, [low, high]: [number | undefined, number | undefined]): Coding {
  if (high !== undefined && value > high) return { system: INTERPRETATION, code: 'H', display: 'High' };
  if (low !== undefined && value < low) return { system: INTERPRETATION, code: 'L', display: 'Low' };
  return { system: INTERPRETATION, code: 'N', display: 'Normal' };
}
