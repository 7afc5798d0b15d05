/**
 * The URIs of the Norwegian identifier systems, code systems and no-basis extensions the
 * registries use. One place, so the generator, the validator and the lookup agree.
 */
export const SYSTEM = {
  fnr: 'urn:oid:2.16.578.1.12.4.1.4.1',
  dnr: 'urn:oid:2.16.578.1.12.4.1.4.2',
  fhn: 'urn:oid:2.16.578.1.12.4.1.4.3',
  hpr: 'urn:oid:2.16.578.1.12.4.1.4.4',
  orgnr: 'urn:oid:2.16.578.1.12.4.1.4.101',
  resh: 'urn:oid:2.16.578.1.12.4.1.4.102',
  herId: 'urn:oid:2.16.578.1.12.4.1.2',
  kommunenummer: 'https://register.geonorge.no/subregister/sosi-kodelister/kartverket/kommunenummer-alle',
  kommunenummerOid: 'urn:oid:2.16.578.1.12.4.1.1.3402',
  /** Helsepersonellkategori (authorisation category): LE, SP, FA1, FA2, JO, … */
  category9060: 'urn:oid:2.16.578.1.12.4.1.1.9060',
  /** Spesialitet i HPR. */
  speciality7426: 'urn:oid:2.16.578.1.12.4.1.1.7426',
  /** Autorisasjon / lisens (type of HPR approval). */
  approval7704: 'urn:oid:2.16.578.1.12.4.1.1.7704',
  familyRelation: 'http://hl7.no/fhir/CodeSystem/no-basis-family-relation',
  parentalResponsibility: 'http://hl7.no/fhir/CodeSystem/no-basis-parental-responsibility',
  connectionType: 'http://hl7.no/fhir/CodeSystem/no-basis-connection-type',
  // Our own code systems, where no public Norwegian code fits (documented in docs/registries.md).
  addressProtection: 'https://samhandling.dev/fhir/CodeSystem/address-protection',
  powerOfAttorney: 'https://samhandling.dev/fhir/CodeSystem/power-of-attorney',
  organizationKind: 'https://samhandling.dev/fhir/CodeSystem/organization-kind',
  practitionerRoleKind: 'https://samhandling.dev/fhir/CodeSystem/practitioner-role-kind',
} as const;

/** Older URI aliases HL7 Norway's NamingSystems list for the same identifiers. */
export const SYSTEM_ALIASES: Record<string, string> = {
  'http://hl7.no/fhir/NamingSystem/FNR': SYSTEM.fnr,
  'http://hl7.no/fhir/NamingSystem/DNR': SYSTEM.dnr,
  'http://hl7.no/fhir/NamingSystem/FHNR': SYSTEM.fhn,
  'http://hl7.no/fhir/NamingSystem/HPR': SYSTEM.hpr,
};

export const EXT = {
  municipalityCode: 'http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode',
  propertyInformation: 'http://hl7.no/fhir/StructureDefinition/no-basis-propertyinformation',
  addressOfficial: 'http://hl7.no/fhir/StructureDefinition/no-basis-address-official',
  middleName: 'http://hl7.no/fhir/StructureDefinition/no-basis-middlename',
  personReference: 'http://hl7.no/fhir/StructureDefinition/no-basis-relatedperson-person-reference',
  citizenship: 'http://hl7.org/fhir/StructureDefinition/patient-citizenship',
  // Ours (documented in docs/registries.md).
  addressProtection: 'https://samhandling.dev/fhir/StructureDefinition/address-protection',
  gpPeriod: 'https://samhandling.dev/fhir/StructureDefinition/gp-list-period',
} as const;

export const PROFILE = {
  patient: 'http://hl7.no/fhir/ig/StructureDefinition/no-basis-Patient',
  relatedPerson: 'http://hl7.no/fhir/ig/StructureDefinition/no-basis-RelatedPerson',
  practitioner: 'http://hl7.no/fhir/ig/StructureDefinition/no-basis-Practitioner',
  practitionerRole: 'http://hl7.no/fhir/ig/StructureDefinition/no-basis-PractitionerRole',
  organization: 'http://hl7.no/fhir/ig/StructureDefinition/no-basis-Organization',
  endpoint: 'http://hl7.no/fhir/ig/StructureDefinition/no-basis-Endpoint',
} as const;

export const ADDRESS_PROTECTION_LEVELS = ['ugradert', 'klientadresse', 'fortrolig', 'strengt_fortrolig'] as const;
export type AddressProtection = (typeof ADDRESS_PROTECTION_LEVELS)[number];
