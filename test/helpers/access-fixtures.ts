import type { Db } from '../../src/store/db.ts';
import type { PersonFacts, PractitionerFacts, RegistryLookup } from '../../src/access/registry-port.ts';
import { bornYearsAgo } from './people.ts';
import { CITIZEN_ACCESS_TAG_SYSTEM } from '../../src/access/services.ts';

/**
 * A small synthetic population for access tests: a fake registry (until src/registry lands, and
 * to keep the rules' inputs explicit) plus one row of each kind of data per patient.
 */
export { bornYearsAgo };

export const HPR = { gp: '1001', doctor: '1002', nurse: '1003', blockedDoctor: '1004', unknown: '9999' };
export const ORG = { gpOffice: '910000001', hospital: '910000002', other: '910000003' };

const person = (p: Partial<PersonFacts> & { nin: string; patientId: string; age: number }): PersonFacts => ({
  birthDate: bornYearsAgo(p.age),
  deceased: false,
  addressProtection: 'ugradert',
  parents: [],
  powersOfAttorney: [],
  gp: { hpr: HPR.gp, since: '2020-01-01' },
  ...p,
});

/** Parent (`adult`) with children of several ages; people with different privacy settings. */
export const PEOPLE = {
  adult: person({ nin: '01018000001', patientId: 'p-adult', age: 40 }),
  child11: person({ nin: '01018000002', patientId: 'p-child11', age: 11, parents: [{ nin: '01018000001', parentalResponsibility: true, sameAddress: true }] }),
  child11away: person({ nin: '01018000003', patientId: 'p-child11away', age: 11, parents: [{ nin: '01018000001', parentalResponsibility: true, sameAddress: false }] }),
  child13: person({ nin: '01018000004', patientId: 'p-child13', age: 13, parents: [{ nin: '01018000001', parentalResponsibility: true, sameAddress: true }] }),
  child16: person({ nin: '01018000005', patientId: 'p-child16', age: 16, parents: [{ nin: '01018000001', parentalResponsibility: true, sameAddress: true }] }),
  childConfidential: person({ nin: '01018000006', patientId: 'p-childconf', age: 8, addressProtection: 'strengt_fortrolig', parents: [{ nin: '01018000001', parentalResponsibility: true, sameAddress: true }] }),
  childNoResponsibility: person({ nin: '01018000007', patientId: 'p-childnoresp', age: 8, parents: [{ nin: '01018000001', parentalResponsibility: false, sameAddress: true }] }),
  elder: person({ nin: '01018000008', patientId: 'p-elder', age: 82, powersOfAttorney: [{ holderNin: '01018000001', kind: 'ordinary', validUntil: null }, { holderNin: '01018000009', kind: 'ordinary', validUntil: null }] }),
  holder17: person({ nin: '01018000009', patientId: 'p-holder17', age: 17 }),
  giver15: person({ nin: '01018000010', patientId: 'p-giver15', age: 15, powersOfAttorney: [{ holderNin: '01018000001', kind: 'ordinary', validUntil: null }] }),
  expiredPower: person({ nin: '01018000011', patientId: 'p-expiredpower', age: 70, powersOfAttorney: [{ holderNin: '01018000001', kind: 'ordinary', validUntil: '2020-01-01' }] }),
  restrictedLabs: person({ nin: '01018000012', patientId: 'p-restrictedlabs', age: 50 }),
  restrictedAll: person({ nin: '01018000013', patientId: 'p-restrictedall', age: 50 }),
  blocker: person({ nin: '01018000014', patientId: 'p-blocker', age: 50 }),
  reservedLabs: person({ nin: '01018000015', patientId: 'p-reservedlabs', age: 50 }),
  plain: person({ nin: '01018000016', patientId: 'p-plain', age: 50, gp: { hpr: HPR.doctor, since: '2019-01-01' } }),
  /** Has no restricted data at all (no NORS document, no restriction). */
  clean: person({ nin: '01018000017', patientId: 'p-clean', age: 30 }),
};

/** Patients without a NORS-labelled document. */
export const WITHOUT_NORS = new Set(['p-clean']);

export const PRACTITIONERS: Record<string, PractitionerFacts> = {
  [HPR.gp]: { practitionerId: 'pr-gp', hpr: HPR.gp, authorisations: ['LE'], organisations: [ORG.gpOffice] },
  [HPR.doctor]: { practitionerId: 'pr-doctor', hpr: HPR.doctor, authorisations: ['LE'], organisations: [ORG.hospital] },
  [HPR.nurse]: { practitionerId: 'pr-nurse', hpr: HPR.nurse, authorisations: ['SP'], organisations: [ORG.hospital] },
  [HPR.blockedDoctor]: { practitionerId: 'pr-blocked', hpr: HPR.blockedDoctor, authorisations: ['LE'], organisations: [ORG.hospital] },
};

export function fakeRegistry(): RegistryLookup {
  const all = Object.values(PEOPLE);
  return {
    async person(nin) {
      return all.find((p) => p.nin === nin);
    },
    async practitioner(hpr) {
      return PRACTITIONERS[hpr];
    },
    async childrenOf(nin) {
      return all.filter((p) => p.parents.some((x) => x.nin === nin));
    },
    async powersHeldBy(nin) {
      return all.flatMap((p) => p.powersOfAttorney.filter((x) => x.holderNin === nin).map((x) => ({ giverNin: p.nin, kind: x.kind, validUntil: x.validUntil })));
    },
  };
}

/** The kinds of data each patient has one of. */
export const ROW_KINDS = ['patient', 'lab', 'vital', 'allergy', 'med', 'doc', 'docNors', 'appt', 'cond', 'labWithheld'] as const;
export type RowKind = (typeof ROW_KINDS)[number];

function rowResource(kind: RowKind, patientId: string, id: string): any {
  const subject = { reference: `Patient/${patientId}` };
  switch (kind) {
    case 'patient':
      return { resourceType: 'Patient', id };
    case 'lab':
      return { resourceType: 'Observation', id, status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }], code: { text: 'Hb' }, subject };
    case 'labWithheld':
      return { resourceType: 'DiagnosticReport', id, meta: { tag: [{ system: CITIZEN_ACCESS_TAG_SYSTEM, code: 'withheld' }] }, status: 'final', code: { text: 'Biopsy' }, subject };
    case 'vital':
      return { resourceType: 'Observation', id, status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }], code: { text: 'Pulse' }, subject };
    case 'allergy':
      return { resourceType: 'AllergyIntolerance', id, patient: subject };
    case 'med':
      return { resourceType: 'MedicationRequest', id, status: 'active', intent: 'order', subject, medicationCodeableConcept: { text: 'Paracet' } };
    case 'doc':
      return { resourceType: 'DocumentReference', id, status: 'current', subject, content: [] };
    case 'docNors':
      return { resourceType: 'DocumentReference', id, meta: { security: [{ system: 'urn:oid:2.16.578.1.12.4.1.1.9603', code: 'NORS' }] }, status: 'current', subject, content: [] };
    case 'appt':
      return { resourceType: 'Appointment', id, status: 'booked', participant: [{ actor: subject, status: 'accepted' }] };
    case 'cond':
      return { resourceType: 'Condition', id, subject };
  }
}

export function rowId(patientId: string, kind: RowKind): string {
  return kind === 'patient' ? patientId : `${patientId}-${kind}`;
}

/** Inserts one resource of each kind for every patient straight into `resource`, in one statement. */
export async function seedAccessData(db: Db): Promise<void> {
  const rows: [string, string, string | null, string][] = [];
  for (const p of Object.values(PEOPLE)) {
    for (const kind of ROW_KINDS) {
      if (kind === 'docNors' && WITHOUT_NORS.has(p.patientId!)) continue;
      const r = rowResource(kind, p.patientId!, rowId(p.patientId!, kind));
      rows.push([r.resourceType, r.id, p.patientId!, JSON.stringify(r)]);
    }
  }
  rows.push(['Organization', 'org-1', null, JSON.stringify({ resourceType: 'Organization', id: 'org-1', name: 'Hospital' })]);
  await db.query(
    `insert into resource (type, id, version, compartment, last_updated, deleted, content)
     select t, i, 1, c, now(), false, x from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as u(t, i, c, x)`,
    [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])]
  );
}
