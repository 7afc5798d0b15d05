import type { AllergyIntolerance, DiagnosticReport, Observation, Resource } from '@medplum/fhirtypes';

/**
 * FHIR data for the portal's browser journeys, written by the test as the administrator
 * (platform.repo.putMany), in the shapes of the shared conventions: lab results are
 * DiagnosticReport + Observation (category laboratory, NLK and LOINC, reference range, interpretation).
 */
const NLK = 'urn:oid:2.16.578.1.12.4.1.1.7280';
const LOINC = 'http://loinc.org';
const LAB = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] };
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

export const ANALYTES = {
  hba1c: { nlk: 'NPU27300', loinc: '59261-8', text: 'HbA1c', unit: 'mmol/mol', low: 20, high: 42 },
  crp: { nlk: 'NPU19748', loinc: '1988-5', text: 'CRP', unit: 'mg/L', low: undefined, high: 5 },
  creatinine: { nlk: 'NPU18016', loinc: '14682-9', text: 'Kreatinin', unit: 'µmol/L', low: 45, high: 90 },
} as const;
export type AnalyteKey = keyof typeof ANALYTES;

export function analyteToken(key: AnalyteKey): string {
  return `${NLK}|${ANALYTES[key].nlk}`;
}

/** A lab report with one result per analyte, taken on `date` (YYYY-MM-DD). */
export function labReport(o: { id: string; patientId: string; date: string; title?: string; values: Partial<Record<AnalyteKey, number>> }): Resource[] {
  const when = `${o.date}T08:30:00+02:00`;
  const observations: Observation[] = Object.entries(o.values).map(([key, value]) => {
    const a = ANALYTES[key as AnalyteKey];
    const flag = a.high !== undefined && value! > a.high ? 'H' : a.low !== undefined && value! < a.low ? 'L' : 'N';
    return {
      resourceType: 'Observation',
      id: `${o.id}-${key}`,
      status: 'final',
      category: [LAB],
      code: { coding: [{ system: NLK, code: a.nlk }, { system: LOINC, code: a.loinc }], text: a.text },
      subject: { reference: `Patient/${o.patientId}` },
      effectiveDateTime: when,
      issued: when,
      valueQuantity: { value, unit: a.unit },
      referenceRange: [{ ...(a.low !== undefined ? { low: { value: a.low, unit: a.unit } } : {}), high: { value: a.high, unit: a.unit } }],
      interpretation: [{ coding: [{ system: INTERPRETATION, code: flag }] }],
    };
  });
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: o.id,
    status: 'final',
    category: [LAB],
    code: { text: o.title ?? 'Blodprøver' },
    subject: { reference: `Patient/${o.patientId}` },
    effectiveDateTime: when,
    issued: when,
    result: observations.map((x) => ({ reference: `Observation/${x.id}` })),
  };
  return [...observations, report];
}

/** A microbiology report: an isolate whose susceptibilities are its members (hasMember). */
export function microbiologyReport(o: { id: string; patientId: string; date: string }): Resource[] {
  const when = `${o.date}T09:00:00+01:00`;
  const base: Pick<Observation, 'resourceType' | 'status' | 'category' | 'subject' | 'effectiveDateTime' | 'issued'> = {
    resourceType: 'Observation',
    status: 'final',
    category: [LAB],
    subject: { reference: `Patient/${o.patientId}` },
    effectiveDateTime: when,
    issued: when,
  };
  const susceptibility = (key: string, loinc: string, text: string, code: 'S' | 'R'): Observation => ({
    ...base,
    id: `${o.id}-${key}`,
    code: { coding: [{ system: LOINC, code: loinc }], text },
    valueCodeableConcept: { coding: [{ system: INTERPRETATION, code }], text: code === 'S' ? 'Følsom' : 'Resistent' },
    interpretation: [{ coding: [{ system: INTERPRETATION, code }] }],
  });
  const members = [susceptibility('amp', '18864-9', 'Ampicillin', 'R'), susceptibility('gen', '18928-2', 'Gentamicin', 'S')];
  const isolate: Observation = {
    ...base,
    id: `${o.id}-isolate`,
    code: { coding: [{ system: LOINC, code: '11475-1' }], text: 'Påvist mikroorganisme' },
    valueCodeableConcept: { text: 'Escherichia coli' },
    hasMember: members.map((m) => ({ reference: `Observation/${m.id}` })),
  };
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    id: o.id,
    status: 'final',
    category: [LAB],
    code: { text: 'Urindyrkning' },
    subject: { reference: `Patient/${o.patientId}` },
    effectiveDateTime: when,
    issued: when,
    result: [{ reference: `Observation/${isolate.id}` }],
  };
  return [...members, isolate, report];
}

/** A drug reaction in the shape of the critical-information service (KjAllergyIntolerance). */
export function drugReaction(o: { id: string; patientId: string; text: string; atc: string; practitionerId?: string; validUntil?: string }): AllergyIntolerance {
  return {
    resourceType: 'AllergyIntolerance',
    id: o.id,
    meta: { profile: ['https://samhandling.dev/fhir/StructureDefinition/KjAllergyIntolerance'] },
    ...(o.validUntil ? { extension: [{ url: 'https://samhandling.dev/fhir/StructureDefinition/kj-valid-until', valueDateTime: o.validUntil }] } : {}),
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code: 'confirmed' }] },
    category: ['medication'],
    code: { coding: [{ system: 'http://www.whocc.no/atc', code: o.atc }], text: o.text },
    patient: { reference: `Patient/${o.patientId}` },
    recordedDate: '2024-03-01',
    ...(o.practitionerId ? { recorder: { reference: `Practitioner/${o.practitionerId}` } } : {}),
  };
}

/** A journal document whose PDF the documents service renders itself (its synthetic-content tag), so ITI-68 serves real bytes. */
export function journalDocument(o: { id: string; patientId: string; date: string; title: string }): Resource {
  return {
    resourceType: 'DocumentReference',
    id: o.id,
    meta: { tag: [{ system: 'https://samhandling.dev/fhir/CodeSystem/document-content', code: 'generated' }] },
    status: 'current',
    docStatus: 'final',
    type: { coding: [{ system: LOINC, code: '18842-5', display: 'Discharge summary' }], text: 'Epikrise' },
    category: [{ coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9602', code: 'A00-1', display: 'Epikriser og sammenfatninger' }] }],
    subject: { reference: `Patient/${o.patientId}` },
    date: `${o.date}T10:00:00Z`,
    description: o.title,
    content: [{ attachment: { contentType: 'application/pdf', url: `Binary/${o.id}`, title: o.title, creation: o.date } }],
  } as Resource;
}

/**
 * A medication list (PLL) as the medication service keeps it: List pll-<patient id> whose entries
 * name MedicationStatement versions, one entry with its prescription, one active prescription on
 * no entry (a "løse resept"), one dispense; optionally paused.
 */
export function medication(o: { patientId: string; prefix: string; pausedReason?: string }): Resource[] {
  const simvastatin = { coding: [{ system: 'http://www.whocc.no/atc', code: 'C10AA01', display: 'Simvastatin' }], text: 'Simvastatin 20 mg tablett' };
  const ramipril = { coding: [{ system: 'http://www.whocc.no/atc', code: 'C09AA05', display: 'Ramipril' }], text: 'Ramipril 5 mg tablett' };
  const subject = { reference: `Patient/${o.patientId}` };
  return [
    { resourceType: 'MedicationRequest', id: `${o.prefix}-rx`, status: 'active', intent: 'order', subject, medicationCodeableConcept: simvastatin, authoredOn: '2025-01-15', dosageInstruction: [{ text: '1 tablett om kvelden' }] },
    { resourceType: 'MedicationRequest', id: `${o.prefix}-rx-loose`, status: 'active', intent: 'order', subject, medicationCodeableConcept: ramipril, authoredOn: '2025-05-20', dosageInstruction: [{ text: '1 tablett om morgenen' }] },
    { resourceType: 'MedicationDispense', id: `${o.prefix}-disp`, status: 'completed', subject, medicationCodeableConcept: simvastatin, authorizingPrescription: [{ reference: `MedicationRequest/${o.prefix}-rx` }], quantity: { value: 100, unit: 'tablett' }, whenHandedOver: '2025-01-16T12:00:00Z' },
    { resourceType: 'MedicationStatement', id: `${o.prefix}-ms`, status: 'active', subject, medicationCodeableConcept: simvastatin, effectivePeriod: { start: '2025-01-15' }, dosage: [{ text: '1 tablett om kvelden' }], basedOn: [{ reference: `MedicationRequest/${o.prefix}-rx` }] },
    {
      resourceType: 'List',
      id: `pll-${o.patientId}`,
      status: 'current',
      mode: 'working',
      code: { coding: [{ system: 'https://samhandling.dev/fhir/CodeSystem/list-type', code: 'pll' }] },
      subject,
      date: '2025-01-15T12:00:00Z',
      ...(o.pausedReason
        ? { extension: [{ url: 'https://samhandling.dev/fhir/StructureDefinition/pll-paused', extension: [{ url: 'start', valueDateTime: '2025-05-28T09:00:00Z' }, { url: 'reason', valueString: o.pausedReason }] }] }
        : {}),
      entry: [{ item: { reference: `MedicationStatement/${o.prefix}-ms/_history/1` } }],
    },
  ] as Resource[];
}
