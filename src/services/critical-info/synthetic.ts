import type { CodeableConcept, Extension, Resource } from '@medplum/fhirtypes';
import { HPR_SYSTEM, ORGNR_SYSTEM } from '../../access/principal.ts';
import { addDays, daysBetween } from '../../registry/dates.ts';
import type { SyntheticClinician, SyntheticPerson, SyntheticRng, SyntheticWorld } from '../module.ts';
import {
  ATC_SYSTEM,
  AUTHORISATION_SYSTEM,
  CATEGORIES,
  CATEGORY_SYSTEM,
  CERTAINTY,
  CERTAINTY_SYSTEM,
  EXT,
  PROFILE,
  SERVICE_TAG,
  SNOMED_SYSTEM,
  VERIFICATION_SYSTEM,
} from './terms.ts';

/**
 * Critical information for the synthetic population: a minority of citizens, about one in ten
 * adults and fewer children. Drug reactions (penicillins first) coded in ATC, nut and insect
 * allergies, pacemakers and transplants among the old, a few anaesthesia problems, MRSA carriers,
 * dialysis, and the odd procedure change. Registered by the citizen's GP (else a hospital doctor),
 * as a doctor would through the API, so every entry passes its profile.
 */

/** ICD-10 (kodeverk 7110), what Norwegian doctors code diagnoses in. */
const ICD10 = 'urn:oid:2.16.578.1.12.4.1.1.7110';

const icd = (code: string, display: string): CodeableConcept => ({ coding: [{ system: ICD10, code, display }], text: display });

interface Drug {
  atc: string;
  name: string;
  reaction: string;
  weight: number;
  snomedSubstance?: [string, string];
}

const DRUGS: Drug[] = [
  { atc: 'J01CE02', name: 'Fenoksymetylpenicillin', reaction: 'Urtikaria', weight: 40, snomedSubstance: ['373270004', 'Substance with penicillin structure and antibacterial mechanism of action (substance)'] },
  { atc: 'J01CA04', name: 'Amoksicillin', reaction: 'Utslett', weight: 15 },
  { atc: 'J01EE01', name: 'Sulfametoksazol og trimetoprim', reaction: 'Utslett', weight: 8 },
  { atc: 'M01AE01', name: 'Ibuprofen', reaction: 'Bronkospasme', weight: 8 },
  { atc: 'N02BA01', name: 'Acetylsalisylsyre', reaction: 'Angioødem', weight: 6 },
  { atc: 'R05DA04', name: 'Kodein', reaction: 'Kvalme og oppkast', weight: 6 },
  { atc: 'N03AF01', name: 'Karbamazepin', reaction: 'Stevens-Johnsons syndrom', weight: 2 },
  { atc: 'J01FA09', name: 'Klaritromycin', reaction: 'Diaré', weight: 5 },
  { atc: 'C09AA05', name: 'Ramipril', reaction: 'Angioødem', weight: 3 },
];

const OTHER_ALLERGENS = [
  { category: 'food', code: { coding: [{ system: SNOMED_SYSTEM, code: '91935009', display: 'Allergy to peanuts' }], text: 'Peanøtter' }, reaction: 'Anafylaksi', weight: 5, childWeight: 8 },
  { category: 'food', code: { text: 'Hasselnøtt' }, reaction: 'Hevelse i munn og svelg', weight: 3, childWeight: 4 },
  { category: 'environment', code: { text: 'Vepsestikk (vepsegift)' }, reaction: 'Anafylaksi', weight: 4, childWeight: 1 },
  { category: 'environment', code: { coding: [{ system: SNOMED_SYSTEM, code: '424213003', display: 'Allergy to bee venom' }], text: 'Biestikk (biegift)' }, reaction: 'Anafylaksi', weight: 2, childWeight: 1 },
  { category: 'environment', code: { coding: [{ system: SNOMED_SYSTEM, code: '300916003', display: 'Latex allergy' }], text: 'Lateks' }, reaction: 'Anafylaksi', weight: 2, childWeight: 0 },
] as const;

type ConditionCategory = keyof (typeof CATEGORIES)['Condition'];

const CONDITIONS: { category: ConditionCategory; code: CodeableConcept; minAge: number; p: number; note?: string }[] = [
  { category: 'implant-transplant', code: icd('Z95.0', 'Nærvær av pacemaker'), minAge: 60, p: 0.03, note: 'MR-kompatibilitet må avklares før MR.' },
  { category: 'implant-transplant', code: icd('Z94.0', 'Nyretransplantert'), minAge: 25, p: 0.002 },
  { category: 'anaesthesia-problem', code: icd('T88.3', 'Malign hypertermi ved anestesi'), minAge: 0, p: 0.002, note: 'Unngå suksametonium og flyktige anestesimidler.' },
  { category: 'intubation-problem', code: icd('T88.4', 'Mislykket eller vanskelig intubasjon'), minAge: 16, p: 0.003 },
  { category: 'infection', code: icd('Z22.3', 'Bærer av MRSA'), minAge: 0, p: 0.004, note: 'Kontaktsmitte: isolasjon ved innleggelse.' },
  { category: 'critical-condition', code: icd('E27.1', 'Binyrebarksvikt (Addisons sykdom)'), minAge: 10, p: 0.001, note: 'Trenger økt kortisondose ved stress og sykdom.' },
  { category: 'critical-condition', code: icd('D66', 'Hemofili A'), minAge: 0, p: 0.0005 },
];

function certaintyOf(rng: SyntheticRng): keyof typeof CERTAINTY {
  const x = rng.next();
  return x < 0.45 ? 'confirmed' : x < 0.75 ? 'presumed' : x < 0.97 ? 'unconfirmed' : 'refuted';
}

function weighted<T extends { weight: number }>(rng: SyntheticRng, items: readonly T[], weightOf: (t: T) => number = (t) => t.weight): T {
  const total = items.reduce((s, t) => s + weightOf(t), 0);
  let x = rng.next() * total;
  for (const t of items) if ((x -= weightOf(t)) < 0) return t;
  return items[items.length - 1];
}

/** The world's doctors (worked out once per world). */
function doctorsOf(world: SyntheticWorld): SyntheticClinician[] {
  return world.cliniciansWhere(['LE']);
}

/** A day between the citizen's birth (or a given number of years after it) and the reference date. */
function dayInLife(rng: SyntheticRng, person: SyntheticPerson, world: SyntheticWorld, fromAge = 0): string {
  const from = addDays(person.birthDate, Math.round(fromAge * 365.25));
  const span = Math.max(0, daysBetween(from, world.referenceDate));
  return addDays(from, rng.int(0, span));
}

export function syntheticCriticalInformation(person: SyntheticPerson, world: SyntheticWorld, rng: SyntheticRng): Resource[] {
  if (person.deceased) return [];
  const child = person.age < 16;
  const registrar = (): SyntheticClinician | undefined => {
    if (person.gp && rng.chance(0.6)) return person.gp;
    const doctors = doctorsOf(world);
    return doctors.length ? rng.pick(doctors) : person.gp;
  };
  const subject = { reference: `Patient/${person.patientId}` };
  const out: Resource[] = [];
  const common = (type: keyof typeof PROFILE, suffix: string, by: SyntheticClinician | undefined, tagged: boolean) => ({
    id: `kj-${person.patientId}-${suffix}`,
    meta: { profile: [PROFILE[type]], ...(tagged ? { tag: [{ ...SERVICE_TAG }] } : {}) },
    extension: by ? [changedBy(by)] : [],
  });
  const recorded = (key: 'recorder' | 'author', by: SyntheticClinician | undefined) =>
    by ? { [key]: { reference: `Practitioner/${by.practitionerId}`, identifier: { system: HPR_SYSTEM, value: by.hpr } } } : {};

  if (rng.chance(child ? 0.02 : 0.07)) {
    const drug = weighted(rng, DRUGS);
    const certainty = certaintyOf(rng);
    const by = registrar();
    const base = common('AllergyIntolerance', 'drug', by, false);
    out.push({
      resourceType: 'AllergyIntolerance',
      ...base,
      extension: [{ url: EXT.certainty, valueCoding: { system: CERTAINTY_SYSTEM, code: certainty, display: CERTAINTY[certainty] } }, ...base.extension],
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: certainty === 'refuted' ? 'inactive' : 'active' }] },
      verificationStatus: { coding: [{ system: VERIFICATION_SYSTEM, code: certainty === 'presumed' ? 'unconfirmed' : certainty }] },
      type: 'allergy',
      category: ['medication'],
      criticality: drug.reaction === 'Anafylaksi' || drug.reaction === 'Stevens-Johnsons syndrom' || drug.reaction === 'Angioødem' ? 'high' : 'low',
      code: {
        coding: [{ system: ATC_SYSTEM, code: drug.atc, display: drug.name }, ...(drug.snomedSubstance ? [{ system: SNOMED_SYSTEM, code: drug.snomedSubstance[0], display: drug.snomedSubstance[1] }] : [])],
        text: drug.name,
      },
      patient: subject,
      recordedDate: dayInLife(rng, person, world),
      ...recorded('recorder', by),
      reaction: [{ manifestation: [{ text: drug.reaction }] }],
    } as Resource);
  }

  if (rng.chance(child ? 0.03 : 0.025)) {
    const allergen = weighted(rng, OTHER_ALLERGENS, (a) => (child ? a.childWeight : a.weight));
    const by = registrar();
    out.push({
      resourceType: 'AllergyIntolerance',
      ...common('AllergyIntolerance', 'allergy', by, false),
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }] },
      verificationStatus: { coding: [{ system: VERIFICATION_SYSTEM, code: 'confirmed' }] },
      type: 'allergy',
      category: [allergen.category],
      criticality: allergen.reaction === 'Anafylaksi' ? 'high' : 'low',
      code: allergen.code,
      patient: subject,
      recordedDate: dayInLife(rng, person, world),
      ...recorded('recorder', by),
      reaction: [{ manifestation: [{ text: allergen.reaction }] }],
    } as Resource);
  }

  for (const [i, c] of CONDITIONS.entries()) {
    if (person.age < c.minAge || !rng.chance(child ? c.p / 3 : c.p)) continue;
    const by = registrar();
    out.push({
      resourceType: 'Condition',
      ...common('Condition', `condition-${i}`, by, true),
      clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
      verificationStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: 'confirmed' }] },
      category: [{ coding: [{ system: CATEGORY_SYSTEM, code: c.category, display: CATEGORIES.Condition[c.category] }] }],
      code: c.code,
      subject,
      recordedDate: dayInLife(rng, person, world, c.minAge),
      ...recorded('recorder', by),
      ...(c.note ? { note: [{ text: c.note }] } : {}),
    } as Resource);
  }

  if (person.age >= 40 && rng.chance(0.002)) {
    const by = registrar();
    out.push({
      resourceType: 'Procedure',
      ...common('Procedure', 'treatment', by, true),
      status: 'in-progress',
      category: { coding: [{ system: CATEGORY_SYSTEM, code: 'ongoing-treatment', display: CATEGORIES.Procedure['ongoing-treatment'] }] },
      code: { coding: [{ system: SNOMED_SYSTEM, code: '302497006', display: 'Hemodialysis' }], text: 'Hemodialyse tre ganger i uken' },
      subject,
      performedDateTime: dayInLife(rng, person, world, 40),
      ...recorded('recorder', by),
    } as Resource);
  }

  if (!child && rng.chance(0.002)) {
    const by = registrar();
    out.push({
      resourceType: 'Flag',
      ...common('Flag', 'procedure-change', by, false),
      status: 'active',
      category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'procedure-change', display: CATEGORIES.Flag['procedure-change'] }] }],
      code: { text: 'Ønsker ikke blodoverføring (Jehovas vitne); reservasjon dokumentert' },
      subject,
      period: { start: dayInLife(rng, person, world, 16) },
      ...recorded('author', by),
    } as Resource);
  }
  return out;
}

/** The kj-changed-by stamp the API would have put on the registration. */
function changedBy(by: SyntheticClinician): Extension {
  // The registry may not know every role's organisation number; leave out what is not known.
  const parts: Extension[] = [];
  if (by.hpr) parts.push({ url: 'hpr', valueIdentifier: { system: HPR_SYSTEM, value: by.hpr } });
  if (by.orgnr) parts.push({ url: 'organisation', valueIdentifier: { system: ORGNR_SYSTEM, value: by.orgnr } });
  if (by.category) parts.push({ url: 'authorisation', valueCoding: { system: AUTHORISATION_SYSTEM, code: by.category } });
  return { url: EXT.changedBy, extension: parts };
}
