import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

/**
 * Patients in the shape today's Synthea (3.x) exports them, made afresh on every call: the shared
 * set (../shared/data/synthea) is an older export, without what newer ones have. Newer exports put
 * the region's organisations, locations and practitioners in batch bundles created with
 * `ifNoneExist`, refer to them from the patient bundles by conditional references
 * (`Practitioner?identifier=…us-npi|…`), carry US Core profiles the server does not hold, clinical
 * notes as DocumentReferences and DiagnosticReports with base64 text, contained resources in
 * ExplanationOfBenefit, and Provenance, Device, Medication, MedicationAdministration, CareTeam,
 * SupplyDelivery and ImagingStudy resources. Written from Synthea's documented output format; no
 * Synthea file is copied.
 */
export interface ModernSyntheaSet {
  /** Batch bundles of shared resources, to load first: organisations and locations, then practitioners. */
  shared: Bundle[];
  patients: Bundle[];
  /** Resources per type the set creates (shared ones once). */
  counts: Record<string, number>;
}

const SYNTHEA = 'https://github.com/synthetichealth/synthea';
const NPI = 'http://hl7.org/fhir/sid/us-npi';
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';

const text64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const cc = (system: string, code: string, display: string) => ({ coding: [{ system, code, display }], text: display });

export function modernSyntheaSet(patientCount: number): ModernSyntheaSet {
  const counts: Record<string, number> = {};
  const count = (r: Resource) => (counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1);
  const orgId = randomUUID();
  const locId = randomUUID();
  const npi = String(9_000_000_000 + Math.floor(Math.random() * 999_999_999));
  const orgRef = { reference: `Organization?identifier=${SYNTHEA}|${orgId}`, display: 'NORDRE VIK LEGESENTER' };
  const locRef = { reference: `Location?identifier=${SYNTHEA}|${locId}`, display: 'NORDRE VIK LEGESENTER' };
  const practRef = { reference: `Practitioner?identifier=${NPI}|${npi}`, display: 'Dr. Solveig Aas' };
  const created = (resource: Resource, ifNoneExist: string): BundleEntry => {
    count(resource);
    return { fullUrl: `urn:uuid:${resource.id}`, resource, request: { method: 'POST', url: resource.resourceType, ifNoneExist } };
  };
  const organization = {
    resourceType: 'Organization',
    id: orgId,
    meta: { profile: [`${US_CORE}/us-core-organization`] },
    extension: [{ url: 'http://synthetichealth.github.io/synthea/utilization-encounters-extension', valueInteger: 42 }],
    identifier: [{ system: SYNTHEA, value: orgId }],
    active: true,
    type: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: 'prov', display: 'Healthcare Provider' }], text: 'Healthcare Provider' }],
    name: 'NORDRE VIK LEGESENTER',
    telecom: [{ system: 'phone', value: '5085551234' }],
    address: [{ line: ['1 MAIN ST'], city: 'BOSTON', state: 'MA', postalCode: '02118', country: 'US' }],
  } as Resource;
  const location = {
    resourceType: 'Location',
    id: locId,
    meta: { profile: [`${US_CORE}/us-core-location`] },
    identifier: [{ system: SYNTHEA, value: locId }],
    status: 'active',
    name: 'NORDRE VIK LEGESENTER',
    telecom: [{ system: 'phone', value: '5085551234' }],
    address: { line: ['1 MAIN ST'], city: 'BOSTON', state: 'MA', postalCode: '02118', country: 'US' },
    position: { longitude: -71.0726, latitude: 42.3352 },
    managingOrganization: orgRef,
  } as Resource;
  const practitioner = {
    resourceType: 'Practitioner',
    id: randomUUID(),
    meta: { profile: [`${US_CORE}/us-core-practitioner`] },
    extension: [{ url: 'http://synthetichealth.github.io/synthea/utilization-encounters-extension', valueInteger: 17 }],
    identifier: [{ system: NPI, value: npi }],
    active: true,
    name: [{ family: 'Aas', given: ['Solveig'], prefix: ['Dr.'] }],
    telecom: [{ extension: [{ url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-direct', valueBoolean: true }], system: 'email', value: 'solveig.aas@example.com', use: 'work' }],
    address: [{ line: ['1 MAIN ST'], city: 'BOSTON', state: 'MA', postalCode: '02118', country: 'US' }],
    gender: 'female',
  } as Resource;
  const role = {
    resourceType: 'PractitionerRole',
    id: randomUUID(),
    meta: { profile: [`${US_CORE}/us-core-practitionerrole`] },
    practitioner: practRef,
    organization: orgRef,
    code: [cc('http://nucc.org/provider-taxonomy', '208D00000X', 'General Practice')],
    specialty: [cc('http://nucc.org/provider-taxonomy', '208D00000X', 'General Practice')],
    location: [locRef],
    telecom: [{ system: 'phone', value: '5085551234' }],
  } as Resource;
  const shared: Bundle[] = [
    {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [created(organization, `identifier=${SYNTHEA}|${orgId}`), created(location, `identifier=${SYNTHEA}|${locId}`)],
    },
    {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [created(practitioner, `identifier=${NPI}|${npi}`), created(role, `practitioner.identifier=${NPI}|${npi}`)],
    },
  ];
  const patients = Array.from({ length: patientCount }, (_, i) => patientBundle(i, { orgRef, locRef, practRef }, count));
  return { shared, patients, counts };
}

function patientBundle(n: number, refs: Record<'orgRef' | 'locRef' | 'practRef', { reference: string; display: string }>, count: (r: Resource) => void): Bundle {
  const { orgRef, locRef, practRef } = refs;
  const entries: BundleEntry[] = [];
  const add = (r: Record<string, unknown>): { reference: string } => {
    const resource = { id: randomUUID(), ...r } as Resource;
    count(resource);
    entries.push({ fullUrl: `urn:uuid:${resource.id}`, resource, request: { method: 'POST', url: resource.resourceType } });
    return { reference: `urn:uuid:${resource.id}` };
  };
  const day = new Date(Date.UTC(1990 + (n % 30), n % 12, 1 + (n % 27), 9, 30));
  const at = (minutes: number) => new Date(day.getTime() + minutes * 60_000).toISOString().replace('Z', '-05:00').replace(/\.\d{3}/, '');
  const patient = add({
    resourceType: 'Patient',
    meta: { profile: [`${US_CORE}/us-core-patient`] },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Generated by <a href="https://github.com/synthetichealth/synthea">Synthea</a>.</div>' },
    extension: [
      {
        url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
        extension: [
          { url: 'ombCategory', valueCoding: { system: 'urn:oid:2.16.840.1.113883.6.238', code: '2106-3', display: 'White' } },
          { url: 'text', valueString: 'White' },
        ],
      },
      { url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName', valueString: 'Kari Nordmann' },
      { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: n % 2 ? 'F' : 'M' },
      { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Boston', state: 'Massachusetts', country: 'US' } },
      { url: 'http://synthetichealth.github.io/synthea/disability-adjusted-life-years', valueDecimal: 0.0123 },
      { url: 'http://synthetichealth.github.io/synthea/quality-adjusted-life-years', valueDecimal: 33.98 },
    ],
    identifier: [
      { system: SYNTHEA, value: randomUUID() },
      { type: cc('http://terminology.hl7.org/CodeSystem/v2-0203', 'MR', 'Medical Record Number'), system: 'http://hospital.smarthealthit.org', value: randomUUID() },
      { type: cc('http://terminology.hl7.org/CodeSystem/v2-0203', 'SS', 'Social Security Number'), system: 'http://hl7.org/fhir/sid/us-ssn', value: `999-${10 + (n % 89)}-${1000 + n}` },
    ],
    name: [{ use: 'official', family: `Hansen${n}`, given: [`Ola${n}`], prefix: ['Mr.'] }],
    telecom: [{ system: 'phone', value: '555-123-4567', use: 'home' }],
    gender: n % 2 ? 'female' : 'male',
    birthDate: `19${50 + (n % 40)}-0${1 + (n % 9)}-1${n % 10}`,
    address: [
      {
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/geolocation',
            extension: [
              { url: 'latitude', valueDecimal: 42.2 },
              { url: 'longitude', valueDecimal: -71.1 },
            ],
          },
        ],
        line: ['12 Sjøgata'],
        city: 'Boston',
        state: 'MA',
        postalCode: '02110',
        country: 'US',
      },
    ],
    maritalStatus: cc('http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', 'M', 'Married'),
    multipleBirthBoolean: false,
    communication: [{ language: cc('urn:ietf:bcp:47', 'en-US', 'English (United States)') }],
  });
  const encounter = add({
    resourceType: 'Encounter',
    meta: { profile: [`${US_CORE}/us-core-encounter`] },
    identifier: [{ use: 'official', system: SYNTHEA, value: randomUUID() }],
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    type: [cc(SNOMED, '185349003', 'Encounter for check up (procedure)')],
    subject: patient,
    participant: [
      {
        type: [cc('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'PPRF', 'primary performer')],
        period: { start: at(0), end: at(15) },
        individual: practRef,
      },
    ],
    period: { start: at(0), end: at(15) },
    location: [{ location: locRef }],
    serviceProvider: orgRef,
  });
  const condition = add({
    resourceType: 'Condition',
    meta: { profile: [`${US_CORE}/us-core-condition-encounter-diagnosis`] },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis', display: 'Encounter Diagnosis' }] }],
    code: cc(SNOMED, '59621000', 'Essential hypertension (disorder)'),
    subject: patient,
    encounter,
    onsetDateTime: at(10),
    recordedDate: at(10),
  });
  // An Observation as Synthea writes them: category, code, the patient and encounter, times to the millisecond.
  const observation = (category: string, code: ReturnType<typeof cc>, minutes: number, rest: Record<string, unknown>) =>
    add({
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] }],
      code,
      subject: patient,
      encounter,
      effectiveDateTime: at(minutes),
      issued: `${at(minutes).slice(0, 19)}.512-05:00`,
      ...rest,
    });
  const mmHg = (value: number) => ({ value, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
  observation('vital-signs', cc(LOINC, '85354-9', 'Blood pressure panel with all children optional'), 5, {
    meta: { profile: ['http://hl7.org/fhir/StructureDefinition/bp', `${US_CORE}/us-core-blood-pressure`] },
    component: [
      { code: cc(LOINC, '8462-4', 'Diastolic Blood Pressure'), valueQuantity: mmHg(82) },
      { code: cc(LOINC, '8480-6', 'Systolic Blood Pressure'), valueQuantity: mmHg(131) },
    ],
  });
  const glucose = observation('laboratory', cc(LOINC, '2339-0', 'Glucose [Mass/volume] in Blood'), 6, {
    meta: { profile: [`${US_CORE}/us-core-observation-lab`] },
    valueQuantity: { value: 95.3, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
  });
  observation('survey', cc(LOINC, '72166-2', 'Tobacco smoking status'), 6, { valueCodeableConcept: cc(SNOMED, '266919005', 'Never smoked tobacco (finding)') });
  add({
    resourceType: 'DiagnosticReport',
    meta: { profile: [`${US_CORE}/us-core-diagnosticreport-lab`] },
    status: 'final',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0074', code: 'LAB', display: 'Laboratory' }] }],
    code: cc(LOINC, '51990-0', 'Basic metabolic panel - Blood'),
    subject: patient,
    encounter,
    effectiveDateTime: at(6),
    issued: `${at(6).slice(0, 19)}.512-05:00`,
    performer: [orgRef],
    result: [glucose],
  });
  const note = `${day.toISOString().slice(0, 10)}\n\n# Chief Complaint\nNo complaints.\n\n# Assessment and Plan\nPatient is presenting with essential hypertension (disorder).\n`;
  const loincNote = [
    { system: LOINC, code: '34117-2', display: 'History and physical note' },
    { system: LOINC, code: '51847-2', display: 'Evaluation + Plan note' },
  ];
  add({
    resourceType: 'DiagnosticReport',
    meta: { profile: [`${US_CORE}/us-core-diagnosticreport-note`] },
    status: 'final',
    category: [{ coding: loincNote }],
    code: { coding: loincNote },
    subject: patient,
    encounter,
    effectiveDateTime: at(0),
    issued: `${at(0).slice(0, 19)}.471-05:00`,
    performer: [practRef],
    presentedForm: [{ contentType: 'text/plain; charset=utf-8', data: text64(note) }],
  });
  add({
    resourceType: 'DocumentReference',
    meta: { profile: [`${US_CORE}/us-core-documentreference`] },
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` }],
    status: 'superseded',
    type: { coding: loincNote },
    category: [{ coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category', code: 'clinical-note', display: 'Clinical Note' }] }],
    subject: patient,
    date: `${at(0).slice(0, 19)}.290-05:00`,
    author: [practRef],
    custodian: orgRef,
    content: [
      {
        attachment: { contentType: 'text/plain; charset=utf-8', data: text64(note) },
        format: { system: 'http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode', code: 'urn:ihe:iti:xds:2017:mimeTypeSufficient', display: 'mimeType Sufficient' },
      },
    ],
    context: { encounter: [encounter], period: { start: at(0), end: at(15) } },
  });
  const medication = add({
    resourceType: 'Medication',
    meta: { profile: [`${US_CORE}/us-core-medication`] },
    code: cc('http://www.nlm.nih.gov/research/umls/rxnorm', '314076', 'lisinopril 10 MG Oral Tablet'),
    status: 'active',
  });
  const request = add({
    resourceType: 'MedicationRequest',
    meta: { profile: [`${US_CORE}/us-core-medicationrequest`] },
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/medicationrequest-category', code: 'community', display: 'Community' }], text: 'Community' }],
    medicationReference: medication,
    subject: patient,
    encounter,
    authoredOn: at(12),
    requester: practRef,
    reasonReference: [condition],
    dosageInstruction: [{ sequence: 1, timing: { repeat: { frequency: 1, period: 1, periodUnit: 'd' } }, asNeededBoolean: false, doseAndRate: [{ type: cc('http://terminology.hl7.org/CodeSystem/dose-rate-type', 'ordered', 'Ordered'), doseQuantity: { value: 1 } }] }],
  });
  add({
    resourceType: 'MedicationAdministration',
    status: 'completed',
    medicationCodeableConcept: cc('http://www.nlm.nih.gov/research/umls/rxnorm', '314076', 'lisinopril 10 MG Oral Tablet'),
    subject: patient,
    context: encounter,
    effectiveDateTime: at(13),
    reasonReference: [condition],
    request,
  });
  // What a Claim and its ExplanationOfBenefit share.
  const billing = {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient,
    billablePeriod: { start: at(0), end: at(15) },
    created: at(15),
  };
  add({
    resourceType: 'Claim',
    status: 'active',
    ...billing,
    provider: orgRef,
    priority: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }] },
    facility: locRef,
    insurance: [{ sequence: 1, focal: true, coverage: { display: 'Medicaid' } }],
    item: [{ sequence: 1, productOrService: cc(SNOMED, '185349003', 'Encounter for check up (procedure)'), encounter: [encounter] }],
    total: { value: 136.8, currency: 'USD' },
  });
  add({
    resourceType: 'ExplanationOfBenefit',
    contained: [
      { resourceType: 'ServiceRequest', id: 'referral', status: 'completed', intent: 'order', subject: patient, requester: practRef, performer: [practRef] },
      { resourceType: 'Coverage', id: 'coverage', status: 'active', type: { text: 'Medicaid' }, beneficiary: patient, payor: [{ display: 'Medicaid' }] },
    ],
    identifier: [{ system: 'https://bluebutton.cms.gov/resources/variables/clm_id', value: randomUUID() }],
    status: 'active',
    ...billing,
    insurer: { display: 'Medicaid' },
    provider: practRef,
    referral: { reference: '#referral' },
    outcome: 'complete',
    careTeam: [{ sequence: 1, provider: practRef, role: cc('http://terminology.hl7.org/CodeSystem/claimcareteamrole', 'primary', 'Primary Care Practitioner') }],
    insurance: [{ focal: true, coverage: { reference: '#coverage', display: 'Medicaid' } }],
    item: [{ sequence: 1, productOrService: cc(SNOMED, '185349003', 'Encounter for check up (procedure)'), servicedPeriod: { start: at(0), end: at(15) }, locationCodeableConcept: cc('http://terminology.hl7.org/CodeSystem/ex-serviceplace', '19', 'Off Campus-Outpatient Hospital'), encounter: [encounter] }],
    total: [{ category: cc('http://terminology.hl7.org/CodeSystem/adjudication', 'submitted', 'Submitted Amount'), amount: { value: 136.8, currency: 'USD' } }],
    payment: { amount: { value: 0, currency: 'USD' } },
  });
  add({
    resourceType: 'Immunization',
    meta: { profile: [`${US_CORE}/us-core-immunization`] },
    status: 'completed',
    vaccineCode: cc('http://hl7.org/fhir/sid/cvx', '140', 'Influenza, seasonal, injectable, preservative free'),
    patient,
    encounter,
    occurrenceDateTime: at(10),
    primarySource: true,
    location: locRef,
  });
  add({
    resourceType: 'Procedure',
    meta: { profile: [`${US_CORE}/us-core-procedure`] },
    status: 'completed',
    code: cc(SNOMED, '430193006', 'Medication Reconciliation (procedure)'),
    subject: patient,
    encounter,
    performedPeriod: { start: at(1), end: at(4) },
    location: locRef,
  });
  add({
    resourceType: 'Device',
    meta: { profile: [`${US_CORE}/us-core-implantable-device`] },
    udiCarrier: [{ deviceIdentifier: '26085476419286', carrierHRF: '(01)26085476419286(11)900101(17)900115(10)1234(21)5678' }],
    status: 'active',
    distinctIdentifier: '26085476419286',
    manufactureDate: at(0),
    expirationDate: at(20_000),
    lotNumber: '1234',
    serialNumber: '5678',
    deviceName: [{ name: 'Blood glucose meter (physical object)', type: 'user-friendly-name' }],
    type: cc(SNOMED, '337414009', 'Blood glucose meters (physical object)'),
    patient,
  });
  add({
    resourceType: 'SupplyDelivery',
    status: 'completed',
    patient,
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/supply-item-type', code: 'device', display: 'Device' }] },
    suppliedItem: { quantity: { value: 2 }, itemCodeableConcept: cc(SNOMED, '337388004', 'Blood glucose testing strips (physical object)') },
    occurrenceDateTime: at(14),
  });
  add({
    resourceType: 'ImagingStudy',
    identifier: [{ use: 'official', system: 'urn:ietf:rfc:3986', value: `urn:oid:1.2.840.99999999.${n}.${Date.now()}` }],
    status: 'available',
    subject: patient,
    encounter,
    started: at(2),
    numberOfSeries: 1,
    numberOfInstances: 1,
    procedureCode: [cc(SNOMED, '399208008', 'Plain chest X-ray (procedure)')],
    location: locRef,
    series: [
      {
        uid: `1.2.840.99999999.1.${n}`,
        number: 1,
        modality: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'DX', display: 'Digital Radiography' },
        numberOfInstances: 1,
        bodySite: { system: SNOMED, code: '51185008', display: 'Thoracic structure (body structure)' },
        started: at(2),
        instance: [{ uid: `1.2.840.99999999.1.1.${n}`, sopClass: { system: 'urn:ietf:rfc:3986', code: 'urn:oid:1.2.840.10008.5.1.4.1.1.1.1' }, number: 1, title: 'Image of chest' }],
      },
    ],
  });
  const careTeam = add({
    resourceType: 'CareTeam',
    meta: { profile: [`${US_CORE}/us-core-careteam`] },
    status: 'active',
    subject: patient,
    encounter,
    period: { start: at(0) },
    participant: [
      { role: [cc(SNOMED, '116154003', 'Patient')], member: patient },
      { role: [cc(SNOMED, '223366009', 'Healthcare professional (occupation)')], member: practRef },
      { role: [cc(SNOMED, '224891009', 'Healthcare services (qualifier value)')], member: orgRef },
    ],
    reasonCode: [cc(SNOMED, '59621000', 'Essential hypertension (disorder)')],
    managingOrganization: [orgRef],
  });
  add({
    resourceType: 'CarePlan',
    meta: { profile: [`${US_CORE}/us-core-careplan`] },
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Care Plan for Hypertension.</div>' },
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ system: 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category', code: 'assess-plan' }] }, cc(SNOMED, '443402002', 'Lifestyle education regarding hypertension (procedure)')],
    subject: patient,
    encounter,
    period: { start: at(0) },
    careTeam: [careTeam],
    addresses: [condition],
    activity: [{ detail: { code: cc(SNOMED, '386463000', 'Prescribed activity/exercise education (procedure)'), status: 'in-progress', location: locRef } }],
  });
  add({
    resourceType: 'Provenance',
    meta: { profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-provenance'] },
    target: entries.map((e) => ({ reference: e.fullUrl! })),
    recorded: at(20),
    agent: [
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'author', display: 'Author' }], text: 'Author' },
        who: practRef,
        onBehalfOf: orgRef,
      },
      {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code: 'transmitter', display: 'Transmitter' }], text: 'Transmitter' },
        who: practRef,
        onBehalfOf: orgRef,
      },
    ],
  });
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
