import type { MedicationDispense, MedicationRequest, MedicationStatement, Resource } from '@medplum/fhirtypes';
import { ORGNR_SYSTEM, PHARMACIST_CATEGORIES } from '../../access/principal.ts';
import type { SyntheticClinician, SyntheticPerson, SyntheticRng, SyntheticWorld } from '../module.ts';
import { catalogueEntry } from './catalogue.ts';
import { pllId, pllList } from './pll.ts';
import { PRESCRIPTION_ID_SYSTEM, PLL_ENTRY_SYSTEM, SERVICE_TAG, HPR_SYSTEM } from './terms.ts';
import { withRemaining } from './prescriptions.ts';

/**
 * Medication histories for the synthetic population: chronic patients with several drugs (statin,
 * antihypertensive, metformin, anticoagulant …, more with age), younger adults with a drug or two,
 * children now and then with a short course. Each ongoing drug has a current prescription (partly
 * dispensed) and often an earlier one that expired used up; people with ongoing medication have a
 * PLL. About four resources per citizen on average; ids derive from the patient id; every date on or
 * before the reference date.
 */
const DAY = 86_400_000;

/** Drugs by how common they are among people of an age (per drug: probability, catalogue id). */
const CHRONIC: { from: number; p: number; drugs: string[]; female?: boolean }[] = [
  { from: 45, p: 0.3, drugs: ['atorvastatin-20', 'simvastatin-20', 'rosuvastatin-10'] },
  { from: 45, p: 0.25, drugs: ['amlodipin-5', 'losartan-50', 'ramipril-5', 'losartan-hct-50'] },
  { from: 50, p: 0.12, drugs: ['metformin-500', 'metformin-1000'] },
  { from: 65, p: 0.18, drugs: ['acetylsalisylsyre-75', 'apixaban-5', 'metoprolol-50'] },
  { from: 40, p: 0.1, drugs: ['omeprazol-20', 'pantoprazol-40'] },
  { from: 30, p: 0.08, drugs: ['levotyroksin-50'], female: true },
  { from: 65, p: 0.12, drugs: ['alendronsyre-70', 'kolekalsiferol-20'], female: true },
  { from: 18, p: 0.08, drugs: ['sertralin-50', 'escitalopram-10'] },
  { from: 18, p: 0.05, drugs: ['symbicort-160', 'salbutamol-inh'] },
  { from: 16, p: 0.15, drugs: ['desogestrel-75', 'microgynon'], female: true },
];
const SHORT_COURSES = ['amoksicillin-500', 'fenoksymetylpenicillin-1g', 'pivmecillinam-200', 'ibuprofen-400', 'paralgin-forte', 'cetirizin-10'];
const CHILD_COURSES = ['amoksicillin-mikstur', 'salbutamol-inh', 'cetirizin-10', 'metylfenidat-10'];

const isoDate = (t: number) => new Date(t).toISOString().slice(0, 10);
const isoTime = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A deterministic UUID from the citizen's stream (PLL entry ids are UUIDs). */
function uuid(rng: SyntheticRng): string {
  const hex = Array.from({ length: 32 }, () => rng.int(0, 15).toString(16));
  hex[12] = '4';
  hex[16] = ['8', '9', 'a', 'b'][rng.int(0, 3)];
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function drugsFor(person: SyntheticPerson, rng: SyntheticRng): { chronic: string[]; courses: string[] } {
  if (person.age < 16) return { chronic: [], courses: rng.chance(0.15) ? [rng.pick(CHILD_COURSES)] : [] };
  const chronic: string[] = [];
  const ageBoost = person.age >= 75 ? 1.6 : person.age >= 65 ? 1.3 : 1;
  for (const g of CHRONIC) {
    if (person.age < g.from || (g.female && person.gender !== 'female')) continue;
    if (rng.chance(Math.min(0.9, g.p * ageBoost))) chronic.push(rng.pick(g.drugs));
  }
  return { chronic, courses: rng.chance(0.25) ? [rng.pick(SHORT_COURSES)] : [] };
}

export function medicationHistory(person: SyntheticPerson, world: SyntheticWorld, rng: SyntheticRng): Resource[] {
  if (person.deceased) return [];
  const { chronic, courses } = drugsFor(person, rng);
  if (!chronic.length && !courses.length) return [];
  const doctors = world.cliniciansWhere(['LE']);
  const pharmacists = world.cliniciansWhere(PHARMACIST_CATEGORIES);
  const prescriber = person.gp ?? (doctors.length ? rng.pick(doctors) : undefined);
  if (!prescriber || !pharmacists.length) return [];
  const pharmacist = rng.pick(pharmacists);
  const today = Date.parse(`${world.referenceDate}T12:00:00Z`);
  const out: Resource[] = [];
  const current: MedicationRequest[] = [];
  let n = 0;
  const nextId = () => `rx-${person.patientId}-${++n}`;

  for (const drug of chronic) {
    // An earlier prescription, now expired and used up, for half of them.
    if (rng.chance(0.5)) {
      const authored = today - rng.int(400, 700) * DAY;
      out.push(...prescribed({ id: nextId(), drug, authored, today, repeats: 1, dispensed: 2, person, prescriber, pharmacist, rng }));
    }
    const authored = today - rng.int(10, 330) * DAY;
    const dispensed = Math.min(3, Math.floor((today - authored) / (100 * DAY)) + (rng.chance(0.8) ? 1 : 0));
    const written = prescribed({ id: nextId(), drug, authored, today, repeats: 3, dispensed, person, prescriber, pharmacist, rng });
    current.push(written[0] as MedicationRequest);
    out.push(...written);
  }
  for (const drug of courses) {
    const authored = today - rng.int(20, 900) * DAY;
    out.push(...prescribed({ id: nextId(), drug, authored, today, repeats: 0, dispensed: rng.chance(0.9) ? 1 : 0, person, prescriber, pharmacist, rng }));
  }
  if (current.length && person.age >= 18) out.push(...pll(person, prescriber, current, today, rng));
  return out;
}

function prescribed(o: {
  id: string;
  drug: string;
  authored: number;
  /** The reference date: nothing is dispensed after it. */
  today: number;
  repeats: number;
  dispensed: number;
  person: SyntheticPerson;
  prescriber: SyntheticClinician;
  pharmacist: SyntheticClinician;
  rng: SyntheticRng;
}): Resource[] {
  const e = catalogueEntry(`fest-${o.drug}`)!;
  const allowed = o.repeats + 1;
  const dispensed = Math.min(o.dispensed, allowed);
  const subject = { reference: `Patient/${o.person.patientId}` };
  const medicationReference = { reference: `Medication/${e.id}`, display: e.name };
  const dosageInstruction = [{ text: e.dosage }];
  const mr: MedicationRequest = withRemaining(
    {
      resourceType: 'MedicationRequest',
      id: o.id,
      meta: { tag: [{ system: ORGNR_SYSTEM, code: o.prescriber.orgnr }] },
      identifier: [{ system: PRESCRIPTION_ID_SYSTEM, value: o.id }],
      status: dispensed === allowed ? 'completed' : 'active',
      intent: 'order',
      medicationReference,
      subject,
      authoredOn: isoTime(o.authored),
      requester: { reference: `Practitioner/${o.prescriber.practitionerId}`, identifier: { system: HPR_SYSTEM, value: o.prescriber.hpr } },
      dosageInstruction,
      dispenseRequest: {
        validityPeriod: { start: isoDate(o.authored), end: isoDate(o.authored + 365 * DAY) },
        numberOfRepeatsAllowed: o.repeats,
        quantity: { value: e.pack, unit: e.form },
      },
    },
    allowed - dispensed
  );
  const dispenses: MedicationDispense[] = Array.from({ length: dispensed }, (_, i) => ({
    resourceType: 'MedicationDispense',
    id: `${o.id}-d${i + 1}`,
    meta: { tag: [{ system: ORGNR_SYSTEM, code: o.pharmacist.orgnr }] },
    status: 'completed',
    medicationReference,
    subject,
    performer: [{ actor: { reference: `Practitioner/${o.pharmacist.practitionerId}`, identifier: { system: HPR_SYSTEM, value: o.pharmacist.hpr } } }],
    authorizingPrescription: [{ reference: `MedicationRequest/${o.id}` }],
    quantity: mr.dispenseRequest!.quantity,
    whenHandedOver: isoTime(Math.min(o.today, o.authored + i * Math.min(100 * DAY, (o.today - o.authored) / dispensed) + o.rng.int(0, 3) * DAY)),
    dosageInstruction,
  }));
  return [mr, ...dispenses];
}

/** The PLL of someone with ongoing medication: one entry per current prescription, reconciled by the prescriber. */
function pll(person: SyntheticPerson, doctor: SyntheticClinician, current: MedicationRequest[], today: number, rng: SyntheticRng): Resource[] {
  const doctorRef = { reference: `Practitioner/${doctor.practitionerId}`, identifier: { system: HPR_SYSTEM, value: doctor.hpr } };
  const reconciled = Math.max(...current.map((mr) => Date.parse(mr.authoredOn!)), today - 30 * DAY);
  const statements: MedicationStatement[] = current.map((mr) => {
    const id = uuid(rng);
    return {
      resourceType: 'MedicationStatement',
      id,
      meta: { versionId: '1', tag: [SERVICE_TAG] },
      identifier: [{ system: PLL_ENTRY_SYSTEM, value: id }],
      basedOn: [{ reference: `MedicationRequest/${mr.id}`, identifier: { system: PRESCRIPTION_ID_SYSTEM, value: mr.id! } }],
      status: 'active',
      medicationReference: mr.medicationReference,
      subject: { reference: `Patient/${person.patientId}` },
      effectivePeriod: { start: mr.authoredOn!.slice(0, 10) },
      dateAsserted: isoTime(reconciled),
      informationSource: doctorRef,
      dosage: mr.dosageInstruction,
    };
  });
  const list = pllList({ patientId: person.patientId, doctor: doctorRef, now: new Date(reconciled), statements });
  list.meta = { tag: [SERVICE_TAG, { system: ORGNR_SYSTEM, code: doctor.orgnr }] };
  // Stored as version 1; the List names that version of each entry.
  const plain = statements.map(({ meta, ...s }) => ({ ...s, meta: { tag: meta!.tag } }) as MedicationStatement);
  return [...plain, { ...list, id: pllId(person.patientId) }];
}
