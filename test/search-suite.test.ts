/**
 * The search suite of issue 3: a few hundred queries over the Synthea set, each checked against
 * an independent oracle (test/helpers/search-oracle.ts) that evaluates the R4 SearchParameter
 * FHIRPath expressions over the raw JSON. Queries are generated from values present in the data,
 * so every expected answer is computed, never written down. Every page of every query is walked
 * (forward through `next`, and back through `previous` where the query sets `_count`). Queries
 * run with `strict`, so a parameter or modifier the engine does not support fails its query
 * instead of being silently ignored.
 *
 * SEARCH_SUITE_PATIENTS=n limits the patient bundles loaded (default: all 50).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { openTestDb } from './helpers/db.ts';
import { readSynthea, sharedData, storeAll } from './helpers/synthea.ts';
import { SearchOracle, YES, parseSearch, dateNodeRange, strings, tokens } from './helpers/search-oracle.ts';
import type { Db } from '../src/store/db.ts';

const BASE = 'http://samhandling.test/fhir';
const VS_BASE = 'http://samhandling.test/fhir/ValueSet/';
/** Page size used when a query does not ask for one, to keep the number of pages walked small. */
const DEFAULT_COUNT = 250;

interface Query {
  name: string;
  type: string;
  params: [string, string][] | (() => [string, string][]);
  compartment?: string;
  /** Expect an empty answer (a query that proves the engine does not over-match). */
  empty?: boolean;
  /** The filter legitimately keeps every resource of the type (e.g. a tag all carry). */
  allowAll?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Data: the Synthea set plus a few resources derived from it for parameter types Synthea lacks.
// ---------------------------------------------------------------------------------------------

const synthea = readSynthea({ maxPatients: Number(process.env.SEARCH_SUITE_PATIENTS ?? 50) });
const resources: Resource[] = [...synthea, ...derivedFixtures(synthea), ...norwegianExamples()];
const oracle = new SearchOracle(resources, { baseUrl: BASE });

/** Norwegian names (ø) and `meta.profile` values come from the HL7 Norway no-basis examples. */
function norwegianExamples(): Resource[] {
  const dir = path.join(sharedData, 'norway/no-basis/examples');
  return ['Patient-JanniceSoreng', 'Patient-Pasient-1', 'Practitioner-Magnar-Komann-Practitioner', 'Organization-Direktoratet-for-eHelse-Organization'].map(
    (f) => JSON.parse(fs.readFileSync(path.join(dir, `${f}.json`), 'utf8')) as Resource,
  );
}

/**
 * Synthea has no number or uri parameters with values, no value sets and no references by
 * identifier. These resources add them, with every value taken from the Synthea data.
 */
function derivedFixtures(base: Resource[]): Resource[] {
  const patients = base.filter((r) => r.resourceType === 'Patient') as any[];
  const encountersOf = new Map<string, any[]>();
  for (const r of base as any[]) {
    if (r.resourceType !== 'Encounter') continue;
    const p = r.subject.reference;
    if (!encountersOf.has(p)) encountersOf.set(p, []);
    encountersOf.get(p)!.push(r);
  }
  const out: any[] = [];
  patients.forEach((p, i) => {
    const encs = encountersOf.get(`Patient/${p.id}`) ?? [];
    const emergencies = encs.filter((e) => e.class?.code === 'EMER').length;
    const last = encs.map((e) => e.period.start as string).sort().at(-1);
    out.push({
      resourceType: 'RiskAssessment',
      id: `risk-${p.id}`,
      status: 'final',
      subject: { reference: `Patient/${p.id}` },
      ...(last ? { occurrenceDateTime: last } : {}),
      prediction: [
        { outcome: { text: 'Encounter next year' }, probabilityDecimal: Math.round((1000 * encs.length) / (encs.length + 10)) / 1000 },
        ...(emergencies ? [{ outcome: { text: 'Emergency visit' }, probabilityDecimal: Math.round((100 * emergencies) / encs.length) / 100 }] : []),
      ],
    });
    if (i < 12) {
      const ident = p.identifier.find((x: any) => x.system === 'http://hl7.org/fhir/sid/us-ssn') ?? p.identifier[0];
      out.push({
        resourceType: 'Flag',
        id: `flag-${p.id}`,
        status: i % 3 ? 'active' : 'inactive',
        code: { coding: [{ system: 'http://snomed.info/sct', code: '129839007', display: 'At risk for falls' }], text: 'Fall risk' },
        // Every third flag refers to its patient by identifier only (a logical reference).
        subject: i % 3 === 2 ? { identifier: { system: ident.system, value: ident.value } } : { reference: `Patient/${p.id}`, identifier: { system: ident.system, value: ident.value } },
        period: { start: p.birthDate },
      });
    }
  });
  // Value sets of codes that occur in the data, for :in / :not-in and for uri searches on url.
  const codesOf = (type: string, pick: (r: any) => any[]) => {
    const count = new Map<string, number>();
    for (const r of base as any[]) if (r.resourceType === type) for (const c of pick(r)) count.set(`${c.system}|${c.code}`, (count.get(`${c.system}|${c.code}`) ?? 0) + 1);
    return [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
  };
  const valueSet = (id: string, url: string, keys: string[]) => {
    const bySystem = new Map<string, string[]>();
    for (const k of keys) {
      const i = k.lastIndexOf('|');
      if (!bySystem.has(k.slice(0, i))) bySystem.set(k.slice(0, i), []);
      bySystem.get(k.slice(0, i))!.push(k.slice(i + 1));
    }
    return {
      resourceType: 'ValueSet',
      id,
      url,
      status: 'active',
      compose: { include: [...bySystem].map(([system, codes]) => ({ system, concept: codes.map((code) => ({ code })) })) },
      expansion: { timestamp: '2024-01-01T00:00:00Z', contains: keys.map((k) => ({ system: k.slice(0, k.lastIndexOf('|')), code: k.slice(k.lastIndexOf('|') + 1) })) },
    };
  };
  const vital = codesOf('Observation', (r) => (r.category?.[0]?.coding?.[0]?.code === 'vital-signs' ? r.code.coding : []));
  const conditions = codesOf('Condition', (r) => r.code.coding);
  const vaccines = codesOf('Immunization', (r) => r.vaccineCode.coding);
  out.push(
    valueSet('vs-vital-signs', `${VS_BASE}synthea/vital-signs`, vital),
    valueSet('vs-top-conditions', `${VS_BASE}synthea/top-conditions`, conditions.slice(0, 5)),
    valueSet('vs-vaccines', `${VS_BASE}other/vaccines`, vaccines.slice(0, 3)),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Query generation: values are picked from the data; the oracle computes every answer.
// ---------------------------------------------------------------------------------------------

const of = (type: string) => (oracle.byType.get(type) ?? []) as any[];
/** Values of a parameter across resources of a type, most frequent first (ties by value). */
function ranked(type: string, code: string, extract: (r: any) => string[]): string[] {
  const count = new Map<string, number>();
  for (const r of of(type)) for (const v of new Set(extract(r))) count.set(v, (count.get(v) ?? 0) + 1);
  return [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
}
const tokenValues = (type: string, code: string) =>
  ranked(type, code, (r) => oracle.values(r, code).flatMap(tokens).filter((t) => t.system && t.code).map((t) => `${t.system}|${t.code}`));
const codeOnly = (key: string) => key.slice(key.lastIndexOf('|') + 1);
const systemOf = (key: string) => key.slice(0, key.lastIndexOf('|'));
/** The instants (ms) a date parameter takes, sorted. */
const dates = (type: string, code: string) =>
  of(type)
    .flatMap((r) => oracle.values(r, code).map(dateNodeRange))
    .filter((x) => x && Number.isFinite(x.lo))
    .map((x) => x!.lo)
    .sort((a, b) => a - b);
const pct = <T,>(xs: T[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);
const year = (ms: number) => new Date(ms).toISOString().slice(0, 4);
const seconds = (ms: number) => new Date(ms).toISOString().slice(0, 19) + 'Z';
/** The patient with the n-th most resources of a type (a patient with enough data to page through). */
function busyPatient(type: string, code: string, n = 0): string {
  const ps = ranked(type, code, (r) => oracle.referenceKeys(r, code));
  return ps[Math.min(n, ps.length - 1)].split('/')[1];
}
const quantities = (code: string) =>
  of('Observation')
    .filter((r) => r.code.coding[0].code === code && typeof r.valueQuantity?.value === 'number')
    .map((r) => r.valueQuantity)
    .sort((a: any, b: any) => a.value - b.value);
const round = (x: number, d: number) => x.toFixed(d);
/** The n-th Observation of a patient (in data order). */
const someObsOf = (patient: string, n: number) => of('Observation').filter((r) => r.subject.reference === `Patient/${patient}`)[n];

function generateQueries(): Query[] {
  const qs: Query[] = [];
  const add = (type: string, params: Query['params'], extra: Partial<Query> & { label?: string } = {}) => {
    const p = typeof params === 'function' ? extra.label : params.map(([k, v]) => `${k}=${v.length > 80 ? v.slice(0, 80) + '…' : v}`).join('&');
    qs.push({ name: `${extra.compartment ? `Patient/${extra.compartment}/` : ''}${type}?${p}`, type, params, ...extra });
  };

  // ---- token
  const obsCodes = tokenValues('Observation', 'code');
  const rareObs = obsCodes.at(-1)!;
  const midObs = obsCodes[Math.floor(obsCodes.length / 2)];
  const p0 = busyPatient('Observation', 'subject');
  const p1 = busyPatient('Observation', 'subject', 7);
  const p2 = busyPatient('Encounter', 'subject', 20);
  add('Observation', [['code', obsCodes[0]], ['patient', p1]]);
  add('Observation', [['code', midObs]]);
  add('Observation', [['code', rareObs]]);
  add('Observation', [['code', codeOnly(obsCodes[5])]]);
  add('Observation', [['code', `|${codeOnly(obsCodes[5])}`]], { empty: true });
  add('Observation', [['code', `${systemOf(obsCodes[0])}|`], ['patient', p2]]);
  add('Observation', [['code', `${obsCodes[3]},${obsCodes[9]},${codeOnly(rareObs)}`]]);
  add('Observation', [['code', 'http://loinc.org|no-such-code']], { empty: true });
  add('Observation', [['code', `http://snomed.info/sct|${codeOnly(obsCodes[0])}`]], { empty: true });
  const cats = tokenValues('Observation', 'category');
  add('Observation', [['category', cats[1]], ['patient', p0]]);
  const labOfP1 = ranked('Observation', 'code', (r) => (r.subject.reference === `Patient/${p1}` && r.category[0].coding[0].code === codeOnly(cats[0]) ? [r.code.coding[0].code] : []))[0];
  add('Observation', [['category', codeOnly(cats[0])], ['code', labOfP1], ['patient', p1]]);
  add('Observation', [['status:not', 'amended'], ['patient', p1]]);
  add('Observation', [['status:not', 'final']], { empty: true });
  add('Observation', [['status', 'final,amended'], ['code', midObs]]);
  add('Observation', [['value-concept', tokenValues('Observation', 'value-concept')[1]]]);
  add('Observation', [['combo-code', tokenValues('Observation', 'component-code')[0]]]);
  add('Observation', [['component-code', tokenValues('Observation', 'component-code')[1]], ['patient', p2]]);
  const condCodes = tokenValues('Condition', 'code');
  add('Condition', [['code', condCodes[0]]]);
  add('Condition', [['code', condCodes[condCodes.length >> 1]]]);
  add('Condition', [['clinical-status', 'active']]);
  add('Condition', [['clinical-status:not', 'active']]);
  add('Condition', [['clinical-status', 'http://terminology.hl7.org/CodeSystem/condition-clinical|resolved']]);
  add('Condition', [['verification-status:not', 'confirmed']], { empty: true });
  add('Condition', [['clinical-status:not', 'resolved'], ['verification-status', 'confirmed']]);
  add('Encounter', [['class', 'EMER']]);
  add('Encounter', [['class', `${tokenValues('Encounter', 'class')[1]}`], ['patient', p0]]);
  add('Encounter', [['class:not', 'AMB'], ['patient', p2]]);
  add('Encounter', [['type', tokenValues('Encounter', 'type')[3]]]);
  const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
  add('Encounter', [['class:below', `${actCode}|IMP`]]);
  add('Encounter', [['class:below', `${actCode}|_ActEncounterCode`], ['patient', p2]]);
  add('Encounter', [['class:above', `${actCode}|EMER`]]);
  add('Encounter', [['class:below', `${actCode}|_ActInvoiceElementCode`]], { empty: true });
  add('Encounter', [['reason-code:missing', 'false']]);
  add('Encounter', [['reason-code:missing', 'true'], ['patient', p1]]);
  add('MedicationRequest', [['status', 'active']]);
  add('MedicationRequest', [['status', 'stopped'], ['intent', 'order']]);
  add('MedicationRequest', [['code', tokenValues('MedicationRequest', 'code')[0]]]);
  add('Immunization', [['vaccine-code', tokenValues('Immunization', 'vaccine-code')[2]]]);
  add('Procedure', [['code', tokenValues('Procedure', 'code')[1]]]);
  add('Patient', [['gender', 'female']]);
  add('Practitioner', [['gender', 'male']]);
  const pat = of('Patient').find((p) => p.identifier?.some((i: any) => i.system === 'http://hl7.org/fhir/sid/us-ssn'))!;
  const ssn = pat.identifier.find((i: any) => i.system === 'http://hl7.org/fhir/sid/us-ssn');
  add('Patient', [['identifier', `${ssn.system}|${ssn.value}`]]);
  add('Patient', [['identifier', ssn.value]]);
  add('Patient', [['identifier', `http://hl7.org/fhir/sid/us-npi|${ssn.value}`]], { empty: true });
  add('Patient', [['identifier', 'urn:oid:2.16.578.1.12.4.1.4.1|']]);
  add('Patient', [['telecom', pat.telecom[0].value]]);
  add('Patient', [['phone', of('Patient')[3].telecom[0].value]]);
  add('Patient', [['deceased', 'true']]);
  add('Organization', [['active', 'true'], ['type', tokenValues('Organization', 'type')[0]]]);
  add('Practitioner', [['identifier', tokenValues('Practitioner', 'identifier')[4]]]);
  const someObs = of('Observation').filter((r) => r.subject.reference === `Patient/${p1}`);
  add('Observation', [['_id', `${someObs[0].id},${someObs[3].id},${of('Encounter')[0].id}`]]);
  add('Goal', [['_tag', 'https://smarthealthit.org/tags|synthea-5-2019']], { allowAll: true });
  add('Goal', [['_tag:not', 'https://smarthealthit.org/tags|synthea-5-2019']], { empty: true });
  const display = of('Observation').find((r) => r.code.coding[0].code === codeOnly(midObs)).code.coding[0].display as string;
  add('Observation', [['code:text', display.slice(0, Math.max(4, display.indexOf(' ') + 3)).toLowerCase()]]);
  const condDisplay = of('Condition').find((r) => r.code.coding[0].code === codeOnly(condCodes[0])).code.text as string;
  add('Condition', [['code:text', condDisplay.slice(0, 6).toUpperCase()]]);
  add('Observation', [['code:in', `${VS_BASE}synthea/vital-signs`], ['patient', p2]]);
  add('Condition', [['code:in', `${VS_BASE}synthea/top-conditions`]]);
  add('Condition', [['code:not-in', `${VS_BASE}synthea/top-conditions`]]);
  add('Immunization', [['vaccine-code:in', `${VS_BASE}other/vaccines`]]);
  add('Condition', [['clinical-status:in', 'http://hl7.org/fhir/ValueSet/condition-clinical'], ['code', condCodes[1]]]);
  add('Observation', [['category:not-in', 'http://hl7.org/fhir/ValueSet/observation-category'], ['patient', p1]], { empty: true });
  add('Encounter', [['type:in', 'http://hl7.org/fhir/ValueSet/encounter-type']], { empty: true });
  add('ImagingStudy', [['modality', tokenValues('ImagingStudy', 'modality')[0]]]);
  add('ImagingStudy', [['bodysite', codeOnly(tokenValues('ImagingStudy', 'bodysite')[0])]]);
  add('AllergyIntolerance', [['criticality', 'low,high']], { allowAll: true });
  add('AllergyIntolerance', [['code', tokenValues('AllergyIntolerance', 'code')[1]], ['clinical-status', 'active']]);
  add('AllergyIntolerance', [['category', 'medication']], { empty: true });
  add('CarePlan', [['activity-code', tokenValues('CarePlan', 'activity-code')[2]], ['status', 'active,completed']]);
  add('ExplanationOfBenefit', [['identifier', tokenValues('ExplanationOfBenefit', 'identifier').at(-1)!]]);
  add('Claim', [['use', 'claim'], ['status:not', 'active']], { empty: true });

  // ---- string
  const families = ranked('Patient', 'family', (r) => oracle.values(r, 'family').flatMap(strings));
  const fam = families.find((f) => /^[A-Za-z]{4,}/.test(f))!;
  add('Patient', [['name', fam.slice(0, 3).toLowerCase()]]);
  add('Patient', [['given', of('Patient')[5].name[0].given[0].slice(0, 4).toUpperCase()]]);
  add('Patient', [['family:exact', fam]]);
  add('Patient', [['family:exact', fam.toLowerCase()]], { empty: true });
  add('Patient', [['name:contains', fam.slice(2, 5)]]);
  add('Patient', [['name', `${fam.slice(0, 4)},${families[9].slice(0, 3)}`]]);
  add('Patient', [['name', 'zzqx']], { empty: true });
  add('Patient', [['name', 'søreng']]);
  add('Patient', [['family', 'SØR']]);
  add('Patient', [['family:exact', 'Søreng']]);
  const cities = ranked('Patient', 'address-city', (r) => oracle.values(r, 'address-city').flatMap(strings));
  add('Patient', [['address-city', cities[0]]]);
  add('Patient', [['address-city', cities[2].slice(0, 3).toLowerCase()], ['gender', 'male']]);
  add('Patient', [['address-state', 'massachusetts']]);
  add('Patient', [['address-postalcode', of('Patient')[2].address[0].postalCode?.slice(0, 3) ?? '01']]);
  add('Patient', [['address', of('Patient')[4].address[0].line[0].split(' ')[0]]]);
  const orgNames = ranked('Organization', 'name', (r) => oracle.values(r, 'name').flatMap(strings));
  add('Organization', [['name', orgNames[3].slice(0, 5).toLowerCase()]]);
  add('Organization', [['name:contains', 'hospital']]);
  add('Organization', [['name:exact', orgNames[7]]]);
  add('Organization', [['address-city', ranked('Organization', 'address-city', (r) => oracle.values(r, 'address-city').flatMap(strings))[1]]]);
  add('Organization', [['name', 'direktoratet for e']]);
  const prac = of('Practitioner')[10];
  add('Practitioner', [['name', prac.name[0].family.slice(0, 4)]]);
  add('Practitioner', [['family', prac.name[0].family], ['given', prac.name[0].given[0].slice(0, 2)]]);
  add('Practitioner', [['given:contains', 'agn']]);
  const strVals = ranked('Observation', 'value-string', (r) => oracle.values(r, 'value-string').flatMap(strings));
  add('Observation', [['value-string', strVals[0].slice(0, 5).toLowerCase()]]);

  // ---- date
  const obsDates = dates('Observation', 'date');
  const mid = pct(obsDates, 0.5);
  const late = pct(obsDates, 0.97);
  const code1 = obsCodes[1];
  add('Observation', [['date', day(mid)]]);
  add('Observation', [['date', `eq${month(mid)}`], ['code', code1]]);
  add('Observation', [['date', year(mid)], ['patient', p0]]);
  add('Observation', [['date', `ne${year(mid)}`], ['patient', p1]]);
  add('Observation', [['date', `gt${day(late)}`]]);
  add('Observation', [['date', `lt${day(pct(obsDates, 0.03))}`]]);
  add('Observation', [['date', `ge${day(late)}`], ['code', code1]]);
  add('Observation', [['date', `le${day(pct(obsDates, 0.1))}`], ['code', code1]]);
  add('Observation', [['date', `sa${month(late)}`]]);
  add('Observation', [['date', `eb${month(pct(obsDates, 0.05))}`]]);
  add('Observation', [['date', `ap${day(Date.parse(someObsOf(p1, 10).effectiveDateTime))}`], ['patient', p1]]);
  add('Observation', [['date', seconds(mid)]]);
  // The same instant written in another time zone.
  add('Observation', [['date', new Date(late + 2 * 3600_000).toISOString().slice(0, 19) + '+02:00']]);
  add('Observation', [['date', `ge${day(pct(obsDates, 0.4))}`], ['date', `lt${day(pct(obsDates, 0.45))}`], ['code', code1]]);
  add('Observation', [['date', `gt${seconds(late)}`], ['patient', p2]]);
  add('Observation', [['date', 'lt1800']], { empty: true });
  const encDates = dates('Encounter', 'date');
  const encMid = pct(encDates, 0.6);
  add('Encounter', [['date', day(encMid)]]);
  add('Encounter', [['date', `sa${day(pct(encDates, 0.9))}`]]);
  add('Encounter', [['date', `eb${year(pct(encDates, 0.1))}`]]);
  add('Encounter', [['date', `gt${day(encMid)}`], ['patient', p0]]);
  add('Encounter', [['date', `lt${day(encMid)}`], ['patient', p0]]);
  add('Encounter', [['date', `ge${month(encMid)}`], ['date', `le${month(pct(encDates, 0.65))}`]]);
  add('Encounter', [['date', `ne${year(encMid)}`], ['patient', p2]]);
  add('Encounter', [['date', `ap${month(pct(encDates, 0.95))}`]]);
  const births = dates('Patient', 'birthdate');
  add('Patient', [['birthdate', day(pct(births, 0.3))]]);
  add('Patient', [['birthdate', `lt${year(pct(births, 0.5))}`]]);
  add('Patient', [['birthdate', `ge${year(pct(births, 0.8))}`]]);
  add('Patient', [['birthdate', `ap${year(pct(births, 0.5))}`]]);
  add('Patient', [['death-date:missing', 'false']]);
  add('Condition', [['onset-date', `ge${year(pct(dates('Condition', 'onset-date'), 0.7))}`]]);
  add('Condition', [['abatement-date:missing', 'true'], ['onset-date', `le${year(pct(dates('Condition', 'onset-date'), 0.5))}`]]);
  const cpDates = dates('CarePlan', 'date');
  add('CarePlan', [['date', year(pct(cpDates, 0.7))]]);
  add('CarePlan', [['date', `gt${day(pct(cpDates, 0.95))}`]]);
  const mrDates = dates('MedicationRequest', 'authoredon');
  add('MedicationRequest', [['authoredon', `ge${day(pct(mrDates, 0.3))}`], ['authoredon', `le${day(pct(mrDates, 0.6))}`]]);
  add('DiagnosticReport', [['issued', `gt${new Date(pct(dates('DiagnosticReport', 'issued'), 0.8)).toISOString()}`]]);
  add('Claim', [['created', `lt${month(pct(dates('Claim', 'created'), 0.05))}`]]);
  add('ExplanationOfBenefit', [['created', year(pct(dates('ExplanationOfBenefit', 'created'), 0.5))]]);
  add('Immunization', [['date', year(pct(dates('Immunization', 'date'), 0.5))]]);
  const prDates = dates('Procedure', 'date');
  add('Procedure', [['date', `ge${day(pct(prDates, 0.5))}`], ['date', `lt${day(pct(prDates, 0.7))}`]]);
  add('Flag', [['date', `le${year(pct(births, 0.5))}`]]);
  add('RiskAssessment', [['date', `ge${year(pct(dates('RiskAssessment', 'date'), 0.5))}`]]);

  // ---- _lastUpdated: the data is stored in two transactions (see loadInTwoBatches), so the
  // stored instants split it; the values exist only once stored, so these are computed then.
  const stored = (type: string) => of(type).map((r) => Date.parse(r.meta.lastUpdated)).sort((a, b) => a - b);
  const iso = (ms: number) => new Date(ms).toISOString();
  add('Goal', () => [['_lastUpdated', `ge${iso(stored('Goal')[0])}`]], { label: '_lastUpdated=ge<first stored>', allowAll: true });
  add('Goal', () => [['_lastUpdated', `lt${iso(stored('Goal')[0] - 60_000)}`]], { label: '_lastUpdated=lt<a minute before the first>', empty: true });
  add('Goal', () => [['_lastUpdated', iso(stored('Goal')[0])]], { label: '_lastUpdated=<first batch instant, ms>' });
  add('Observation', () => [['_lastUpdated', `gt${iso(stored('Observation')[0])}`], ['code', obsCodes[4]]], { label: `_lastUpdated=gt<first batch>&code=${obsCodes[4]}` });
  add('Condition', () => [['_lastUpdated', `sa${iso(stored('Condition')[0])}`]], { label: '_lastUpdated=sa<first batch>' });
  add('Condition', () => [['_lastUpdated', `eb${iso(stored('Condition').at(-1)!)}`]], { label: '_lastUpdated=eb<second batch>' });
  add('Encounter', () => [['_lastUpdated', `le${iso(stored('Encounter')[0])}`], ['class', 'EMER']], { label: '_lastUpdated=le<first batch>&class=EMER' });

  // ---- number (RiskAssessment.prediction.probability)
  const probs = of('RiskAssessment').flatMap((r) => r.prediction.map((p: any) => p.probabilityDecimal)).sort((a, b) => a - b);
  const pm = pct(probs, 0.5);
  add('RiskAssessment', [['probability', round(pm, 3)]]);
  add('RiskAssessment', [['probability', round(pct(probs, 0.2), 2)]]);
  add('RiskAssessment', [['probability', `ne${round(pm, 3)}`]]);
  add('RiskAssessment', [['probability', `gt${round(pct(probs, 0.8), 3)}`]]);
  add('RiskAssessment', [['probability', `lt${round(pct(probs, 0.1), 3)}`]]);
  add('RiskAssessment', [['probability', `ge${round(pct(probs, 0.9), 3)}`]]);
  add('RiskAssessment', [['probability', `le${round(pct(probs, 0.15), 3)}`]]);
  add('RiskAssessment', [['probability', `sa${round(pct(probs, 0.85), 3)}`]]);
  add('RiskAssessment', [['probability', `eb${round(pct(probs, 0.12), 3)}`]]);
  add('RiskAssessment', [['probability', `ap${round(pm, 2)}`]]);
  add('RiskAssessment', [['probability', '2']], { empty: true });
  add('RiskAssessment', [['probability', `gt${round(pct(probs, 0.3), 2)}`], ['probability', `lt${round(pct(probs, 0.6), 2)}`]]);

  // ---- quantity (Observation values)
  const heightCode = '8302-2';
  const hs = quantities(heightCode);
  const hMid = hs[hs.length >> 1];
  add('Observation', [['value-quantity', `gt${round(pct(hs, 0.9).value, 1)}|http://unitsofmeasure.org|${hMid.code}`]]);
  add('Observation', [['value-quantity', `lt${round(pct(hs, 0.1).value, 1)}|http://unitsofmeasure.org|${hMid.code}`]]);
  add('Observation', [['value-quantity', `ge${round(pct(hs, 0.9).value, 0)}||${hMid.unit}`], ['code', heightCode]]);
  add('Observation', [['value-quantity', `le${round(pct(hs, 0.1).value, 2)}`], ['code', heightCode]]);
  add('Observation', [['value-quantity', `${round(hMid.value, 1)}|http://unitsofmeasure.org|${hMid.code}`]]);
  add('Observation', [['value-quantity', `${round(hMid.value, 0)}`], ['code', heightCode]]);
  add('Observation', [['value-quantity', `ne${round(hMid.value, 0)}`], ['patient', p1], ['code', heightCode]]);
  add('Observation', [['value-quantity', `ap${round(hMid.value, 0)}|http://unitsofmeasure.org|${hMid.code}`]]);
  add('Observation', [['value-quantity', `sa${round(pct(hs, 0.95).value, 1)}`], ['code', heightCode]]);
  add('Observation', [['value-quantity', `eb${round(pct(hs, 0.05).value, 1)}`], ['code', heightCode]]);
  add('Observation', [['value-quantity', `gt${round(hMid.value, 1)}|http://unitsofmeasure.org|kg`]], { empty: true });
  const glucose = tokenValues('Observation', 'code').map(codeOnly).find((c) => c === '2339-0') ?? codeOnly(obsCodes[6]);
  const gs = quantities(glucose);
  if (gs.length) add('Observation', [['value-quantity', `lt${round(pct(gs, 0.3).value, 1)}|${gs[0].system}|${gs[0].code}`]]);
  add('Observation', [['value-quantity:missing', 'true'], ['patient', p1]]);
  add('Observation', [['component-value-quantity', 'gt140']]);
  add('Observation', [['combo-value-quantity', `lt70|http://unitsofmeasure.org|mm[Hg]`]]);

  // ---- composite
  add('Observation', [['code-value-quantity', `http://loinc.org|${heightCode}$gt${round(pct(hs, 0.7).value, 0)}`]]);
  add('Observation', [['component-code-value-quantity', 'http://loinc.org|8480-6$gt130']]);
  add('Observation', [['component-code-value-quantity', 'http://loinc.org|8462-4$lt70|http://unitsofmeasure.org|mm[Hg]']]);
  add('Observation', [['combo-code-value-quantity', 'http://loinc.org|8462-4$ge90']]);
  // systolic code with a diastolic-range value: only a per-component match may exclude this
  add('Observation', [['component-code-value-quantity', 'http://loinc.org|8480-6$lt75']], { empty: true });
  const concepts = of('Observation').filter((r) => r.valueCodeableConcept?.coding?.length);
  const cv = concepts[Math.floor(concepts.length / 3)];
  add('Observation', [['code-value-concept', `${cv.code.coding[0].system}|${cv.code.coding[0].code}$${cv.valueCodeableConcept.coding[0].system}|${cv.valueCodeableConcept.coding[0].code}`]]);
  add('Observation', [['code-value-concept', `${cv.code.coding[0].system}|${cv.code.coding[0].code}$${cv.valueCodeableConcept.coding[0].code},${obsCodes[0]}$x`]]);

  // ---- reference
  add('Observation', [['subject', `Patient/${p1}`]]);
  add('Observation', [['subject', p2]]);
  add('Observation', [['subject:Patient', p2], ['code', obsCodes[0]]]);
  add('Observation', [['patient', `${BASE}/Patient/${p2}`], ['category', cats[0]]]);
  const enc = oracle.byKey.get(someObsOf(p0, 5).encounter.reference) as any;
  add('Observation', [['encounter', `Encounter/${enc.id}`]]);
  const pr = oracle.referenceKeys(enc, 'participant')[0];
  add('Encounter', [['participant', pr]]);
  add('Encounter', [['practitioner', pr.split('/')[1]], ['date', `ge${year(encMid)}`]]);
  add('Encounter', [['service-provider', oracle.referenceKeys(enc, 'service-provider')[0]]]);
  const report = of('DiagnosticReport')[5];
  add('DiagnosticReport', [['result', report.result[2].reference]]);
  add('Observation', [['subject', `Patient/${p0},Patient/${p2}`], ['code', obsCodes[1]]]);
  const hundred = of('Encounter').slice(0, 100).map((e) => `Encounter/${e.id}`);
  add('Observation', [['encounter', hundred.join(',')]]);
  add('Condition', [['encounter', hundred.map((h) => h.split('/')[1]).join(',')]]);
  const flags = of('Flag');
  const flagIdent = flags[2].subject.identifier;
  add('Flag', [['subject:identifier', `${flagIdent.system}|${flagIdent.value}`]]);
  add('Flag', [['subject:identifier', flags[4].subject.identifier.value]]);
  add('Flag', [['patient:missing', 'true']]);
  add('Flag', [['patient', flags[0].subject.reference]]);
  add('Observation', [['subject', 'Patient/does-not-exist']], { empty: true });
  add('CarePlan', [['goal:missing', 'false']]);
  add('Claim', [['provider:Organization', oracle.referenceKeys(of('Claim')[0], 'provider')[0].split('/')[1]]]);
  add('ExplanationOfBenefit', [['provider:Organization', oracle.referenceKeys(of('Claim')[0], 'provider')[0].split('/')[1]]], { empty: true });

  // ---- uri
  add('ValueSet', [['url', `${VS_BASE}synthea/vital-signs`]]);
  add('ValueSet', [['url:below', `${VS_BASE}synthea/`]]);
  add('ValueSet', [['url:below', BASE]], { allowAll: true });
  add('ValueSet', [['url:above', `${VS_BASE}synthea/top-conditions/version/2`]]);
  add('ValueSet', [['url', `${VS_BASE}synthea`]], { empty: true });
  add('ValueSet', [['reference', 'http://loinc.org']]);
  add('Patient', [['_profile', 'http://hl7.no/fhir/ig/StructureDefinition/no-basis-Patient']]);
  add('Practitioner', [['_profile:below', 'http://hl7.no/fhir/ig/StructureDefinition/']]);
  add('Goal', [['_profile:missing', 'true']], { allowAll: true });

  // ---- chains
  add('Observation', [['subject:Patient.name', fam.slice(0, 4)], ['code', obsCodes[2]]]);
  add('Observation', [['patient.gender', 'female'], ['code', midObs]]);
  const orgName = oracle.byKey.get(oracle.referenceKeys(enc, 'service-provider')[0]) as any;
  add('Encounter', [['service-provider.name', orgName.name.slice(0, 6)]]);
  add('Observation', [['encounter.service-provider.name', orgName.name], ['code', obsCodes[3]]]);
  const pracRes = oracle.byKey.get(pr) as any;
  add('Observation', [['encounter.practitioner.family', pracRes.name[0].family], ['category', cats[1]]]);
  add('ExplanationOfBenefit', [['claim.encounter.service-provider.address-city', orgName.address[0].city]]);
  const resultCode = (oracle.byKey.get(of('DiagnosticReport')[7].result[0].reference) as any).code.coding[0];
  add('DiagnosticReport', [['result.code', `${resultCode.system}|${resultCode.code}`]]);
  add('MedicationRequest', [['requester:Practitioner.name', (oracle.byKey.get(oracle.referenceKeys(of('MedicationRequest')[0], 'requester')[0]) as any).name[0].family]]);
  add('Observation', [['subject:Patient.identifier', `${ssn.system}|${ssn.value}`]]);
  add('Claim', [['patient.birthdate', `lt${year(pct(births, 0.3))}`]]);
  add('Observation', [['encounter.class', 'EMER']]);
  add('Condition', [['encounter.subject:Patient.address-city', cities[1]]]);
  add('Observation', [['patient.name', 'zzqx']], { empty: true });

  // ---- _has
  add('Patient', [['_has:Observation:patient:code', rareObs]]);
  add('Patient', [['_has:Condition:patient:code', condCodes[3]]]);
  add('Patient', [['_has:Encounter:patient:_has:Condition:encounter:code', condCodes[1]]]);
  add('Encounter', [['_has:Observation:encounter:code', someObsOf(p0, 30).code.coding[0].code], ['patient', p0]]);
  add('Practitioner', [['_has:Encounter:practitioner:class', 'EMER']]);
  add('Organization', [['_has:Encounter:service-provider:date', `ge${year(pct(encDates, 0.97))}`]]);
  add('Patient', [['_has:MedicationRequest:patient:status', 'active'], ['gender', 'male']]);
  const reportCode = tokenValues('DiagnosticReport', 'code')[1];
  add('Patient', [['_has:Observation:patient:_has:DiagnosticReport:result:code', reportCode]]);
  add('Patient', [['_has:Condition:patient:code', condCodes[0]], ['_has:Condition:patient:code', condCodes[2]]]);
  add('Patient', [['_has:Observation:patient:code', 'http://loinc.org|no-such-code']], { empty: true });

  // ---- _include / _revinclude
  add('Observation', [['code', rareObs], ['_include', 'Observation:patient']]);
  add('Observation', [['code', obsCodes[1]], ['patient', p1], ['_include', 'Observation:encounter']]);
  add('MedicationRequest', [['status', 'active'], ['_include', 'MedicationRequest:requester'], ['_count', '10']]);
  add('Encounter', [['class', 'EMER'], ['_revinclude', 'Condition:encounter']]);
  add('Patient', [['name', fam.slice(0, 4)], ['_revinclude', 'Encounter:patient']]);
  add('ExplanationOfBenefit', [['patient', p2], ['_include', 'ExplanationOfBenefit:claim'], ['_include:iterate', 'Claim:encounter'], ['_count', '15']]);
  add('DiagnosticReport', [['patient', p2], ['_include', 'DiagnosticReport:result'], ['_include:iterate', 'Observation:encounter'], ['_include:iterate', 'Encounter:service-provider'], ['_count', '8']]);
  add('Encounter', [['patient', p2], ['class', 'AMB'], ['_revinclude', 'Observation:encounter'], ['_revinclude:iterate', 'DiagnosticReport:result'], ['_count', '12']]);
  add('Observation', [['code', obsCodes[7]], ['date', `ge${year(late)}`], ['_include', 'Observation:subject:Patient']]);
  add('CarePlan', [['patient', busyPatient('CarePlan', 'subject')], ['_include', 'CarePlan:goal'], ['_include', 'CarePlan:condition']]);
  add('Encounter', [['patient', p1], ['_include', 'Encounter:participant'], ['_include', 'Encounter:service-provider'], ['_count', '5']]);
  add('Goal', [['_revinclude', 'CarePlan:goal'], ['_count', '20']]);
  add('Patient', [['_id', p0], ['_revinclude', 'Flag:subject'], ['_revinclude', 'RiskAssessment:subject']]);

  // ---- _sort and paging
  add('Observation', [['patient', p0], ['_sort', 'date'], ['_count', '7']]);
  add('Observation', [['patient', p1], ['_sort', '-date,_id'], ['_count', '13']]);
  add('Observation', [['code', heightCode], ['_sort', '-value-quantity'], ['_count', '40']]);
  add('Patient', [['_sort', 'family,given'], ['_count', '9']]);
  add('Patient', [['_sort', '-birthdate'], ['_count', '11']]);
  add('Condition', [['_sort', 'code,-onset-date'], ['_count', '25']]);
  add('Encounter', [['patient', p0], ['_sort', '-date'], ['_count', '6']]);
  add('Immunization', [['_sort', 'date,_id'], ['_count', '60']]);
  add('MedicationRequest', [['_sort', 'status,-authoredon'], ['_count', '13']]);
  add('Observation', [['category', cats[1]], ['_count', '50']]);
  add('Claim', [['_count', '100']]);
  add('RiskAssessment', [['_sort', '-probability'], ['_count', '7']]);
  add('Organization', [['_sort', 'name'], ['_count', '20']]);
  add('ExplanationOfBenefit', [['_sort', 'created'], ['_count', '200']]);
  add('Procedure', [['_sort', '-date,code'], ['_count', '30']]);
  add('Observation', [['patient', p2], ['date', `ge${year(mid)}`], ['_sort', 'code,-date'], ['_count', '1']]);

  // ---- compartment searches
  add('Observation', [['code', obsCodes[0]]], { compartment: p1 });
  add('Encounter', [['_sort', 'date'], ['_count', '10']], { compartment: p2 });
  add('Condition', [], { compartment: p0 });
  add('Flag', [], { compartment: flags[0].subject.reference.split('/')[1] });
  add('Observation', [['category', cats[0]], ['_count', '17']], { compartment: p0 });

  // ---- totals
  add('Observation', [['code', midObs], ['_total', 'accurate']]);
  add('Condition', [['clinical-status', 'active'], ['_summary', 'count']]);
  return qs;
}

const queries = generateQueries();

// ---------------------------------------------------------------------------------------------
// Running and checking
// ---------------------------------------------------------------------------------------------

type SearchFn = (db: Db, input: { resourceType?: string; params: [string, string][]; compartment?: { type: 'Patient'; id: string }; baseUrl: string; strict?: boolean }) => Promise<Bundle>;

interface Walked {
  pages: { matches: string[]; includes: string[]; bundle: Bundle }[];
  matches: string[];
}

async function walk(search: SearchFn, db: Db, q: Query, params: [string, string][]): Promise<Walked> {
  const compartment = q.compartment ? { type: 'Patient' as const, id: q.compartment } : undefined;
  const pages: Walked['pages'] = [];
  let current = params;
  for (let n = 0; ; n++) {
    assert.ok(n < 400, 'more than 400 pages: the next links do not end');
    const bundle = await search(db, { resourceType: q.type, params: current, compartment, baseUrl: BASE, strict: true });
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'searchset');
    const matches: string[] = [];
    const includes: string[] = [];
    for (const e of bundle.entry ?? []) {
      const r = e.resource!;
      const key = `${r.resourceType}/${r.id}`;
      if (e.search?.mode === 'match') matches.push(key);
      else if (e.search?.mode === 'include') includes.push(key);
      else assert.fail(`entry ${key} has search mode ${e.search?.mode}: ${JSON.stringify(r).slice(0, 300)}`);
    }
    pages.push({ matches, includes, bundle });
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) break;
    current = [...new URL(next).searchParams.entries()];
  }
  return { pages, matches: pages.flatMap((p) => p.matches) };
}

function describeKeys(keys: string[]): string {
  return keys.slice(0, 5).join(', ') + (keys.length > 5 ? ` … (${keys.length})` : '');
}

async function check(search: SearchFn, db: Db, q: Query): Promise<void> {
  const given = typeof q.params === 'function' ? q.params() : q.params;
  const params: [string, string][] = given.some(([k]) => k === '_count') || given.some(([k, v]) => k === '_summary' && v === 'count') ? given : [...given, ['_count', String(DEFAULT_COUNT)]];
  const expected = oracle.search(q.type, params, q.compartment);
  const parsed = expected.parsed;
  const must = [...expected.verdicts].filter(([, v]) => v === YES).map(([k]) => k);
  const summaryCount = params.some(([k, v]) => k === '_summary' && v === 'count');

  if (q.empty) assert.equal(expected.verdicts.size, 0, 'the oracle finds matches for a query meant to be empty');
  else assert.ok(must.length > 0 || summaryCount, 'the oracle finds no sure match: the generated query is trivial');

  const walked = await walk(search, db, q, params);
  if (summaryCount) {
    const b = walked.pages[0].bundle;
    assert.equal(b.total, must.length, '_summary=count total');
    assert.equal(walked.matches.length, 0, '_summary=count returns no resources');
    return;
  }

  // No duplicates across pages, nothing missing, nothing extra.
  const seen = new Set<string>();
  const dups = walked.matches.filter((k) => (seen.has(k) ? true : (seen.add(k), false)));
  assert.deepEqual(dups, [], `resources repeated across pages: ${describeKeys(dups)}`);
  const missing = must.filter((k) => !seen.has(k));
  const extra = [...seen].filter((k) => !expected.verdicts.has(k));
  assert.ok(
    missing.length === 0 && extra.length === 0,
    `expected ${must.length}${expected.verdicts.size > must.length ? `(+${expected.verdicts.size - must.length} optional)` : ''}, got ${seen.size}; missing: ${describeKeys(missing)}; unexpected: ${describeKeys(extra)}`,
  );

  // Page sizes honour _count; only the last page may be short of it... and pages are not empty
  // except when the whole result is.
  if (parsed.count !== undefined)
    walked.pages.forEach((p, i) => {
      assert.ok(p.matches.length <= parsed.count!, `page ${i + 1} has ${p.matches.length} matches for _count=${parsed.count}`);
      if (i < walked.pages.length - 1) assert.ok(p.matches.length > 0, `page ${i + 1} is empty but has a next link`);
    });

  // Paging back: the previous links from the last page retrace the same pages, in reverse.
  if (given.some(([k]) => k === '_count') && walked.pages.length > 1) {
    const compartment = q.compartment ? { type: 'Patient' as const, id: q.compartment } : undefined;
    let bundle = walked.pages.at(-1)!.bundle;
    for (let i = walked.pages.length - 2; i >= 0; i--) {
      const prev = bundle.link?.find((l) => l.relation === 'previous')?.url;
      assert.ok(prev, `page ${i + 2} has no previous link`);
      bundle = await search(db, { resourceType: q.type, params: [...new URL(prev).searchParams.entries()], compartment, baseUrl: BASE, strict: true });
      const back = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
      assert.deepEqual(back, walked.pages[i].matches, `page ${i + 1} reached through previous differs from the one reached through next`);
    }
    assert.ok(!bundle.link?.some((l) => l.relation === 'previous'), 'the first page has a previous link');
  }

  // Order as requested.
  if (parsed.sort.length)
    for (let i = 1; i < walked.matches.length; i++) {
      const [a, b] = [walked.matches[i - 1], walked.matches[i]];
      assert.ok(
        oracle.compareForSort(parsed, a, b) <= 0,
        `out of order at ${i}: ${a} (${parsed.sort.map((s) => oracle.sortKey(a, s.code, s.desc)).join(',')}) before ${b} (${parsed.sort.map((s) => oracle.sortKey(b, s.code, s.desc)).join(',')})`,
      );
    }

  // Included resources, page by page: exactly what that page's matches bring in.
  if (parsed.include.length)
    walked.pages.forEach((p, i) => {
      const want = oracle.includes(parsed, p.matches);
      const got = new Set(p.includes);
      const lacking = [...want].filter((k) => !got.has(k));
      const surplus = [...got].filter((k) => !want.has(k));
      assert.ok(lacking.length === 0 && surplus.length === 0, `page ${i + 1} includes: missing ${describeKeys(lacking)}; unexpected ${describeKeys(surplus)}`);
      assert.equal(p.includes.length, got.size, `page ${i + 1} repeats an included resource`);
    });
  else walked.pages.forEach((p, i) => assert.deepEqual(p.includes, [], `page ${i + 1} has include entries without _include`));

  if (params.some(([k, v]) => k === '_total' && v === 'accurate') && must.length === expected.verdicts.size)
    assert.equal(walked.pages[0].bundle.total, must.length, '_total=accurate');
}

// The oracle itself, on cases checked by hand against the spec's examples.
describe('oracle', () => {
  const r = (x: any) => x as Resource;
  const small = new SearchOracle(
    [
      r({ resourceType: 'Patient', id: 'a', name: [{ family: 'Søreng', given: ['Jannice'] }], birthDate: '1980-05', gender: 'female' }),
      r({ resourceType: 'Patient', id: 'b', name: [{ family: 'Hansen', given: ['Åse'] }], birthDate: '1980-05-20' }),
      r({ resourceType: 'Encounter', id: 'e', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/a' }, period: { start: '2020-01-01T10:00:00Z', end: '2020-01-03T10:00:00Z' } }),
      r({
        resourceType: 'Observation', id: 'bp', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] }, subject: { reference: 'Patient/b' },
        component: [
          { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: 120, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
          { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: { value: 80, system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        ],
      }),
    ],
    { baseUrl: BASE },
  );
  const ids = (type: string, params: [string, string][]) => [...small.search(type, params).verdicts].filter(([, v]) => v === YES).map(([k]) => k).sort();
  test('strings: case- and accent-insensitive prefix; :exact is exact', () => {
    assert.deepEqual(ids('Patient', [['name', 'SØR']]), ['Patient/a']);
    assert.deepEqual(ids('Patient', [['given', 'ase']]), ['Patient/b']);
    assert.deepEqual(ids('Patient', [['family:exact', 'søreng']]), []);
    assert.deepEqual(ids('Patient', [['name:contains', 'ren']]), ['Patient/a']);
  });
  test('dates: partial dates are ranges; prefixes compare ranges', () => {
    assert.deepEqual(ids('Patient', [['birthdate', '1980-05']]), ['Patient/a', 'Patient/b']);
    assert.deepEqual(ids('Patient', [['birthdate', '1980-05-20']]), ['Patient/b']); // 1980-05 is wider than the day
    assert.deepEqual(ids('Patient', [['birthdate', 'gt1980-05-20']]), ['Patient/a']); // May ends after the 20th
    assert.deepEqual(ids('Patient', [['birthdate', 'lt1980-05-20']]), ['Patient/a']);
    assert.deepEqual(ids('Encounter', [['date', '2020-01-02']]), []); // the period is wider than the day
    assert.deepEqual(ids('Encounter', [['date', 'eq2020-01']]), ['Encounter/e']);
    assert.deepEqual(ids('Encounter', [['date', 'sa2019-12-31']]), ['Encounter/e']);
    assert.deepEqual(ids('Encounter', [['date', 'sa2020-01-01']]), []);
    assert.deepEqual(ids('Encounter', [['date', 'eb2020-01-04']]), ['Encounter/e']);
    assert.deepEqual(ids('Encounter', [['date', 'ne2020-01-02']]), ['Encounter/e']);
  });
  test('composite: components match within the same component', () => {
    assert.deepEqual(ids('Observation', [['component-code-value-quantity', 'http://loinc.org|8480-6$120']]), ['Observation/bp']);
    assert.deepEqual(ids('Observation', [['component-code-value-quantity', 'http://loinc.org|8480-6$80']]), []);
    assert.deepEqual(ids('Observation', [['component-value-quantity', 'lt80.5|http://unitsofmeasure.org|mm[Hg]']]), ['Observation/bp']);
    assert.deepEqual(ids('Observation', [['component-value-quantity', '79.5']]), []); // [79.45, 79.55)
  });
  test('tokens, :not, references, chains and _has', () => {
    assert.deepEqual(ids('Patient', [['gender:not', 'female']]), ['Patient/b']);
    assert.deepEqual(ids('Encounter', [['subject', 'a']]), ['Encounter/e']);
    assert.deepEqual(ids('Encounter', [['subject:Patient.name', 'soreng']]), []); // ø is a letter of its own, not o + accent
    assert.deepEqual(ids('Encounter', [['patient.name', 'søreng']]), ['Encounter/e']);
    assert.deepEqual(ids('Patient', [['_has:Encounter:patient:class', 'AMB']]), ['Patient/a']);
    assert.deepEqual(ids('Patient', [['_has:Observation:patient:code', 'http://loinc.org|85354-9']]), ['Patient/b']);
  });
});

/**
 * Stores the data in two transactions, the patients of the first half of the set with the
 * shared resources, then the rest, so `_lastUpdated` has two distinct instants to tell apart.
 */
async function loadInTwoBatches(repo: Parameters<typeof storeAll>[0]): Promise<void> {
  const patientIds = of('Patient').map((p) => p.id as string);
  const secondHalf = new Set(patientIds.slice(Math.ceil(patientIds.length / 2)));
  const patientOf = (r: any): string | undefined =>
    r.resourceType === 'Patient' ? r.id : oracle.param(r.resourceType, 'patient') ? oracle.referenceKeys(r, 'patient')[0]?.split('/')[1] : undefined;
  const later = resources.filter((r) => secondHalf.has(patientOf(r)!));
  const first = resources.filter((r) => !secondHalf.has(patientOf(r)!));
  await storeAll(repo, first);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await storeAll(repo, later);
}

describe('generated queries', () => {
  test(`at least 150, with unique names (${queries.length})`, () => {
    assert.ok(queries.length >= 150, `${queries.length} queries`);
    const names = queries.map((q) => q.name);
    assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], 'query names are unique');
  });
  test('cover every parameter type, modifier, prefix and search feature', () => {
    const seen = new Set<string>();
    for (const q of queries) {
      if (typeof q.params === 'function') continue;
      const keys = q.params.map(([k]) => k);
      if (q.compartment) seen.add('compartment');
      for (const [k, v] of q.params) {
        if (k.startsWith('_has:')) seen.add(k.split(':').filter((x) => x === '_has').length > 1 ? '_has nested' : '_has');
        else if (k.includes('.')) seen.add(k.split('.').length > 2 ? 'chain 2+' : 'chain');
        else if (k === '_sort') seen.add(v.includes(',') ? '_sort several' : '_sort').add(v.includes('-') ? '_sort desc' : '_sort asc');
        else if (k.startsWith('_include') || k.startsWith('_revinclude')) seen.add(k);
        else if (k === '_count') seen.add('_count');
        else if (!k.startsWith('_') || ['_id', '_tag', '_profile', '_lastUpdated'].includes(k.split(':')[0])) {
          const [code, mod] = k.split(':');
          const sp = oracle.param(q.type, code)!;
          seen.add(sp.type!);
          if (mod) seen.add(/^[A-Z]/.test(mod) ? ':[type]' : `:${mod}`);
          if (v.includes(',')) seen.add('OR');
          if (['date', 'number', 'quantity'].includes(sp.type!) && /^[a-z]{2}\d/.test(v)) seen.add(v.slice(0, 2));
        }
      }
      if (new Set(keys).size < keys.length) seen.add('AND');
    }
    const wanted = [
      ...['number', 'date', 'string', 'token', 'reference', 'quantity', 'uri', 'composite'],
      ...[':missing', ':exact', ':contains', ':text', ':not', ':above', ':below', ':in', ':not-in', ':identifier', ':[type]'],
      ...['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'],
      ...['OR', 'AND', 'chain', 'chain 2+', '_has', '_has nested', '_include', '_revinclude', '_include:iterate', '_revinclude:iterate'],
      ...['_sort', '_sort several', '_sort asc', '_sort desc', '_count', 'compartment'],
    ];
    assert.deepEqual(wanted.filter((w) => !seen.has(w)), []);
  });
  test('each has a non-trivial expected answer, or an empty one where meant', () => {
    const problems: string[] = [];
    for (const q of queries) {
      if (typeof q.params === 'function') continue; // needs stored data
      const e = oracle.search(q.type, q.params, q.compartment);
      const sure = [...e.verdicts.values()].filter((v) => v === YES).length;
      if (q.empty) {
        if (e.verdicts.size) problems.push(`${q.name}: ${e.verdicts.size} matches, meant to be empty`);
      } else if (sure === 0) problems.push(`${q.name}: no match`);
      // A filter that keeps every resource of the type proves little.
      else if (parseSearch(q.params).filters.length && !q.allowAll && !q.compartment && sure === of(q.type).length)
        problems.push(`${q.name}: matches all ${sure}`);
    }
    assert.deepEqual(problems, []);
  });
});

describe('search suite (oracle-checked, Synthea)', () => {
  let db: Db;
  let search: SearchFn;
  let repo: Awaited<ReturnType<typeof import('../src/store/repository.ts').createRepository>>;

  before(async () => {
    db = await openTestDb();
    const { createRepository } = await import('../src/store/repository.ts');
    ({ search } = (await import('../src/store/search/index.ts')) as unknown as { search: SearchFn });
    repo = await createRepository(db);
    await loadInTwoBatches(repo);
    // The oracle needs the stored meta (lastUpdated is the server's); the rest must be what we sent.
    const rows = await db.query<{ type: string; id: string; content: string }>('select type, id, content from resource where not deleted');
    assert.equal(rows.length, resources.length, 'every resource stored once');
    for (const row of rows) {
      const r = oracle.byKey.get(`${row.type}/${row.id}`) as any;
      assert.ok(r, `stored ${row.type}/${row.id} that was not sent`);
      r.meta = { ...r.meta, lastUpdated: JSON.parse(row.content).meta?.lastUpdated };
    }
  });

  after(async () => {
    await db?.close();
  });

  for (const q of queries) test(q.name, () => check(search, db, q));

  // Last, because it writes: the oracle does not know these resources.
  test('paging neither skips nor repeats while others write', async () => {
    const patient = busyPatient('Observation', 'subject', 3);
    const params: [string, string][] = [['patient', patient], ['_sort', 'date'], ['_count', '9']];
    const before = [...oracle.search('Observation', params).verdicts.keys()];
    assert.ok(before.length > 30);
    const seen: string[] = [];
    let current = params;
    for (let page = 0; ; page++) {
      const bundle = await search(db, { resourceType: 'Observation', params: current, baseUrl: BASE, strict: true });
      const matches = (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource as any);
      seen.push(...matches.map((r) => `Observation/${r.id}`));
      // Between pages, someone adds observations that sort before, among and after this one's.
      for (const when of ['1900-01-01T00:00:00Z', matches.at(-1)?.effectiveDateTime ?? '2000-01-01T00:00:00Z', '2100-01-01T00:00:00Z'])
        await repo.create({
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] },
          subject: { reference: `Patient/${patient}` },
          effectiveDateTime: when,
        } as Resource);
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) break;
      assert.ok(page < 200);
      current = [...new URL(next).searchParams.entries()];
    }
    const counts = new Map<string, number>();
    for (const k of seen) counts.set(k, (counts.get(k) ?? 0) + 1);
    assert.deepEqual([...counts].filter(([, n]) => n > 1), [], 'repeated');
    assert.deepEqual(before.filter((k) => !counts.has(k)), [], 'skipped');
  });
});
