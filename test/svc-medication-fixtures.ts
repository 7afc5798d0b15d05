import type { Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { citizenClaims, devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { makeOrgnr } from '../src/registry/identifiers.ts';
import { homeAddress, organization, patient, practitioner, practitionerRole } from '../src/registry/resources.ts';
import { bornYearsAgo as years, ninAged as nin, OSLO as oslo, osloHome as home } from './helpers/people.ts';

/**
 * The medication suites' world: a GP office, a hospital, a pharmacy, their people, and citizens,
 * stored as the registry stores them; real tokens from the in-process development authority.
 */

export const ORG = { gp: makeOrgnr('92000001')!, hospital: makeOrgnr('92000002')!, pharmacy: makeOrgnr('92000003')! };
export const HPR = { gp: '7200001', doctor: '7200002', doctor2: '7200003', nurse: '7200004', pharmacist: '7200005' };
export const NIN = { adult: nin(62, 101), other: nin(50, 102) };

const person = (id: string, hpr: string, n: number, given: string, family: string, category: string) =>
  practitioner({ id, hpr, nin: nin(45, n), given, family, gender: 'female', birthDate: years(45), category, authorisedSince: '2005-01-01' });
const role = (id: string, practitionerId: string, organizationId: string, category: string, kind: 'fastlege' | 'hospital' | 'pharmacy') =>
  practitionerRole({ id, practitionerId, practitionerName: practitionerId, organizationId, category, kind, since: '2020-01-01' });

export const REGISTRY: Resource[] = [
  organization({ id: 'm-org-gp', kind: 'gp-office', name: 'Legesenteret', orgnr: ORG.gp, municipality: oslo }),
  organization({ id: 'm-org-hospital', kind: 'hospital', name: 'Sykehuset', orgnr: ORG.hospital, municipality: oslo }),
  organization({ id: 'm-org-pharmacy', kind: 'pharmacy', name: 'Oslo apotek', orgnr: ORG.pharmacy, municipality: oslo }),
  person('m-pr-gp', HPR.gp, 201, 'Gro', 'Lege', 'LE'),
  person('m-pr-doctor', HPR.doctor, 202, 'Didrik', 'Doktor', 'LE'),
  person('m-pr-doctor2', HPR.doctor2, 203, 'Dina', 'Doktor', 'LE'),
  person('m-pr-nurse', HPR.nurse, 204, 'Nina', 'Sykepleier', 'SP'),
  person('m-pr-pharmacist', HPR.pharmacist, 205, 'Frida', 'Farmasøyt', 'FA1'),
  role('m-role-gp', 'm-pr-gp', 'm-org-gp', 'LE', 'fastlege'),
  role('m-role-doctor', 'm-pr-doctor', 'm-org-hospital', 'LE', 'hospital'),
  role('m-role-doctor2', 'm-pr-doctor2', 'm-org-hospital', 'LE', 'hospital'),
  role('m-role-nurse', 'm-pr-nurse', 'm-org-hospital', 'SP', 'hospital'),
  role('m-role-pharmacist', 'm-pr-pharmacist', 'm-org-pharmacy', 'FA1', 'pharmacy'),
  patient({ id: 'm-adult', nin: NIN.adult, given: 'Åse', family: 'Østby', gender: 'female', birthDate: years(62), address: home('Storgata 1'), protection: 'ugradert', gp: { roleId: 'm-role-gp', display: 'Fastlege', since: '2020-01-01' } }),
  patient({ id: 'm-other', nin: NIN.other, given: 'Ola', family: 'Nordmann', gender: 'male', birthDate: years(50), address: home('Lillegata 2'), protection: 'ugradert' }),
];

export interface World {
  s: TestServer;
  /** The server's clock; tests move it with `clock.advanceDays`. */
  clock: { now: Date; advanceDays(n: number): void };
  /** Request headers of each actor for a patient. */
  as: {
    gp(patientNin: string): Promise<Record<string, string>>;
    doctor(patientNin: string, hpr?: string): Promise<Record<string, string>>;
    nurse(patientNin: string): Promise<Record<string, string>>;
    pharmacist(patientNin: string): Promise<Record<string, string>>;
    /** The pharmacist acting for another organisation (point of care). */
    pharmacistAt(orgnr: string, patientNin: string): Promise<Record<string, string>>;
    citizen(n: string): Promise<Record<string, string>>;
  };
}

export async function startWorld(): Promise<World> {
  let authority!: DevAuthority;
  const clock = { now: new Date(), advanceDays(n: number) { this.now = new Date(this.now.getTime() + n * 86_400_000); } };
  const s = await startTestServer({ auth: 'on', clock: () => clock.now, devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
  await s.platform.repo.putMany(REGISTRY);
  const bearer = async (claims: Record<string, unknown>, extra: Record<string, string>) => ({ authorization: `Bearer ${await authority.sign(claims)}`, ...extra });
  const clinician = (hpr: string, org: string, authorisation: string, basis: string, purpose = 'TREAT') => (patientNin: string) =>
    bearer(practitionerClaims({ hpr, org, patient: patientNin, authorisation, purpose }), { 'nhn-access-basis': basis, 'nhn-patient-nin': patientNin });
  return {
    s,
    clock,
    as: {
      gp: clinician(HPR.gp, ORG.gp, 'LE', 'UNNTAK', 'COC'),
      doctor: (n, hpr = HPR.doctor) => clinician(hpr, ORG.hospital, 'LE', 'SAMTYKKE')(n),
      nurse: clinician(HPR.nurse, ORG.hospital, 'SP', 'SAMTYKKE'),
      pharmacist: clinician(HPR.pharmacist, ORG.pharmacy, 'FA1', 'SAMTYKKE'),
      pharmacistAt: (orgnr, n) => clinician(HPR.pharmacist, orgnr, 'FA1', 'SAMTYKKE')(n),
      citizen: (n) => bearer(citizenClaims(n), {}),
    },
  };
}

/** A prescription body: the catalogue drug, dosage, quantity, dispenses (repeats + 1), validity. */
export function prescription(patientId: string, o: { drug?: string; repeats?: number; validTo?: string } = {}): Resource {
  return {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    subject: { reference: `Patient/${patientId}` },
    medicationReference: { reference: `Medication/${o.drug ?? 'fest-atorvastatin-20'}` },
    dosageInstruction: [{ text: '1 tablett om kvelden' }],
    dispenseRequest: {
      quantity: { value: 100, unit: 'tablett' },
      numberOfRepeatsAllowed: o.repeats ?? 1,
      ...(o.validTo ? { validityPeriod: { end: o.validTo } } : {}),
    },
  } as Resource;
}

/** The citizen's access log entries (newest first). */
export async function accessLog(w: World, citizenNin: string): Promise<any[]> {
  const res = await w.s.fhir('/$access-log?_count=200', { headers: await w.as.citizen(citizenNin) });
  if (res.status !== 200) throw new Error(`access log: ${res.status} ${res.text}`);
  return res.body.entries;
}
