import type { Bundle, Resource } from '@medplum/fhirtypes';
import { citizenClaims, devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { makeOrgnr } from '../src/registry/identifiers.ts';
import { nameOf, organization, parentRelation, patient, practitioner, practitionerRole } from '../src/registry/resources.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { bornYearsAgo as years, ninAged as nin, OSLO as oslo, osloHome as home } from './helpers/people.ts';

/**
 * The journal documents tests' world: a GP office and a hospital, the patient's GP, a hospital
 * doctor and a specialist, two patients; tokens minted by the server's trusted dev authority.
 */

export const ORG = { gp: makeOrgnr('92000001')!, hospital: makeOrgnr('92000002')!, clinic: makeOrgnr('92000003')! };
export const HPR = { gp: '7200001', doctor: '7200002', specialist: '7200003' };
export const P = { patient: nin(45, 301), other: nin(50, 302), parent: nin(40, 303), child: nin(10, 304) };
export const NIN_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.1';

export const registry: Resource[] = [
  organization({ id: 'org-gp', kind: 'gp-office' as any, name: 'Legesenteret', orgnr: ORG.gp, municipality: oslo }),
  organization({ id: 'org-hospital', kind: 'hospital' as any, name: 'Sykehuset', orgnr: ORG.hospital, municipality: oslo }),
  organization({ id: 'org-clinic', kind: 'hospital' as any, name: 'Spesialistklinikken', orgnr: ORG.clinic, municipality: oslo }),
  practitioner({ id: 'pr-gp', hpr: HPR.gp, nin: nin(50, 401), given: 'Gro', family: 'Lege', gender: 'female', birthDate: years(50), category: 'LE', authorisedSince: '2000-01-01' }),
  practitioner({ id: 'pr-doctor', hpr: HPR.doctor, nin: nin(45, 403), given: 'Didrik', family: 'Doktor', gender: 'male', birthDate: years(45), category: 'LE', authorisedSince: '2005-01-01' }),
  practitioner({ id: 'pr-specialist', hpr: HPR.specialist, nin: nin(55, 405), given: 'Siri', family: 'Spesialist', gender: 'female', birthDate: years(55), category: 'LE', authorisedSince: '1998-01-01' }),
  practitionerRole({ id: 'role-gp', practitionerId: 'pr-gp', practitionerName: 'Gro Lege', organizationId: 'org-gp', category: 'LE', kind: 'fastlege', since: '2020-01-01' }),
  practitionerRole({ id: 'role-doctor', practitionerId: 'pr-doctor', practitionerName: 'Didrik Doktor', organizationId: 'org-hospital', category: 'LE', kind: 'hospital', since: '2020-01-01' }),
  practitionerRole({ id: 'role-specialist', practitionerId: 'pr-specialist', practitionerName: 'Siri Spesialist', organizationId: 'org-clinic', category: 'LE', kind: 'hospital', since: '2020-01-01' }),
  patient({ id: 'pat', nin: P.patient, given: 'Åse', family: 'Østby', gender: 'female', birthDate: years(45), address: home('Storgata 1'), protection: 'ugradert', gp: { roleId: 'role-gp', display: 'Fastlege', since: '2020-01-01' } }),
  patient({ id: 'parent', nin: P.parent, given: 'Kari', family: 'Mor', gender: 'female', birthDate: years(40), address: home('Parkveien 3'), protection: 'ugradert' }),
  patient({ id: 'child', nin: P.child, given: 'Per', family: 'Mor', gender: 'male', birthDate: years(10), address: home('Parkveien 3'), protection: 'ugradert' }),
  parentRelation({ id: 'rel-child', childId: 'child', parentNin: P.parent, parentName: nameOf('Kari', 'Mor'), parentGender: 'female', responsibility: 'felles' }),
  patient({ id: 'other', nin: P.other, given: 'Ola', family: 'Nordmann', gender: 'male', birthDate: years(50), address: home('Lillegata 2'), protection: 'ugradert' }),
];

export interface DocWorld {
  s: TestServer;
  authority: DevAuthority;
  /** Moves the server's clock. */
  setNow(d: Date): void;
}

export async function startDocumentServer(env: Record<string, string> = {}): Promise<DocWorld> {
  let now = new Date();
  let authority!: DevAuthority;
  const s = await startTestServer({
    auth: 'on',
    env,
    clock: () => now,
    devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)),
  });
  await s.platform.repo.putMany(registry);
  return { s, authority, setNow: (d) => (now = d) };
}

export const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra });

/** Headers of a request by a professional about the patient. */
export async function asDoctor(w: DocWorld, basis = 'SAMTYKKE', patientNin = P.patient) {
  return bearer(await w.authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital, patient: patientNin } as any)), { 'nhn-access-basis': basis, 'nhn-patient-nin': patientNin });
}
export async function asGp(w: DocWorld, patientNin = P.patient) {
  return bearer(await w.authority.sign(practitionerClaims({ hpr: HPR.gp, org: ORG.gp, patient: patientNin, purpose: 'COC' } as any)), { 'nhn-access-basis': 'UNNTAK', 'nhn-patient-nin': patientNin });
}
export async function asSpecialist(w: DocWorld, o: Record<string, unknown> = {}, basis = 'SAMTYKKE') {
  return bearer(await w.authority.sign(practitionerClaims({ hpr: HPR.specialist, org: ORG.clinic, patient: P.patient, ...o } as any)), { 'nhn-access-basis': basis, 'nhn-patient-nin': P.patient });
}
export async function asCitizen(w: DocWorld, n = P.patient) {
  return bearer(await w.authority.sign(citizenClaims(n)));
}

export const CLASS = 'urn:oid:2.16.578.1.12.4.1.1.9602';

/** An ITI-65 provide bundle: SubmissionSet List, DocumentReference, and the content as a Binary entry or inline. */
export function provideBundle(o: {
  bytes: Buffer;
  contentType: string;
  classCode?: string;
  date?: string;
  title?: string;
  inline?: boolean;
  patient?: string;
  author?: string;
}): Bundle {
  const docUrl = 'urn:uuid:0c6a1f7e-1b4b-4f37-9f0a-0d2a3d1f0001';
  const binUrl = 'urn:uuid:0c6a1f7e-1b4b-4f37-9f0a-0d2a3d1f0002';
  const attachment = o.inline
    ? { contentType: o.contentType, data: o.bytes.toString('base64'), title: o.title ?? 'Epikrise' }
    : { contentType: o.contentType, url: binUrl, title: o.title ?? 'Epikrise' };
  const entries: any[] = [
    {
      fullUrl: 'urn:uuid:0c6a1f7e-1b4b-4f37-9f0a-0d2a3d1f0003',
      resource: {
        resourceType: 'List',
        status: 'current',
        mode: 'working',
        code: { coding: [{ system: 'https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes', code: 'submissionset' }] },
        subject: { reference: `Patient?identifier=${NIN_SYSTEM}|${o.patient ?? P.patient}` },
        date: o.date ?? new Date().toISOString(),
        entry: [{ item: { reference: docUrl } }],
      },
      request: { method: 'POST', url: 'List' },
    },
    {
      fullUrl: docUrl,
      resource: {
        resourceType: 'DocumentReference',
        masterIdentifier: { system: 'urn:ietf:rfc:3986', value: `urn:oid:2.16.578.1.${Math.floor(Math.random() * 1e9)}` },
        status: 'current',
        type: { coding: [{ system: 'http://loinc.org', code: '18842-5', display: 'Discharge summary' }] },
        category: [{ coding: [{ system: CLASS, code: o.classCode ?? 'A00-1' }] }],
        subject: { reference: `Patient?identifier=${NIN_SYSTEM}|${o.patient ?? P.patient}` },
        date: o.date ?? new Date().toISOString(),
        author: [{ reference: o.author ?? 'Organization/org-hospital' }],
        custodian: { reference: 'Organization/org-hospital' },
        description: o.title ?? 'Epikrise',
        content: [{ attachment }],
      },
      request: { method: 'POST', url: 'DocumentReference' },
    },
  ];
  if (!o.inline) entries.push({ fullUrl: binUrl, resource: { resourceType: 'Binary', contentType: o.contentType, data: o.bytes.toString('base64') }, request: { method: 'POST', url: 'Binary' } });
  return { resourceType: 'Bundle', type: 'transaction', meta: { profile: ['https://profiles.ihe.net/ITI/MHD/StructureDefinition/IHE.MHD.Comprehensive.ProvideBundle'] }, entry: entries };
}

/** A small valid-looking PDF with some distinguishing text. */
export function samplePdf(text: string): Buffer {
  return Buffer.from(`%PDF-1.4\n% ${text}\n%%EOF\n`, 'latin1');
}

export async function fetchBytes(url: string, headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** The DocumentReference id and content url from a transaction-response. */
export function published(body: Bundle) {
  const doc = body.entry!.map((e) => e.resource).find((r) => r?.resourceType === 'DocumentReference') as any;
  return { id: doc.id as string, url: doc.content[0].attachment.url as string, doc };
}
