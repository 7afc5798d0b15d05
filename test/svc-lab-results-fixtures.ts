import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { citizenClaims, devAuthority, practitionerClaims, systemClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { makeOrgnr } from '../src/registry/identifiers.ts';
import { organization, patient, practitioner, practitionerRole } from '../src/registry/resources.ts';
import { bornYearsAgo as years, ninAged as nin, OSLO as oslo, osloHome as home } from './helpers/people.ts';
import { DISCIPLINE_SYSTEM, V2_0074 } from '../src/services/lab-results/settings.ts';

/**
 * Shared by the lab-results scenario tests: a small registry (a GP office, a hospital, a
 * laboratory, their staff, two citizens), a movable server clock, real tokens, and the lab's
 * transaction Bundles as a laboratory information system sends them.
 */

export const ORG = { gp: makeOrgnr('92000001')!, hospital: makeOrgnr('92000002')!, lab: makeOrgnr('92000003')! };
export const HPR = { gp: '7200001', doctor: '7200002', labDoctor: '7200003' };
export const NIN = { anna: nin(52, 301), ola: nin(47, 302) };

const registry: Resource[] = [
  organization({ id: 'org-gp', kind: 'gp-office' as any, name: 'Legesenteret', orgnr: ORG.gp, municipality: oslo }),
  organization({ id: 'org-hospital', kind: 'hospital' as any, name: 'Sykehuset', orgnr: ORG.hospital, municipality: oslo }),
  organization({ id: 'org-lab', kind: 'laboratory' as any, name: 'Medisinsk laboratorium Oslo', orgnr: ORG.lab, municipality: oslo }),
  practitioner({ id: 'pr-gp', hpr: HPR.gp, nin: nin(50, 401), given: 'Gro', family: 'Lege', gender: 'female', birthDate: years(50), category: 'LE', authorisedSince: '2000-01-01' }),
  practitioner({ id: 'pr-doctor', hpr: HPR.doctor, nin: nin(45, 403), given: 'Didrik', family: 'Doktor', gender: 'male', birthDate: years(45), category: 'LE', authorisedSince: '2005-01-01' }),
  practitioner({ id: 'pr-labdoctor', hpr: HPR.labDoctor, nin: nin(55, 405), given: 'Liv', family: 'Lablege', gender: 'female', birthDate: years(55), category: 'LE', authorisedSince: '1998-01-01' }),
  practitionerRole({ id: 'role-gp', practitionerId: 'pr-gp', practitionerName: 'Gro Lege', organizationId: 'org-gp', category: 'LE', kind: 'fastlege', since: '2020-01-01' }),
  practitionerRole({ id: 'role-doctor', practitionerId: 'pr-doctor', practitionerName: 'Didrik Doktor', organizationId: 'org-hospital', category: 'LE', kind: 'hospital', since: '2020-01-01' }),
  practitionerRole({ id: 'role-labdoctor', practitionerId: 'pr-labdoctor', practitionerName: 'Liv Lablege', organizationId: 'org-lab', category: 'LE', kind: 'laboratory', since: '2020-01-01' }),
  patient({ id: 'anna', nin: NIN.anna, given: 'Anna', family: 'Berg', gender: 'female', birthDate: years(52), address: home('Storgata 1'), protection: 'ugradert', gp: { roleId: 'role-gp', display: 'Fastlege', since: '2020-01-01' } }),
  patient({ id: 'ola', nin: NIN.ola, given: 'Ola', family: 'Nordmann', gender: 'male', birthDate: years(47), address: home('Lillegata 2'), protection: 'ugradert' }),
];

export const DAY = 86_400_000;

export interface LabWorld {
  s: TestServer;
  clock: { now: Date; advance(days: number): void };
  /** Headers for each kind of caller (fresh tokens per call). */
  as: {
    lab(): Promise<Record<string, string>>;
    gp(patientNin?: string): Promise<Record<string, string>>;
    doctor(patientNin?: string): Promise<Record<string, string>>;
    labDoctor(patientNin?: string): Promise<Record<string, string>>;
    citizen(n?: string): Promise<Record<string, string>>;
  };
  publish(bundle: Bundle): Promise<{ status: number; body: any; text: string }>;
}

export async function startLabWorld(env: Record<string, string> = {}): Promise<LabWorld> {
  let authority!: DevAuthority;
  const clock = {
    now: new Date(),
    advance(days: number) {
      clock.now = new Date(clock.now.getTime() + days * DAY);
    },
  };
  const s = await startTestServer({ auth: 'on', env, clock: () => clock.now, devAuthority: async (baseUrl) => (authority = await devAuthority(`${baseUrl}/dev-auth`)) });
  await s.platform.repo.putMany(registry);
  const bearer = (t: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${t}`, ...extra });
  const as: LabWorld['as'] = {
    lab: async () => bearer(await authority.sign(systemClaims({ clientId: 'lab-lis', org: ORG.lab, scope: 'system/*.cruds' }))),
    gp: async (p = NIN.anna) => bearer(await authority.sign(practitionerClaims({ hpr: HPR.gp, org: ORG.gp, patient: p, purpose: 'COC' } as any)), { 'nhn-access-basis': 'UNNTAK', 'nhn-patient-nin': p }),
    doctor: async (p = NIN.anna) => bearer(await authority.sign(practitionerClaims({ hpr: HPR.doctor, org: ORG.hospital, patient: p } as any)), { 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': p }),
    labDoctor: async (p = NIN.anna) => bearer(await authority.sign(practitionerClaims({ hpr: HPR.labDoctor, org: ORG.lab, patient: p } as any)), { 'nhn-access-basis': 'SAMTYKKE', 'nhn-patient-nin': p }),
    citizen: async (n = NIN.anna) => bearer(await authority.sign(citizenClaims(n))),
  };
  return {
    s,
    clock,
    as,
    publish: async (bundle) => s.fhir('/', { method: 'POST', body: bundle, headers: await as.lab() }),
  };
}

const OBS_CAT = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] };
const H = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const disc = (code: string, v2: string) => ({ coding: [{ system: DISCIPLINE_SYSTEM, code }, { system: V2_0074, code: v2 }] });
const q = (value: number, unit: string, code = unit) => ({ value, unit, system: 'http://unitsofmeasure.org', code });
const put = (resource: Resource): BundleEntry => ({ fullUrl: `${resource.resourceType}/${resource.id}`, resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } });

export interface ResultOptions {
  patientId?: string;
  requester?: string;
  issued: string;
  /** Extra meta (e.g. the quality-assurance purpose label). */
  meta?: Resource['meta'];
}

/**
 * A urine culture from the laboratory: order, specimen, report, the isolate (E. coli) and its
 * susceptibilities as hasMember, as one transaction. Ids are prefixed so tests can tell results apart.
 */
export function urineCulture(prefix: string, o: ResultOptions): Bundle {
  const patientId = o.patientId ?? 'anna';
  const subject = { reference: `Patient/${patientId}` };
  const cat = [OBS_CAT, disc('microbiology', 'MB')];
  const meta = o.meta ? { meta: o.meta } : {};
  const sus = (key: string, loinc: string, display: string, code: 'S' | 'R') => ({
    resourceType: 'Observation', id: `${prefix}-${key}`, ...meta, status: 'final', category: cat, subject, issued: o.issued,
    code: { coding: [{ system: 'http://loinc.org', code: loinc, display }] },
    specimen: { reference: `Specimen/${prefix}-sp` },
    interpretation: [{ coding: [{ system: H, code }] }],
  }) as Resource;
  const resources: Resource[] = [
    { resourceType: 'ServiceRequest', id: `${prefix}-sr`, status: 'active', intent: 'order', subject, code: { text: 'Urindyrkning' }, requester: { reference: o.requester ?? 'PractitionerRole/role-gp' }, category: [disc('microbiology', 'MB')] } as Resource,
    { resourceType: 'Specimen', id: `${prefix}-sp`, subject, type: { coding: [{ system: 'http://snomed.info/sct', code: '122575003', display: 'Urine specimen' }] }, request: [{ reference: `ServiceRequest/${prefix}-sr` }] } as Resource,
    sus('amp', '18864-9', 'Ampicillin [Susceptibility]', 'R'),
    sus('nit', '18955-5', 'Nitrofurantoin [Susceptibility]', 'S'),
    {
      resourceType: 'Observation', id: `${prefix}-org`, ...meta, status: 'final', category: cat, subject, issued: o.issued,
      code: { coding: [{ system: 'http://loinc.org', code: '630-4', display: 'Bacteria identified in Urine by Culture' }] },
      valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '112283007', display: 'Escherichia coli' }] },
      interpretation: [{ coding: [{ system: H, code: 'POS' }] }],
      hasMember: [{ reference: `Observation/${prefix}-amp` }, { reference: `Observation/${prefix}-nit` }],
    } as Resource,
    {
      resourceType: 'DiagnosticReport', id: `${prefix}-dr`, ...meta, status: 'final', category: [disc('microbiology', 'MB')], subject, issued: o.issued,
      code: { coding: [{ system: 'http://loinc.org', code: '630-4' }], text: 'Urindyrkning' },
      basedOn: [{ reference: `ServiceRequest/${prefix}-sr` }],
      specimen: [{ reference: `Specimen/${prefix}-sp` }],
      performer: [{ reference: 'Organization/org-lab' }],
      resultsInterpreter: [{ reference: 'Practitioner/pr-labdoctor' }],
      result: [{ reference: `Observation/${prefix}-org` }],
      conclusion: 'Signifikant bakteriuri med E. coli. Resistent mot ampicillin.',
      presentedForm: [{ contentType: 'text/plain', data: Buffer.from('Urindyrkning: E. coli > 10^5 CFU/mL').toString('base64'), title: 'Svarrapport' }],
    } as Resource,
  ];
  return { resourceType: 'Bundle', type: 'transaction', entry: resources.map(put) };
}

export const HB = { system: 'http://loinc.org', code: '718-7' };
export const CRP_NLK = { system: 'urn:oid:2.16.578.1.12.4.1.1.7280', code: 'NPU19748' };

/** A chemistry report (Hb and CRP, NLK and LOINC coded, with ranges and flags), or another discipline's single-result report. */
export function chemistry(prefix: string, o: ResultOptions & { hb: number; crp: number; discipline?: [string, string] }): Bundle {
  const patientId = o.patientId ?? 'anna';
  const subject = { reference: `Patient/${patientId}` };
  const [d, v2] = o.discipline ?? ['medical-biochemistry', 'CH'];
  const cat = [OBS_CAT, disc(d, v2)];
  const meta = o.meta ? { meta: o.meta } : {};
  const flag = (v: number, low: number | undefined, high: number) => ({ coding: [{ system: H, code: v > high ? 'H' : low !== undefined && v < low ? 'L' : 'N' }] });
  const resources: Resource[] = [
    { resourceType: 'ServiceRequest', id: `${prefix}-sr`, status: 'active', intent: 'order', subject, code: { text: 'Blodprøver' }, requester: { reference: o.requester ?? 'PractitionerRole/role-gp' } } as Resource,
    {
      resourceType: 'Observation', id: `${prefix}-hb`, ...meta, status: 'final', category: cat, subject, issued: o.issued, effectiveDateTime: o.issued,
      code: { coding: [{ ...HB, display: 'Hemoglobin [Mass/volume] in Blood' }] },
      valueQuantity: q(o.hb, 'g/dL'), referenceRange: [{ low: q(11.7, 'g/dL'), high: q(15.3, 'g/dL') }], interpretation: [flag(o.hb, 11.7, 15.3)],
    } as Resource,
    {
      resourceType: 'Observation', id: `${prefix}-crp`, ...meta, status: 'final', category: cat, subject, issued: o.issued, effectiveDateTime: o.issued,
      code: { coding: [{ ...CRP_NLK, display: 'P—C-reaktivt protein; massekonsentrasjon' }, { system: 'http://loinc.org', code: '1988-5' }] },
      valueQuantity: q(o.crp, 'mg/L'), referenceRange: [{ high: q(5, 'mg/L') }], interpretation: [flag(o.crp, undefined, 5)],
    } as Resource,
    {
      resourceType: 'DiagnosticReport', id: `${prefix}-dr`, ...meta, status: 'final', category: [disc(d, v2)], subject, issued: o.issued,
      code: { text: 'Klinisk kjemi' }, basedOn: [{ reference: `ServiceRequest/${prefix}-sr` }], performer: [{ reference: 'Organization/org-lab' }],
      result: [{ reference: `Observation/${prefix}-hb` }, { reference: `Observation/${prefix}-crp` }],
    } as Resource,
  ];
  return { resourceType: 'Bundle', type: 'transaction', entry: resources.map(put) };
}

export const ids = (bundle: any): string[] => (bundle?.entry ?? []).map((e: any) => `${e.resource.resourceType}/${e.resource.id}`);
