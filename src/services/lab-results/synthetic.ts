import type { DiagnosticReport, Observation, Patient, Reference, Resource, ServiceRequest, Specimen } from '@medplum/fhirtypes';
import type { SyntheticPerson, SyntheticRng, SyntheticWorld } from '../module.ts';
import { ORGNR_SYSTEM } from '../../access/principal.ts';
import { ANALYTES, analyteCode, flagOf, INTERPRETATION, LOINC, OBSERVATION_CATEGORY, UCUM, type Analyte } from './analytes.ts';
import { disciplineCoding, V2_0074 } from './settings.ts';

/**
 * Lab histories for the synthetic population: chemistry panels over the last years for about half
 * the adults (Hb, CRP, creatinine and eGFR, plus HbA1c, ALAT, cholesterol or TSH), and now and then
 * a urine culture with an organism and its susceptibilities as hasMember results, and for every
 * documented test identity, children included (their journeys need results to show). About five
 * resources per citizen on average; ids derive from the patient id; all dates before the
 * population's reference date.
 */
export function labHistory(person: SyntheticPerson, world: SyntheticWorld, rng: SyntheticRng): Resource[] {
  if (!person.wellKnown && (person.age < 18 || !rng.chance(0.55))) return [];
  const labs = world.organisationsOfKind('laboratory');
  const requester = person.gp ?? world.cliniciansWhere(['LE'], 'hospital')[0];
  if (!labs.length || !requester) return [];
  const lab = rng.pick(labs);
  const labDoctor = world.cliniciansWhere(['LE']).find((c) => c.organizationId === lab.organizationId);
  const ctx: Ctx = { person, rng, lab, labDoctor: labDoctor?.practitionerId, requester: `PractitionerRole/${requester.roleId}`, end: Date.parse(`${world.referenceDate}T12:00:00Z`) };
  const out: Resource[] = [];
  const panels = 1 + rng.int(0, person.age >= 50 ? 2 : 1);
  const diabetic = person.age >= 40 && rng.chance(0.12);
  for (let i = 0; i < panels; i++) out.push(...chemistryPanel(ctx, i, diabetic));
  if (rng.chance(0.08)) out.push(...urineCulture(ctx));
  return out;
}

interface Ctx {
  person: SyntheticPerson;
  rng: SyntheticRng;
  lab: SyntheticWorld['organisations'][number];
  labDoctor?: string;
  requester: string;
  end: number;
}

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');

function normal(rng: SyntheticRng, mean: number, sd: number): number {
  // Box–Muller from the citizen's own stream.
  const u = Math.max(rng.next(), 1e-9);
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

function base(ctx: Ctx, id: string): { id: string; meta?: Resource['meta']; subject: Reference<Patient> } {
  const orgnr = ctx.lab.orgnr;
  return { id, ...(orgnr ? { meta: { tag: [{ system: ORGNR_SYSTEM, code: orgnr }] } } : {}), subject: { reference: `Patient/${ctx.person.patientId}` } };
}

function order(ctx: Ctx, id: string, taken: number, text: string): ServiceRequest {
  const { subject, ...rest } = base(ctx, id);
  return { resourceType: 'ServiceRequest', ...rest, status: 'completed', intent: 'order', code: { text }, subject, authoredOn: iso(taken - 2 * DAY), requester: { reference: ctx.requester } };
}

function category(discipline: string, v2: string) {
  return [
    { coding: [{ system: OBSERVATION_CATEGORY, code: 'laboratory', display: 'Laboratory' }] },
    { coding: [disciplineCoding(discipline), { system: V2_0074, code: v2 }] },
  ];
}

function value(ctx: Ctx, a: Analyte, diabetic: boolean): number {
  const { rng, person } = ctx;
  const female = person.gender === 'female';
  const raw = (() => {
    switch (a.key) {
      case 'hb': return normal(rng, female ? 13.6 : 15.1, 1.1);
      case 'hba1c': return diabetic ? normal(rng, 56, 9) : normal(rng, 35, 4);
      case 'creatinine': return normal(rng, (female ? 68 : 84) + Math.max(0, person.age - 60) * 0.6, 12);
      case 'alat': return Math.abs(normal(rng, female ? 22 : 30, 11));
      case 'cholesterol': return normal(rng, 4.6 + Math.min(person.age, 65) * 0.015, 0.9);
      case 'crp': return rng.chance(0.12) ? 10 + rng.next() * 90 : rng.next() * 4.5;
      case 'tsh': return Math.abs(normal(rng, 1.8, 0.9)) + 0.1;
      default: return 0;
    }
  })();
  const f = 10 ** a.decimals;
  return Math.max(0, Math.round(raw * f) / f);
}

/** CKD-EPI 2009 from creatinine (µmol/L), age and sex; laboratories report above 90 as "> 90". */
function egfr(creatinine: number, age: number, female: boolean): number {
  const scr = creatinine / 88.4;
  const k = female ? 0.7 : 0.9;
  const alpha = female ? -0.329 : -0.411;
  const gfr = 141 * Math.min(scr / k, 1) ** alpha * Math.max(scr / k, 1) ** -1.209 * 0.993 ** age * (female ? 1.018 : 1);
  return Math.min(90, Math.round(gfr));
}

function observation(ctx: Ctx, id: string, a: Analyte, v: number, taken: number, issued: string, categories: Observation['category']): Observation {
  const sexRange = ctx.person.gender === 'female' ? a.range.female : a.range.male;
  const [low, high] = sexRange;
  const q = (n: number) => ({ value: n, unit: a.unit, system: UCUM, code: a.ucum });
  return {
    resourceType: 'Observation',
    ...base(ctx, id),
    status: 'final',
    category: categories,
    code: analyteCode(a),
    effectiveDateTime: iso(taken),
    issued,
    performer: [{ reference: `Organization/${ctx.lab.organizationId}` }],
    valueQuantity: q(v),
    interpretation: [{ coding: [flagOf(v, sexRange)] }],
    referenceRange: [{ ...(low !== undefined ? { low: q(low) } : {}), ...(high !== undefined ? { high: q(high) } : {}) }],
  };
}

function diagnosticReport(
  ctx: Ctx,
  prefix: string,
  sr: ServiceRequest,
  cats: NonNullable<Observation['category']>,
  code: DiagnosticReport['code'],
  taken: number,
  issued: string,
  rest: Partial<DiagnosticReport>
): DiagnosticReport {
  return {
    resourceType: 'DiagnosticReport',
    ...base(ctx, `${prefix}-dr`),
    basedOn: [{ reference: `ServiceRequest/${sr.id}` }],
    status: 'final',
    category: cats.slice(1),
    code,
    effectiveDateTime: iso(taken),
    issued,
    performer: [{ reference: `Organization/${ctx.lab.organizationId}` }],
    ...(ctx.labDoctor ? { resultsInterpreter: [{ reference: `Practitioner/${ctx.labDoctor}` }] } : {}),
    ...rest,
  };
}

function chemistryPanel(ctx: Ctx, n: number, diabetic: boolean): Resource[] {
  const { rng, person } = ctx;
  const taken = ctx.end - rng.int(1, 5 * 365) * DAY - rng.int(7, 11) * 3_600_000;
  const issued = iso(taken + rng.int(3, 30) * 3_600_000);
  const prefix = `lab-${person.patientId}-${n}`;
  const picks: Analyte[] = [ANALYTES.hb, ANALYTES.crp, ANALYTES.creatinine];
  if (diabetic || rng.chance(0.3)) picks.push(ANALYTES.hba1c);
  if (rng.chance(0.3)) picks.push(ANALYTES.alat);
  if (person.age >= 40 && rng.chance(0.4)) picks.push(ANALYTES.cholesterol);
  if (rng.chance(0.2)) picks.push(ANALYTES.tsh);
  const cats = category('medical-biochemistry', 'CH');
  const obs: Observation[] = [];
  for (const a of picks) obs.push(observation(ctx, `${prefix}-${a.key}`, a, value(ctx, a, diabetic), taken, issued, cats));
  const creatinine = obs.find((o) => o.id === `${prefix}-creatinine`)!.valueQuantity!.value!;
  obs.push(observation(ctx, `${prefix}-egfr`, ANALYTES.egfr, egfr(creatinine, person.age, person.gender === 'female'), taken, issued, cats));
  const sr = order(ctx, `${prefix}-sr`, taken, 'Blodprøver');
  const code = { coding: [{ system: LOINC, code: '24323-8', display: 'Comprehensive metabolic 2000 panel - Serum or Plasma' }], text: 'Klinisk kjemi' };
  const report = diagnosticReport(ctx, prefix, sr, cats, code, taken, issued, { result: obs.map((o) => ({ reference: `Observation/${o.id}` })) });
  return [sr, report, ...obs];
}

const SUSCEPTIBILITY = [
  { key: 'amp', loinc: '18864-9', display: 'Ampicillin [Susceptibility]' },
  { key: 'cip', loinc: '18906-8', display: 'Ciprofloxacin [Susceptibility]' },
  { key: 'nit', loinc: '18955-5', display: 'Nitrofurantoin [Susceptibility]' },
];

/** Urine culture: E. coli ≥ 10^5 CFU/mL with three susceptibilities under the isolate (hasMember). */
function urineCulture(ctx: Ctx): Resource[] {
  const { rng, person } = ctx;
  const taken = ctx.end - rng.int(20, 3 * 365) * DAY;
  const issued = iso(taken + rng.int(40, 72) * 3_600_000);
  const prefix = `lab-${person.patientId}-u`;
  const cats = category('microbiology', 'MB');
  const sr = order(ctx, `${prefix}-sr`, taken, 'Urindyrkning');
  const specimen: Specimen = {
    resourceType: 'Specimen',
    ...base(ctx, `${prefix}-sp`),
    type: { coding: [{ system: 'http://snomed.info/sct', code: '122575003', display: 'Urine specimen' }] },
    collection: { collectedDateTime: iso(taken) },
    request: [{ reference: `ServiceRequest/${sr.id}` }],
  };
  const susceptibilities: Observation[] = SUSCEPTIBILITY.map((s) => {
    const resistant = s.key === 'amp' ? rng.chance(0.35) : rng.chance(0.08);
    return {
      resourceType: 'Observation',
      ...base(ctx, `${prefix}-${s.key}`),
      status: 'final',
      category: cats,
      code: { coding: [{ system: LOINC, code: s.loinc, display: s.display }] },
      effectiveDateTime: iso(taken),
      issued,
      specimen: { reference: `Specimen/${specimen.id}` },
      interpretation: [{ coding: [resistant ? { system: INTERPRETATION, code: 'R', display: 'Resistant' } : { system: INTERPRETATION, code: 'S', display: 'Susceptible' }] }],
    };
  });
  const isolate: Observation = {
    resourceType: 'Observation',
    ...base(ctx, `${prefix}-org`),
    status: 'final',
    category: cats,
    code: { coding: [{ system: LOINC, code: '630-4', display: 'Bacteria identified in Urine by Culture' }] },
    effectiveDateTime: iso(taken),
    issued,
    specimen: { reference: `Specimen/${specimen.id}` },
    valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '112283007', display: 'Escherichia coli' }], text: 'E. coli > 10^5 CFU/mL' },
    interpretation: [{ coding: [{ system: INTERPRETATION, code: 'POS', display: 'Positive' }] }],
    hasMember: susceptibilities.map((o) => ({ reference: `Observation/${o.id}` })),
  };
  const code = { coding: [{ system: LOINC, code: '630-4', display: 'Bacteria identified in Urine by Culture' }], text: 'Urindyrkning' };
  const report = diagnosticReport(ctx, prefix, sr, cats, code, taken, issued, {
    specimen: [{ reference: `Specimen/${specimen.id}` }],
    result: [{ reference: `Observation/${isolate.id}` }],
    conclusion: 'Signifikant bakteriuri med E. coli.',
  });
  return [sr, specimen, report, isolate, ...susceptibilities];
}
