import type { Resource } from '@medplum/fhirtypes';
import { join, or, raw, sql, type Sql } from '../store/sql.ts';

/**
 * Which national service each piece of patient data belongs to, and what each service's rules
 * are for representatives, restriction and citizens. This table is the one place other modules
 * (privacy settings, the access policy, the services themselves) ask "which service is this?".
 *
 * A resource may name its service explicitly with a tag in SERVICE_TAG_SYSTEM (e.g. a Condition
 * registered as Kjernejournal critical information); otherwise the first matching row below wins.
 */
export const SERVICE_TAG_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/service';

/**
 * Data a service withholds from the citizen carries this tag: a lab result the requesting clinician
 * blocked, or one shared for quality assurance only (domain.md §4). Code `withheld`.
 */
export const CITIZEN_ACCESS_TAG_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/citizen-access';

/** The confidentiality code a patient-restricted document carries (domain.md §3). */
export const RESTRICTED_SECURITY_CODE = 'NORS';

export type ServiceCode =
  | 'critical-information'
  | 'medication'
  | 'documents'
  | 'lab-results'
  | 'measurements'
  | 'pregnancy'
  | 'appointments'
  | 'person'
  | 'health-record';

export interface ServiceDefinition {
  code: ServiceCode;
  name: { nb: string; en: string };
  /** Resource types whose every instance belongs here (unless tagged or categorised otherwise). */
  types: string[];
  /** Instances of `type` with one of these category codes (any system) belong here; checked before `types`. */
  categorised?: { type: string; categoryCodes: string[] }[];
  /** Parents keep access while the child is 12–15 (domain.md §0: appointments stay visible). */
  parentKeepsAccessAged12to16: boolean;
  /** A parent must live at the child's registered address (Kjernejournal). */
  parentMustShareAddress: boolean;
  /** The citizen may restrict (sperre) it; the person's own identity data is never hidden. */
  restrictable: boolean;
  /** The citizen may reserve against it (no data kept). */
  reservable: boolean;
}

/**
 * The service table. Order matters: more specific rows (with categoryCodes) come before the
 * generic row for the same type. Anything in a patient compartment not listed is 'health-record'.
 */
export const SERVICES: ServiceDefinition[] = [
  {
    code: 'critical-information',
    name: { nb: 'Kritisk informasjon (kjernejournal)', en: 'Critical information (Summary Care Record)' },
    types: ['AllergyIntolerance', 'Flag'],
    parentKeepsAccessAged12to16: false,
    parentMustShareAddress: true,
    restrictable: true,
    reservable: true,
  },
  {
    code: 'medication',
    name: { nb: 'Resepter og legemiddelliste', en: 'Prescriptions and medication list' },
    types: ['MedicationRequest', 'MedicationDispense', 'MedicationStatement', 'MedicationAdministration'],
    parentKeepsAccessAged12to16: false,
    parentMustShareAddress: false,
    restrictable: true,
    reservable: true,
  },
  {
    code: 'documents',
    name: { nb: 'Journaldokumenter', en: 'Journal documents' },
    types: ['DocumentReference', 'DocumentManifest', 'Composition'],
    parentKeepsAccessAged12to16: false,
    parentMustShareAddress: false,
    restrictable: true,
    reservable: true,
  },
  {
    code: 'lab-results',
    name: { nb: 'Prøvesvar', en: 'Lab results' },
    types: ['DiagnosticReport', 'Specimen', 'ServiceRequest'],
    categorised: [{ type: 'Observation', categoryCodes: ['laboratory', 'LAB'] }],
    parentKeepsAccessAged12to16: false,
    parentMustShareAddress: false,
    restrictable: true,
    reservable: true,
  },
  {
    code: 'measurements',
    name: { nb: 'Måledata', en: 'Measurements' },
    types: ['Observation'],
    parentKeepsAccessAged12to16: false,
    parentMustShareAddress: false,
    restrictable: true,
    reservable: true,
  },
  {
    code: 'pregnancy',
    name: { nb: 'Helsekort for gravide', en: 'Pregnancy health card' },
    types: ['QuestionnaireResponse'],
    parentKeepsAccessAged12to16: false,
    parentMustShareAddress: false,
    restrictable: true,
    reservable: false,
  },
  {
    code: 'appointments',
    name: { nb: 'Timeavtaler', en: 'Appointments' },
    types: ['Appointment', 'AppointmentResponse'],
    parentKeepsAccessAged12to16: true,
    parentMustShareAddress: false,
    restrictable: true,
    reservable: false,
  },
  {
    code: 'person',
    name: { nb: 'Personopplysninger', en: 'Personal details' },
    types: ['Patient', 'RelatedPerson', 'Person'],
    parentKeepsAccessAged12to16: true,
    parentMustShareAddress: false,
    restrictable: false,
    reservable: false,
  },
];

const HEALTH_RECORD: ServiceDefinition = {
  code: 'health-record',
  name: { nb: 'Journalopplysninger', en: 'Health record' },
  types: [],
  parentKeepsAccessAged12to16: false,
  parentMustShareAddress: false,
  restrictable: true,
  reservable: false,
};

export const ALL_SERVICES: ServiceDefinition[] = [...SERVICES, HEALTH_RECORD];
export const SERVICE_CODES = ALL_SERVICES.map((s) => s.code);

export function serviceDefinition(code: ServiceCode): ServiceDefinition {
  return ALL_SERVICES.find((s) => s.code === code) ?? HEALTH_RECORD;
}

export function isServiceCode(code: string): code is ServiceCode {
  return (SERVICE_CODES as string[]).includes(code);
}

// Plain loops: this runs for every resource a read, search or write touches.
function categoryCodesOf(resource: any): string[] {
  const categories = Array.isArray(resource.category) ? resource.category : resource.category ? [resource.category] : [];
  const codes: string[] = [];
  for (const c of categories) for (const x of c?.coding ?? []) if (x?.code) codes.push(x.code);
  return codes;
}

/** The service a resource belongs to. */
export function serviceOf(resource: Resource): ServiceCode {
  const tagged = resource.meta?.tag?.find((t) => t.system === SERVICE_TAG_SYSTEM && t.code && isServiceCode(t.code));
  if (tagged) return tagged.code as ServiceCode;
  const categories = categoryCodesOf(resource);
  for (const s of SERVICES)
    for (const c of s.categorised ?? [])
      if (c.type === resource.resourceType && categories.some((x) => c.categoryCodes.includes(x))) return s.code;
  for (const s of SERVICES) if (s.types.includes(resource.resourceType)) return s.code;
  return 'health-record';
}

/** The same decision as serviceOf, as a SQL expression over a `resource` row (alias.type, alias.content). */
export function serviceSql(alias: string): Sql {
  const a = raw(alias);
  const parts: Sql[] = [];
  for (const code of SERVICE_CODES) {
    parts.push(sql`when (${a}.content::jsonb -> 'meta' -> 'tag') @> ${JSON.stringify([{ system: SERVICE_TAG_SYSTEM, code }])}::jsonb then ${code}::text`);
  }
  for (const s of SERVICES)
    for (const c of s.categorised ?? []) {
      const cats = c.categoryCodes.map((code) => sql`(${a}.content::jsonb -> 'category') @> ${JSON.stringify([{ coding: [{ code }] }])}::jsonb`);
      parts.push(sql`when ${a}.type = ${c.type} and ${or(cats)} then ${s.code}::text`);
    }
  for (const s of SERVICES) parts.push(sql`when ${a}.type = any(${s.types}::text[]) then ${s.code}::text`);
  return sql`(case ${join(parts, ' ')} else 'health-record' end)`;
}

/** True when the resource carries the patient-restricted confidentiality label. */
export function hasRestrictedLabel(resource: Resource): boolean {
  return (resource.meta?.security ?? []).some((s) => s.code === RESTRICTED_SECURITY_CODE);
}

export function restrictedLabelSql(alias: string): Sql {
  return sql`coalesce((${raw(alias)}.content::jsonb -> 'meta' -> 'security') @> ${JSON.stringify([{ code: RESTRICTED_SECURITY_CODE }])}::jsonb, false)`;
}

/** True when a service withholds this resource from the citizen. */
export function withheldFromCitizen(resource: Resource): boolean {
  return (resource.meta?.tag ?? []).some((t) => t.system === CITIZEN_ACCESS_TAG_SYSTEM && t.code === 'withheld');
}

export function withheldFromCitizenSql(alias: string): Sql {
  return sql`coalesce((${raw(alias)}.content::jsonb -> 'meta' -> 'tag') @> ${JSON.stringify([{ system: CITIZEN_ACCESS_TAG_SYSTEM, code: 'withheld' }])}::jsonb, false)`;
}
