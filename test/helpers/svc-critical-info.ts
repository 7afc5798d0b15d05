import type { Resource } from '@medplum/fhirtypes';
import { bornYearsAgo as years, ninAged as nin, OSLO as oslo, osloHome as home } from './people.ts';
import { makeOrgnr } from '../../src/registry/identifiers.ts';
import { nameOf, organization, parentRelation, patient, practitioner, practitionerRole } from '../../src/registry/resources.ts';
import { CATEGORY_SYSTEM, CERTAINTY_SYSTEM, EXT, PROFILE, SERVICE_TAG } from '../../src/services/critical-info/terms.ts';

/**
 * Registry data and critical-information instances for the critical-information tests: a hospital,
 * a GP office and a pharmacy, a doctor, a GP, a nurse and a pharmacist, and two patients.
 */

export const ORG = { gp: makeOrgnr('92000001')!, hospital: makeOrgnr('92000002')!, pharmacy: makeOrgnr('92000003')! };
export const HPR = { gp: '7200001', doctor: '7200002', nurse: '7200003', pharmacist: '7200004' };
export const NIN = { adult: nin(52, 301), other: nin(40, 302), parent: nin(38, 303), childHome: nin(11, 304), childAway: nin(10, 306) };

const staff = (id: string, hpr: string, age: number, individual: number, given: string, family: string, category: string, orgId: string, kind: 'fastlege' | 'hospital' | 'pharmacy') => [
  practitioner({ id, hpr, nin: nin(age, individual), given, family, gender: 'female', birthDate: years(age), category, authorisedSince: '2005-01-01' }),
  practitionerRole({ id: `role-${id}`, practitionerId: id, practitionerName: `${given} ${family}`, organizationId: orgId, category, kind, since: '2020-01-01' }),
];

export const REGISTRY: Resource[] = [
  organization({ id: 'org-gp', kind: 'gp-office' as any, name: 'Legesenteret', orgnr: ORG.gp, municipality: oslo }),
  organization({ id: 'org-hospital', kind: 'hospital' as any, name: 'Sykehuset', orgnr: ORG.hospital, municipality: oslo }),
  organization({ id: 'org-pharmacy', kind: 'pharmacy' as any, name: 'Apoteket', orgnr: ORG.pharmacy, municipality: oslo }),
  ...staff('pr-gp', HPR.gp, 50, 401, 'Gro', 'Lege', 'LE', 'org-gp', 'fastlege'),
  ...staff('pr-doctor', HPR.doctor, 45, 403, 'Dina', 'Doktor', 'LE', 'org-hospital', 'hospital'),
  ...staff('pr-nurse', HPR.nurse, 35, 405, 'Nina', 'Sykepleier', 'SP', 'org-hospital', 'hospital'),
  ...staff('pr-pharmacist', HPR.pharmacist, 38, 407, 'Frida', 'Farmasøyt', 'FA1', 'org-pharmacy', 'pharmacy'),
  patient({ id: 'adult', nin: NIN.adult, given: 'Åse', family: 'Østby', gender: 'female', birthDate: years(52), address: home('Storgata 1'), protection: 'ugradert', gp: { roleId: 'role-pr-gp', display: 'Fastlege', since: '2020-01-01' } }),
  // A parent living with one 11-year-old and not with the other (Kjernejournal: the parent must share the child's address).
  patient({ id: 'parent', nin: NIN.parent, given: 'Kari', family: 'Mor', gender: 'female', birthDate: years(38), address: home('Parkveien 3'), protection: 'ugradert' }),
  patient({ id: 'child-home', nin: NIN.childHome, given: 'Per', family: 'Mor', gender: 'male', birthDate: years(11), address: home('Parkveien 3'), protection: 'ugradert' }),
  patient({ id: 'child-away', nin: NIN.childAway, given: 'Siri', family: 'Far', gender: 'female', birthDate: years(10), address: home('Fjellveien 9'), protection: 'ugradert' }),
  parentRelation({ id: 'rel-home', childId: 'child-home', parentNin: NIN.parent, parentName: nameOf('Kari', 'Mor'), parentGender: 'female', responsibility: 'felles' }),
  parentRelation({ id: 'rel-away', childId: 'child-away', parentNin: NIN.parent, parentName: nameOf('Kari', 'Mor'), parentGender: 'female', responsibility: 'felles' }),
  patient({ id: 'other', nin: NIN.other, given: 'Ola', family: 'Nordmann', gender: 'male', birthDate: years(40), address: home('Lillegata 2'), protection: 'ugradert' }),
];

const verification = (code: string) => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification', code }] });
const allergyClinical = (code = 'active') => ({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code }] });

/** A penicillin reaction, certainty "Sannsynlig" (presumed). */
export function drugReaction(patientId: string, o: Record<string, unknown> = {}): any {
  return {
    resourceType: 'AllergyIntolerance',
    meta: { profile: [PROFILE.AllergyIntolerance] },
    extension: [{ url: EXT.certainty, valueCoding: { system: CERTAINTY_SYSTEM, code: 'presumed', display: 'Sannsynlig' } }],
    clinicalStatus: allergyClinical(),
    verificationStatus: verification('unconfirmed'),
    type: 'allergy',
    category: ['medication'],
    criticality: 'high',
    code: { coding: [{ system: 'http://www.whocc.no/atc', code: 'J01CE02', display: 'Fenoksymetylpenicillin' }], text: 'Penicillin' },
    patient: { reference: `Patient/${patientId}` },
    reaction: [{ manifestation: [{ text: 'Urtikaria' }] }],
    ...o,
  };
}

/** A peanut allergy: critical information, but not a drug reaction. */
export function foodAllergy(patientId: string, o: Record<string, unknown> = {}): any {
  return {
    resourceType: 'AllergyIntolerance',
    meta: { profile: [PROFILE.AllergyIntolerance] },
    clinicalStatus: allergyClinical(),
    verificationStatus: verification('confirmed'),
    category: ['food'],
    code: { text: 'Peanøtter' },
    patient: { reference: `Patient/${patientId}` },
    ...o,
  };
}

export function criticalCondition(patientId: string, category = 'implant-transplant', o: Record<string, unknown> = {}): any {
  return {
    resourceType: 'Condition',
    meta: { profile: [PROFILE.Condition], tag: [{ ...SERVICE_TAG }] },
    clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
    verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: category }] }],
    code: { coding: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.7110', code: 'Z95.0', display: 'Nærvær av pacemaker' }] },
    subject: { reference: `Patient/${patientId}` },
    ...o,
  };
}

export function ongoingTreatment(patientId: string, o: Record<string, unknown> = {}): any {
  return {
    resourceType: 'Procedure',
    meta: { profile: [PROFILE.Procedure], tag: [{ ...SERVICE_TAG }] },
    status: 'in-progress',
    category: { coding: [{ system: CATEGORY_SYSTEM, code: 'ongoing-treatment' }] },
    code: { text: 'Hemodialyse' },
    subject: { reference: `Patient/${patientId}` },
    ...o,
  };
}

export function procedureChange(patientId: string, o: Record<string, unknown> = {}): any {
  return {
    resourceType: 'Flag',
    meta: { profile: [PROFILE.Flag] },
    status: 'active',
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'procedure-change' }] }],
    code: { text: 'Ønsker ikke blodoverføring' },
    subject: { reference: `Patient/${patientId}` },
    ...o,
  };
}
