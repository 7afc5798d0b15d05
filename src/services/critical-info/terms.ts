import { PHARMACIST_CATEGORIES } from '../../access/principal.ts';
import { SERVICE_TAG_SYSTEM } from '../../access/services.ts';

/**
 * The names the critical-information service (Kjernejournal, "Pasientens kritiske informasjon")
 * gives its profiles, extensions and codes. Kept apart from the profiles themselves so the access
 * rules can use them without loading the R4 definitions.
 */
const SD = 'https://samhandling.dev/fhir/StructureDefinition/';
const CS = 'https://samhandling.dev/fhir/CodeSystem/';

export const PROFILE = {
  AllergyIntolerance: `${SD}KjAllergyIntolerance`,
  Condition: `${SD}KjCondition`,
  Procedure: `${SD}KjProcedure`,
  Flag: `${SD}KjFlag`,
} as const;

export type KjType = keyof typeof PROFILE;
export const KJ_TYPES = Object.keys(PROFILE) as KjType[];

export const isKjType = (type: string): type is KjType => (KJ_TYPES as string[]).includes(type);

export const EXT = {
  /** Sikkerhet (certainty) of a hypersensitivity: unconfirmed | presumed | confirmed | refuted. */
  certainty: `${SD}kj-certainty`,
  /** Gyldig til: after this instant the entry is shown as inactive. */
  validUntil: `${SD}kj-valid-until`,
  /** Who wrote this version (stamped by the server on every version): hpr, organisation, authorisation, client. */
  changedBy: `${SD}kj-changed-by`,
  /** On entries returned by $critical-information: active | inactive, as of the request's time. */
  entryState: `${SD}kj-entry-state`,
} as const;

export const CERTAINTY_SYSTEM = `${CS}kj-certainty`;
/** HIS 1163 categories of critical information, on Condition.category, Procedure.category and Flag.category. */
export const CATEGORY_SYSTEM = `${CS}kj-category`;

export const CERTAINTY = {
  unconfirmed: 'Mistenkt',
  presumed: 'Sannsynlig',
  confirmed: 'Bekreftet',
  refuted: 'Avkreftet',
} as const;

/** The category codes each type may carry (HIS 1163), with their Norwegian names. */
export const CATEGORIES = {
  Condition: {
    'critical-condition': 'Kritisk medisinsk tilstand',
    infection: 'Infeksjon',
    'intubation-problem': 'Intubasjonsproblem',
    'anaesthesia-problem': 'Andre problemer med anestesi',
    'implant-transplant': 'Transplantasjoner og andre fremmedlegemer',
  },
  Procedure: { 'ongoing-treatment': 'Pågående behandling' },
  Flag: { 'procedure-change': 'Andre prosedyreendringer' },
} as const;

export const SERVICE_TAG = { system: SERVICE_TAG_SYSTEM, code: 'critical-information' } as const;

export const ATC_SYSTEM = 'http://www.whocc.no/atc';
export const SNOMED_SYSTEM = 'http://snomed.info/sct';
export const VERIFICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';
export const AUTHORISATION_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9060';

/** Authorisation categories (kodeverk 9060) that may register and change critical information. */
export const REGISTERING_AUTHORISATIONS = ['LE'];
/** Authorisation categories of pharmacy staff: they read drug reactions and nothing else here. */
export const PHARMACY_AUTHORISATIONS = PHARMACIST_CATEGORIES;

/** True when the resource claims its type's critical-information profile. */
export function claimsKjProfile(resource: { resourceType: string; meta?: { profile?: string[] } }): boolean {
  if (!isKjType(resource.resourceType)) return false;
  const wanted = PROFILE[resource.resourceType];
  return (resource.meta?.profile ?? []).some((url) => typeof url === 'string' && url.split('|')[0] === wanted);
}

/** True when the resource says it is critical information with the service tag. */
export function hasServiceTag(resource: { meta?: { tag?: { system?: string; code?: string }[] } }): boolean {
  return (resource.meta?.tag ?? []).some((t) => t.system === SERVICE_TAG.system && t.code === SERVICE_TAG.code);
}
