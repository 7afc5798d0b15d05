import type {
  Address,
  Endpoint,
  HumanName,
  Organization,
  Patient,
  Practitioner,
  PractitionerRole,
  RelatedPerson,
} from '@medplum/fhirtypes';
import { EXT, PROFILE, SYSTEM, type AddressProtection } from './systems.ts';
import type { Municipality } from './municipalities.ts';

/**
 * How the registries are represented as FHIR (no-basis profiles); docs/registries.md explains
 * the choices. The generator builds every registry resource here, and lookup.ts reads them back.
 */

export const CATEGORY_9060: Record<string, string> = {
  LE: 'Lege',
  SP: 'Sykepleier',
  FA1: 'Provisorfarmasøyt',
  FA2: 'Reseptarfarmasøyt',
  JO: 'Jordmor',
  BI: 'Bioingeniør',
};

export type OrganizationKind =
  | 'rhf'
  | 'hf'
  | 'hospital'
  | 'department'
  | 'municipality'
  | 'gp-office'
  | 'health-station'
  | 'pharmacy'
  | 'laboratory';

export const ORGANIZATION_KINDS: Record<OrganizationKind, { display: string; hl7: string }> = {
  rhf: { display: 'Regionalt helseforetak', hl7: 'govt' },
  hf: { display: 'Helseforetak', hl7: 'prov' },
  hospital: { display: 'Sykehus', hl7: 'prov' },
  department: { display: 'Sykehusavdeling', hl7: 'dept' },
  municipality: { display: 'Kommune', hl7: 'govt' },
  'gp-office': { display: 'Fastlegekontor', hl7: 'prov' },
  'health-station': { display: 'Helsestasjon', hl7: 'prov' },
  pharmacy: { display: 'Apotek', hl7: 'prov' },
  laboratory: { display: 'Laboratorium', hl7: 'prov' },
};

export interface HomeAddress {
  municipality: Municipality;
  line: string;
  /** gårdsnummer/bruksnummer of the property, as no-basis-propertyinformation carries them */
  cadastralUnit: number;
  propertyUnit: number;
}

export function nameOf(given: string, family: string, middle?: string): HumanName {
  return {
    use: 'official',
    family,
    given: [given],
    ...(middle ? { extension: [{ url: EXT.middleName, valueString: middle }] } : {}),
  };
}

export function homeAddress(a: HomeAddress): Address {
  const m = a.municipality;
  return {
    extension: [
      {
        url: EXT.propertyInformation,
        extension: [
          { url: 'cadastralUnitNumber', valueInteger: a.cadastralUnit },
          { url: 'propertyUnitNumber', valueInteger: a.propertyUnit },
          { url: 'municipality', valueCoding: { system: SYSTEM.kommunenummerOid, code: m.number, display: m.name } },
        ],
      },
      { url: EXT.addressOfficial, valueBoolean: true },
    ],
    use: 'home',
    type: 'physical',
    line: [a.line],
    city: m.postTown,
    district: m.name,
    _district: { extension: [{ url: EXT.municipalityCode, valueCoding: { system: SYSTEM.kommunenummer, code: m.number } }] },
    postalCode: m.postalCode,
    country: 'NO',
  } as Address;
}

/** The municipality number of an address: the no-basis municipality code, else the property information's. */
export function municipalityOf(address: Address): string | undefined {
  const district = (address as any)._district?.extension?.find((e: any) => e.url === EXT.municipalityCode);
  if (district?.valueCoding?.code) return district.valueCoding.code;
  const prop = address.extension?.find((e) => e.url === EXT.propertyInformation);
  return prop?.extension?.find((e) => e.url === 'municipality')?.valueCoding?.code;
}

/**
 * A key equal for people registered at the same address: municipality, street line and postal
 * code, normalised. (The registry's own address identity is not in the FHIR resource.)
 */
export function addressKey(address: Address | undefined): string | undefined {
  if (!address?.line?.length) return undefined;
  const norm = (s: string | undefined) => (s ?? '').trim().toLowerCase().replace(/\s+/g, ' ');
  return [municipalityOf(address) ?? norm(address.city), address.line.map(norm).join(', '), norm(address.postalCode)].join('|');
}

export interface PersonInput {
  id: string;
  nin: string;
  ninSystem?: string;
  given: string;
  family: string;
  middle?: string;
  gender: 'male' | 'female';
  birthDate: string;
  deceasedDate?: string;
  address?: HomeAddress;
  protection: AddressProtection;
  gp?: { roleId: string; display: string; since: string };
}

const PROTECTION_DISPLAY: Record<AddressProtection, string> = {
  ugradert: 'Ugradert',
  klientadresse: 'Klientadresse',
  fortrolig: 'Fortrolig',
  strengt_fortrolig: 'Strengt fortrolig',
};

export function patient(p: PersonInput): Patient {
  return {
    resourceType: 'Patient',
    id: p.id,
    meta: { profile: [PROFILE.patient] },
    extension: [
      {
        url: EXT.addressProtection,
        valueCoding: { system: SYSTEM.addressProtection, code: p.protection, display: PROTECTION_DISPLAY[p.protection] },
      },
    ],
    identifier: [{ use: 'official', system: p.ninSystem ?? SYSTEM.fnr, value: p.nin }],
    active: true,
    name: [nameOf(p.given, p.family, p.middle)],
    gender: p.gender,
    birthDate: p.birthDate,
    ...(p.deceasedDate ? { deceasedDateTime: p.deceasedDate } : {}),
    // A strictly confidential address is never disclosed, so it is not in the resource at all.
    ...(p.address && p.protection !== 'strengt_fortrolig' ? { address: [homeAddress(p.address)] } : {}),
    ...(p.gp
      ? {
          generalPractitioner: [
            {
              extension: [{ url: EXT.gpPeriod, valuePeriod: { start: p.gp.since } }],
              reference: `PractitionerRole/${p.gp.roleId}`,
              display: p.gp.display,
            },
          ],
        }
      : {}),
  };
}

export function addressProtectionOf(p: Patient): AddressProtection {
  const code = p.extension?.find((e) => e.url === EXT.addressProtection)?.valueCoding?.code;
  return (code as AddressProtection) ?? 'ugradert';
}

/** A parent of a (minor) child, as Folkeregisteret's family relation, with parental responsibility if held. */
export function parentRelation(p: {
  id: string;
  childId: string;
  parentNin: string;
  parentName: HumanName;
  parentGender: 'male' | 'female';
  /** 'felles' (shared), or the parent's own role when held alone; undefined when the parent has none */
  responsibility?: 'felles' | 'mor' | 'far';
}): RelatedPerson {
  const role = p.parentGender === 'female' ? 'mor' : 'far';
  return {
    resourceType: 'RelatedPerson',
    id: p.id,
    meta: { profile: [PROFILE.relatedPerson] },
    identifier: [{ system: SYSTEM.fnr, value: p.parentNin }],
    active: true,
    patient: { reference: `Patient/${p.childId}` },
    relationship: [
      { coding: [{ system: SYSTEM.familyRelation, code: role, display: role === 'mor' ? 'Mor' : 'Far' }] },
      ...(p.responsibility
        ? [{ coding: [{ system: SYSTEM.parentalResponsibility, code: p.responsibility, display: capitalise(p.responsibility) }] }]
        : []),
    ],
    name: [p.parentName],
    gender: p.parentGender,
  };
}

export type PowerKind = 'ordinary' | 'assigned';

/** A power of attorney (fullmakt) given by the patient to the holder; `assigned` = tildelt via the GP. */
export function powerOfAttorney(p: {
  id: string;
  giverId: string;
  holderNin: string;
  holderName: HumanName;
  kind: PowerKind;
  start: string;
  validUntil?: string;
}): RelatedPerson {
  return {
    resourceType: 'RelatedPerson',
    id: p.id,
    meta: { profile: [PROFILE.relatedPerson] },
    identifier: [{ system: SYSTEM.fnr, value: p.holderNin }],
    active: true,
    patient: { reference: `Patient/${p.giverId}` },
    relationship: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleCode', code: 'HPOWATT', display: 'healthcare power of attorney' }] },
      {
        coding: [
          { system: SYSTEM.powerOfAttorney, code: p.kind, display: p.kind === 'ordinary' ? 'Fullmakt' : 'Tildelt fullmakt' },
        ],
      },
    ],
    name: [p.holderName],
    period: { start: p.start, ...(p.validUntil ? { end: p.validUntil } : {}) },
  };
}

export function organization(o: {
  id: string;
  kind: OrganizationKind;
  name: string;
  orgnr?: string;
  herId?: string;
  resh?: string;
  partOf?: string;
  municipality: Municipality;
  endpointId?: string;
}): Organization {
  const k = ORGANIZATION_KINDS[o.kind];
  return {
    resourceType: 'Organization',
    id: o.id,
    meta: { profile: [PROFILE.organization] },
    identifier: [
      ...(o.orgnr ? [{ system: SYSTEM.orgnr, value: o.orgnr }] : []),
      ...(o.herId ? [{ system: SYSTEM.herId, value: o.herId }] : []),
      ...(o.resh ? [{ system: SYSTEM.resh, value: o.resh }] : []),
    ],
    active: true,
    type: [
      {
        coding: [
          { system: SYSTEM.organizationKind, code: o.kind, display: k.display },
          { system: 'http://terminology.hl7.org/CodeSystem/organization-type', code: k.hl7 },
        ],
      },
    ],
    name: o.name,
    address: [
      {
        type: 'physical',
        city: o.municipality.postTown,
        district: o.municipality.name,
        _district: {
          extension: [{ url: EXT.municipalityCode, valueCoding: { system: SYSTEM.kommunenummer, code: o.municipality.number } }],
        },
        postalCode: o.municipality.postalCode,
        country: 'NO',
      } as Address,
    ],
    ...(o.partOf ? { partOf: { reference: `Organization/${o.partOf}` } } : {}),
    ...(o.endpointId ? { endpoint: [{ reference: `Endpoint/${o.endpointId}` }] } : {}),
  };
}

/** The organisation's messaging endpoint in the address registry (Adresseregisteret), by HER-id. */
export function endpoint(e: { id: string; name: string; herId: string; organizationId: string }): Endpoint {
  return {
    resourceType: 'Endpoint',
    id: e.id,
    meta: { profile: [PROFILE.endpoint] },
    identifier: [{ system: SYSTEM.herId, value: e.herId }],
    status: 'active',
    connectionType: { system: SYSTEM.connectionType, code: 'no-amqp', display: 'AMQP' },
    name: e.name,
    managingOrganization: { reference: `Organization/${e.organizationId}` },
    payloadType: [{ text: 'Meldinger etter Standard for meldingsutveksling (dialogmelding, henvisning, epikrise, svarrapport)' }],
    address: `amqps://meldingstjener.samhandling.test/her/${e.herId}`,
  };
}

export function practitioner(p: {
  id: string;
  hpr: string;
  nin: string;
  given: string;
  family: string;
  gender: 'male' | 'female';
  birthDate: string;
  category: string;
  authorisedSince: string;
  speciality?: { code?: string; display: string };
}): Practitioner {
  return {
    resourceType: 'Practitioner',
    id: p.id,
    meta: { profile: [PROFILE.practitioner] },
    identifier: [
      { system: SYSTEM.hpr, value: p.hpr },
      { system: SYSTEM.fnr, value: p.nin },
    ],
    active: true,
    name: [nameOf(p.given, p.family)],
    gender: p.gender,
    birthDate: p.birthDate,
    qualification: [
      {
        code: { coding: [{ system: SYSTEM.category9060, code: p.category, display: CATEGORY_9060[p.category] }] },
        period: { start: p.authorisedSince },
      },
      ...(p.speciality
        ? [
            {
              code: p.speciality.code
                ? { coding: [{ system: SYSTEM.speciality7426, code: p.speciality.code, display: p.speciality.display }] }
                : { text: p.speciality.display },
            },
          ]
        : []),
    ],
  };
}

export function practitionerRole(r: {
  id: string;
  practitionerId: string;
  practitionerName: string;
  organizationId: string;
  category: string;
  kind: 'fastlege' | 'hospital' | 'pharmacy' | 'health-station' | 'laboratory';
  speciality?: string;
  since: string;
  herId?: string;
}): PractitionerRole {
  return {
    resourceType: 'PractitionerRole',
    id: r.id,
    meta: { profile: [PROFILE.practitionerRole] },
    ...(r.herId ? { identifier: [{ system: SYSTEM.herId, value: r.herId }] } : {}),
    active: true,
    period: { start: r.since },
    practitioner: { reference: `Practitioner/${r.practitionerId}`, display: r.practitionerName },
    organization: { reference: `Organization/${r.organizationId}` },
    code: [
      { coding: [{ system: SYSTEM.category9060, code: r.category, display: CATEGORY_9060[r.category] }] },
      { coding: [{ system: SYSTEM.practitionerRoleKind, code: r.kind }] },
    ],
    ...(r.speciality ? { specialty: [{ text: r.speciality }] } : {}),
  };
}

const capitalise = (s: string) => s[0].toUpperCase() + s.slice(1);
