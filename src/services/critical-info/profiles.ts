import { definitions } from '../../fhir/definitions.ts';
import type { Bundle, ElementDefinition, ElementDefinitionConstraint, StructureDefinition } from '@medplum/fhirtypes';
import { ATC_SYSTEM, CATEGORIES, CATEGORY_SYSTEM, CERTAINTY, CERTAINTY_SYSTEM, EXT, PROFILE, SERVICE_TAG, SNOMED_SYSTEM, VERIFICATION_SYSTEM, type KjType } from './terms.ts';

/**
 * The Norwegian critical-information profiles (KjAllergyIntolerance, KjCondition, KjProcedure,
 * KjFlag) as constraint StructureDefinitions with a snapshot, which is what the validator loads.
 * Each snapshot is the R4 base snapshot with the profile's changes applied, so the two can never
 * disagree; the differential lists only the changes. Rules that cardinality and types cannot say
 * (certainty agreeing with verificationStatus, category codes, the extensions' shape) are
 * invariants (FHIRPath constraints) on the root element, which the validator evaluates.
 */

type ElementChange = Partial<Pick<ElementDefinition, 'min' | 'max' | 'short' | 'type' | 'mustSupport'>>;

interface ProfileSpec {
  type: KjType;
  name: string;
  title: string;
  description: string;
  elements: Record<string, ElementChange>;
  invariants: { key: string; human: string; expression: string }[];
}

const HL7 = 'http://hl7.org/fhir/StructureDefinition/';
const patientOnly = [{ code: 'Reference', targetProfile: [`${HL7}Patient`] }];
const practitionerRecorder = [{ code: 'Reference', targetProfile: [`${HL7}Practitioner`, `${HL7}PractitionerRole`] }];

const ext = (url: string) => `extension.where(url = '${url}')`;
const quoted = (codes: readonly string[]) => codes.map((c) => `'${c}'`).join(' | ');

/** Invariants every critical-information profile carries: its two extensions are well-formed. */
const COMMON_INVARIANTS = [
  {
    key: 'kj-1',
    human: `At most one validUntil (${EXT.validUntil}), a dateTime of at least day precision`,
    expression: `${ext(EXT.validUntil)}.count() <= 1 and ${ext(EXT.validUntil)}.all(value is dateTime and value.toString().length() >= 10)`,
  },
  {
    key: 'kj-2',
    human: `At most one changedBy (${EXT.changedBy}); the server sets it on every version`,
    expression: `${ext(EXT.changedBy)}.count() <= 1`,
  },
];

/** Conditions and Procedures are critical information only when they say so (access/services.ts). */
const TAGGED = {
  key: 'kj-3',
  human: `Carries the service tag ${SERVICE_TAG.system}|${SERVICE_TAG.code}`,
  expression: `meta.tag.where(system = '${SERVICE_TAG.system}' and code = '${SERVICE_TAG.code}').exists()`,
};

const categoryInvariant = (type: 'Condition' | 'Procedure' | 'Flag') => ({
  key: 'kj-4',
  human: `Exactly one category from ${CATEGORY_SYSTEM}: ${Object.keys(CATEGORIES[type]).join(', ')}`,
  expression: `category.coding.where(system = '${CATEGORY_SYSTEM}' and (code in (${quoted(Object.keys(CATEGORIES[type]))}))).count() = 1`,
});

/** The library does not check reference targets, so the profile's narrowed targets are invariants too. */
const refersTo = (key: string, element: string, types: string[]) => ({
  key,
  human: `${element} refers to ${types.join(' or ')}`,
  expression: `${element}.reference.all(matches('^(urn:uuid:|(.*/)?(${types.join('|')})/)'))`,
});
const patientSubject = refersTo('kj-5', 'subject', ['Patient']);
const recordedBy = (element: string) => refersTo('kj-6', element, ['Practitioner', 'PractitionerRole']);

const certainty = `${ext(EXT.certainty)}.value`;
const verification = `verificationStatus.coding.where(system = '${VERIFICATION_SYSTEM}').code`;

const SPECS: ProfileSpec[] = [
  {
    type: 'AllergyIntolerance',
    name: 'KjAllergyIntolerance',
    title: 'Kjernejournal overfølsomhet (legemiddelreaksjon / annen allergi)',
    description:
      'A hypersensitivity in the Summary Care Record: a drug reaction (category medication) or another allergy. ' +
      'Certainty (Mistenkt, Sannsynlig, Bekreftet, Avkreftet) is the kj-certainty extension, consistent with verificationStatus.',
    elements: {
      'AllergyIntolerance.verificationStatus': { min: 1 },
      'AllergyIntolerance.category': { min: 1, max: '1' },
      'AllergyIntolerance.code': { min: 1 },
      'AllergyIntolerance.recorder': { type: practitionerRecorder },
    },
    invariants: [
      {
        key: 'kj-ai-1',
        human: `At most one certainty, a Coding from ${CERTAINTY_SYSTEM}`,
        expression: `${ext(EXT.certainty)}.count() <= 1 and ${certainty}.all($this is Coding and system = '${CERTAINTY_SYSTEM}' and (code in (${quoted(Object.keys(CERTAINTY))})))`,
      },
      {
        key: 'kj-ai-2',
        human: 'Certainty agrees with verificationStatus (unconfirmed and presumed are unconfirmed; entered-in-error overrides)',
        expression:
          `${ext(EXT.certainty)}.empty() or ${verification} = 'entered-in-error'` +
          ` or ((${certainty}.code = 'unconfirmed' or ${certainty}.code = 'presumed') and ${verification} = 'unconfirmed')` +
          ` or (${certainty}.code = 'confirmed' and ${verification} = 'confirmed')` +
          ` or (${certainty}.code = 'refuted' and ${verification} = 'refuted')`,
      },
      {
        key: 'kj-ai-3',
        human: `A drug reaction names the drug or substance coded in ATC (${ATC_SYSTEM}) or SNOMED CT`,
        expression: `category = 'medication' implies code.coding.where(system = '${ATC_SYSTEM}' or system = '${SNOMED_SYSTEM}').exists()`,
      },
      recordedBy('recorder'),
    ],
  },
  {
    type: 'Condition',
    name: 'KjCondition',
    title: 'Kjernejournal kritisk tilstand, infeksjon, anestesiproblem, implantat/transplantat',
    description:
      'Critical medical condition, infection, intubation problem, other problem with anaesthesia, or transplant/foreign body ' +
      '(HIS 1163), told apart by the kj-category code.',
    elements: {
      'Condition.verificationStatus': { min: 1 },
      'Condition.category': { min: 1 },
      'Condition.code': { min: 1 },
      'Condition.subject': { type: patientOnly },
      'Condition.recorder': { type: practitionerRecorder },
    },
    invariants: [
      TAGGED,
      categoryInvariant('Condition'),
      patientSubject,
      recordedBy('recorder'),
      {
        key: 'kj-c-1',
        human: 'clinicalStatus is present unless the entry was withdrawn (entered-in-error, which R4 requires without one)',
        expression: "clinicalStatus.exists() or verificationStatus.coding.where(system = 'http://terminology.hl7.org/CodeSystem/condition-ver-status').code = 'entered-in-error'",
      },
    ],
  },
  {
    type: 'Procedure',
    name: 'KjProcedure',
    title: 'Kjernejournal pågående behandling',
    description: 'Ongoing treatment the next clinician must know about (e.g. dialysis, anticoagulation, chemotherapy).',
    elements: {
      'Procedure.category': { min: 1 },
      'Procedure.code': { min: 1 },
      'Procedure.subject': { type: patientOnly },
      'Procedure.recorder': { type: practitionerRecorder },
    },
    invariants: [TAGGED, categoryInvariant('Procedure'), patientSubject, recordedBy('recorder')],
  },
  {
    type: 'Flag',
    name: 'KjFlag',
    title: 'Kjernejournal andre prosedyreendringer',
    description: 'Other changes of procedure the next clinician must follow (e.g. refuses blood transfusion).',
    elements: {
      'Flag.category': { min: 1 },
      'Flag.subject': { type: patientOnly },
      'Flag.author': { type: practitionerRecorder },
    },
    invariants: [categoryInvariant('Flag'), patientSubject, recordedBy('author')],
  },
];

let baseSnapshots: Map<string, StructureDefinition> | undefined;

function baseDefinition(type: string): StructureDefinition {
  baseSnapshots ??= new Map(
    ((definitions('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>).entry ?? [])
      .map((e) => e.resource as StructureDefinition)
      .filter((sd) => sd.kind === 'resource')
      .map((sd) => [sd.id as string, sd])
  );
  const sd = baseSnapshots.get(type);
  if (!sd) throw new Error(`No R4 definition of ${type}`);
  return sd;
}

function build(spec: ProfileSpec): StructureDefinition {
  const base = baseDefinition(spec.type);
  const url = PROFILE[spec.type];
  const invariants: ElementDefinitionConstraint[] = [...COMMON_INVARIANTS, ...spec.invariants].map((i) => ({ ...i, severity: 'error', source: url }));
  const snapshot = structuredClone(base.snapshot!.element!).map((element) => {
    const change = spec.elements[element.path as string];
    if (element.path === spec.type) return { ...element, constraint: [...(element.constraint ?? []), ...invariants] };
    return change ? { ...element, ...change } : element;
  });
  const differential: ElementDefinition[] = [
    { id: spec.type, path: spec.type, constraint: invariants },
    ...Object.entries(spec.elements).map(([path, change]) => ({ id: path, path, ...change })),
  ];
  return {
    resourceType: 'StructureDefinition',
    id: spec.name,
    url,
    version: '1.0.0',
    name: spec.name,
    title: spec.title,
    status: 'active',
    publisher: 'Samhandling',
    description: spec.description,
    fhirVersion: '4.0.1',
    kind: 'resource',
    abstract: false,
    type: spec.type,
    baseDefinition: `${HL7}${spec.type}`,
    derivation: 'constraint',
    snapshot: { element: snapshot },
    differential: { element: differential },
  };
}

/** The four profiles, built once. */
export const PROFILES: StructureDefinition[] = SPECS.map(build);
