import { pathToFileURL } from 'node:url';
import type { Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../src/config.ts';
import { createPlatform } from '../src/app.ts';
import { openPostgres, type Queryable } from '../src/store/db.ts';
import { search } from '../src/store/search/index.ts';
import { readSynthea } from '../test/helpers/synthea.ts';
import { BENCH_DB, freshSchema, machine } from './common.ts';
import { prepareReplica, type Replica } from './replicate.ts';
import { profiled } from './cpu-profile.ts';
import { runLoad } from './http-load.ts';

/**
 * Search at scale (issue 3): the Synthea set replicated to N patients inside PostgreSQL, a mix of
 * realistic query shapes over HTTP from several concurrent clients, p50/p95 per shape per size.
 */

export interface ShapeFigures {
  shape: string;
  p50: number;
  p95: number;
  /** The search engine called in-process by one client (SQL and result building, no HTTP, no concurrency). */
  engineP50: number;
}
export interface SearchBenchResult {
  sizes: { patients: number; buildSeconds: number; shapes: ShapeFigures[] }[];
}

/** What a query needs to know about one original patient (its copies share it, with suffixed ids). */
interface Template {
  id: string;
  family: string;
  identifier: { system: string; value: string };
  /** The patient's most frequent Observation code and a date that splits its values in half. */
  obsCode: string;
  obsSplitDate: string;
}

interface World {
  templates: Template[];
  conditionCodes: string[];
  orList: string[];
  replica: Replica;
}

type Shape = { name: string; url: (w: World, t: Template, k: number, pick: <T>(a: T[]) => T) => string };

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';

const SHAPES: Shape[] = [
  {
    name: "patient's observations by code and date",
    url: (w, t, k) => `Observation?patient=${w.replica.idIn(t.id, k)}&code=${LOINC}|${t.obsCode}&date=ge${t.obsSplitDate}&_sort=-date`,
  },
  { name: 'conditions by code', url: (w, _t, _k, pick) => `Condition?code=${SNOMED}|${pick(w.conditionCodes)}` },
  { name: 'medication requests by status', url: (_w, _t, _k, pick) => `MedicationRequest?status=${pick(['active', 'stopped'])}` },
  { name: 'patient name prefix', url: (_w, t) => `Patient?name=${encodeURIComponent(t.family.slice(0, 4).toLowerCase())}` },
  {
    name: 'patient by identifier',
    url: (w, t, k) => `Patient?identifier=${encodeURIComponent(`${t.identifier.system}|${w.replica.idIn(t.identifier.value, k)}`)}`,
  },
  { name: 'chain subject:Patient.name + code', url: (_w, t) => `Observation?subject:Patient.name=${encodeURIComponent(t.family)}&code=${LOINC}|${t.obsCode}` },
  { name: '_has:Observation:patient:code + name', url: (_w, t) => `Patient?_has:Observation:patient:code=${t.obsCode}&name=${encodeURIComponent(t.family)}` },
  { name: '_include Encounter:practitioner', url: (w, t, k) => `Encounter?patient=${w.replica.idIn(t.id, k)}&_include=Encounter:practitioner` },
  { name: '100-value OR of codes + patient', url: (w, t, k) => `Observation?code=${w.orList.join(',')}&patient=${w.replica.idIn(t.id, k)}` },
  { name: 'latest labs (category, _sort=-date)', url: (w, t, k) => `Observation?patient=${w.replica.idIn(t.id, k)}&category=laboratory&_sort=-date&_count=10` },
  { name: '_revinclude Condition:patient', url: (w, t, k) => `Patient?_id=${w.replica.idIn(t.id, k)}&_revinclude=Condition:patient` },
  {
    name: '100-value OR of patients + code',
    url: (w, t, _k, pick) => {
      const ids = Array.from({ length: 100 }, () => w.replica.idIn(pick(w.templates).id, Math.floor(Math.random() * w.replica.copies)));
      return `Observation?patient=${ids.join(',')}&code=${LOINC}|${t.obsCode}`;
    },
  },
];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The facts the query shapes need, read from the originals (copy 0). */
async function describeOriginals(db: { query<R = any>(sql: string, p?: unknown[]): Promise<R[]> }, resources: Resource[]): Promise<Omit<World, 'replica'>> {
  const patients = resources.filter((r): r is Resource & { resourceType: 'Patient' } => r.resourceType === 'Patient') as any[];
  const templates: Template[] = [];
  for (const p of patients) {
    const [top] = await db.query<{ code: string; split: string }>(
      `select t.code, (select percentile_disc(0.5) within group (order by d.lo) from sp_date d join sp_token t2 on t2.rid = d.rid
                        where d.p = 'Observation.date' and d.compartment = $1 and t2.p = 'Observation.code' and t2.code = t.code)::date::text as split
       from sp_token t where t.p = 'Observation.code' and t.compartment = $1 and t.system = $2
       group by t.code order by count(*) desc, t.code limit 1`,
      [p.id, LOINC]
    );
    const ssn = p.identifier?.find((i: any) => /us-ssn/.test(i.system)) ?? p.identifier?.[0];
    if (!top || !ssn) continue;
    templates.push({ id: p.id, family: p.name[0].family, identifier: { system: ssn.system, value: ssn.value }, obsCode: top.code, obsSplitDate: top.split });
  }
  const conditionCodes = (await db.query<{ code: string }>(`select distinct code from sp_token where p = 'Condition.code' and system = $1 order by code`, [SNOMED])).map((r) => r.code);
  // 100 LOINC codes: every Observation code in the set, then DiagnosticReport codes, then codes no resource has.
  const codes = (await db.query<{ code: string }>(
    `select code from (select distinct code, p from sp_token where p in ('Observation.code', 'DiagnosticReport.code') and system = $1) c
     order by p = 'Observation.code' desc, code`,
    [LOINC]
  )).map((r) => r.code);
  const orList = [...new Set(codes)].slice(0, 100);
  for (let i = 0; orList.length < 100; i++) orList.push(`99999-${i}`);
  return { templates, conditionCodes, orList };
}

async function get(base: string, path: string): Promise<any> {
  const res = await fetch(`${base}/${path}`, { headers: { accept: 'application/fhir+json' } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path.slice(0, 200)} → ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Searches scoped to one patient must find as much in a copy as in the original. */
async function verifyCopies(base: string, w: World): Promise<number> {
  let checked = 0;
  if (w.replica.copies < 2) return checked;
  const count = async (path: string) => (await get(base, `${path}${path.includes('?') ? '&' : '?'}_summary=count`)).total as number;
  const entries = async (path: string) => (await get(base, `${path}&_count=1000`)).entry?.length ?? 0;
  for (let i = 0; i < 3; i++) {
    const t = w.templates[Math.floor(Math.random() * w.templates.length)];
    const k = 1 + Math.floor(Math.random() * (w.replica.copies - 1));
    const pairs: [string, string, (p: string) => Promise<number>][] = [
      [`Observation?patient=${t.id}`, `Observation?patient=${w.replica.idIn(t.id, k)}`, count],
      [`Observation?patient=${t.id}&code=${LOINC}|${t.obsCode}&date=ge${t.obsSplitDate}`, `Observation?patient=${w.replica.idIn(t.id, k)}&code=${LOINC}|${t.obsCode}&date=ge${t.obsSplitDate}`, count],
      [`Condition?patient=${t.id}`, `Condition?patient=${w.replica.idIn(t.id, k)}`, count],
      [`MedicationRequest?patient=${t.id}`, `MedicationRequest?patient=${w.replica.idIn(t.id, k)}`, count],
      [`Claim?patient=${t.id}`, `Claim?patient=${w.replica.idIn(t.id, k)}`, count],
      [`Patient?identifier=${encodeURIComponent(`${t.identifier.system}|${t.identifier.value}`)}`, `Patient?identifier=${encodeURIComponent(`${t.identifier.system}|${w.replica.idIn(t.identifier.value, k)}`)}`, count],
      [`Encounter?patient=${t.id}&_include=Encounter:practitioner`, `Encounter?patient=${w.replica.idIn(t.id, k)}&_include=Encounter:practitioner`, entries],
      [`Observation?patient=${t.id}&_revinclude=DiagnosticReport:result`, `Observation?patient=${w.replica.idIn(t.id, k)}&_revinclude=DiagnosticReport:result`, entries],
      [`Observation?encounter.patient=${t.id}`, `Observation?encounter.patient=${w.replica.idIn(t.id, k)}`, count],
    ];
    for (const [orig, copy, measure] of pairs) {
      const [a, b] = [await measure(orig), await measure(copy)];
      if (a !== b || a === undefined) throw new Error(`copy ${k} of ${t.id} differs from the original: ${orig} → ${a}, ${copy} → ${b}`);
      checked++;
    }
    const [pa, pb] = [await get(base, `Patient/${t.id}`), await get(base, `Patient/${w.replica.idIn(t.id, k)}`)];
    if (pb.id !== w.replica.idIn(t.id, k) || pb.name?.[0]?.family !== pa.name?.[0]?.family) throw new Error(`Patient copy ${k} of ${t.id} reads back wrong`);
  }
  return checked;
}

/** Runs `perShape` requests of every shape, interleaved, from `clients` concurrent clients. */
async function measure(base: string, db: Queryable, w: World, clients: number, perShape: number): Promise<ShapeFigures[]> {
  const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)];
  const plan: { shape: Shape; path: string }[] = [];
  for (let i = 0; i < perShape; i++) {
    for (const shape of SHAPES) plan.push({ shape, path: shape.url(w, pick(w.templates), Math.floor(Math.random() * w.replica.copies), pick) });
  }
  plan.sort(() => Math.random() - 0.5);
  const times = new Map<string, number[]>(SHAPES.map((s) => [s.name, []]));
  for (const { key, ms } of await runLoad(base, plan.map(({ shape, path }) => ({ key: shape.name, path })), clients)) times.get(key)!.push(ms);
  const engine = await measureEngine(db, w, Math.max(10, Math.floor(perShape / 10)));
  return SHAPES.map((s) => {
    const sorted = times.get(s.name)!.sort((a, b) => a - b);
    return { shape: s.name, p50: percentile(sorted, 50), p95: percentile(sorted, 95), engineP50: engine.get(s.name)! };
  });
}

/** Median time of the search engine itself per shape: one client, in-process, `n` queries per shape. */
async function measureEngine(db: Queryable, w: World, n: number): Promise<Map<string, number>> {
  const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)];
  const out = new Map<string, number>();
  for (const shape of SHAPES) {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const [type, query] = shape.url(w, pick(w.templates), Math.floor(Math.random() * w.replica.copies), pick).split('?');
      const t = performance.now();
      await search(db, { resourceType: type, params: [...new URLSearchParams(query)], baseUrl: 'http://bench/fhir' });
      times.push(performance.now() - t);
    }
    out.set(shape.name, percentile(times.sort((a, b) => a - b), 50));
  }
  return out;
}

export async function benchSearch(
  o: { sizes?: number[]; clients?: number; perShape?: number; log?: (line: string) => void } = {}
): Promise<SearchBenchResult> {
  const sizes = o.sizes ?? [1000, 20000];
  const clients = o.clients ?? 4;
  const perShape = o.perShape ?? 200;
  const log = o.log ?? ((l: string) => console.log(l));
  // Rate limiting protects a server from its clients; here it would only cap the measurement.
  process.env.RATE_LIMIT_PER_MINUTE = '0';

  const fresh = await freshSchema('bench_search');
  const db = await openPostgres(BENCH_DB, fresh.schema);
  const platform = await createPlatform({ ...loadConfig(), logLevel: 'silent', databaseUrl: BENCH_DB, devAuth: false }, { db, auth: 'off' });
  try {
    const address = await platform.server.listen({ port: 0, host: '127.0.0.1' });
    const base = `${address}/fhir`;
    let t = performance.now();
    const resources = readSynthea();
    await platform.repo.putMany(resources);
    log(`  search: ${resources.length} Synthea resources loaded through putMany in ${((performance.now() - t) / 1000).toFixed(0)} s`);
    const replica = await prepareReplica(fresh.schema);
    const w: World = { ...(await describeOriginals(db, resources)), replica };
    const result: SearchBenchResult = { sizes: [] };
    for (const patients of sizes) {
      const copies = Math.ceil(patients / replica.patientsPerCopy);
      t = performance.now();
      await replica.growTo(copies, log);
      const buildSeconds = (performance.now() - t) / 1000;
      const checked = await verifyCopies(base, w);
      log(`  search: ${copies * replica.patientsPerCopy} patients — ${checked} searches on sampled copies match their originals`);
      await measure(base, db, w, clients, Math.max(5, Math.floor(perShape / 10))); // warm-up
      const shapes = await measure(base, db, w, clients, perShape);
      result.sizes.push({ patients: copies * replica.patientsPerCopy, buildSeconds, shapes });
      log(formatSize(result.sizes.at(-1)!, clients, perShape));
    }
    return result;
  } finally {
    await platform.close();
    // BENCH_SEARCH_KEEP keeps the largest size's schema for BENCH_SEARCH_SCHEMA runs.
    if (process.env.BENCH_SEARCH_KEEP) log(`  search: kept schema ${fresh.schema}`);
    else await fresh.drop();
  }
}

function formatSize(s: SearchBenchResult['sizes'][number], clients: number, perShape: number): string {
  const rows = s.shapes.map((f) => `    ${f.shape.padEnd(40)} p50 ${f.p50.toFixed(1).padStart(7)} ms   p95 ${f.p95.toFixed(1).padStart(7)} ms   engine alone p50 ${f.engineP50.toFixed(1).padStart(6)} ms`);
  return [`  search at ${s.patients} patients (${clients} clients over HTTP, ${perShape} requests per shape; engine alone: 1 client in-process):`, ...rows].join('\n');
}

/** The per-shape comparison of the two sizes, against the issue's targets. */
export function formatSearchComparison(r: SearchBenchResult): string {
  const small = r.sizes[0];
  const large = r.sizes.at(-1)!;
  const lines = [`search: p95 per shape, ${small.patients} vs ${large.patients} patients (targets: p95 < 25 ms at the large size; ratio ≤ 3×)`];
  for (const f of large.shapes) {
    const s = small.shapes.find((x) => x.shape === f.shape)!;
    const ratio = f.p95 / s.p95;
    lines.push(
      `  ${f.shape.padEnd(40)} p50 ${s.p50.toFixed(1).padStart(6)} → ${f.p50.toFixed(1).padStart(6)} ms   p95 ${s.p95.toFixed(1).padStart(6)} → ${f.p95.toFixed(1).padStart(6)} ms   ratio ${ratio.toFixed(2)}×` +
        `   engine p50 ${s.engineP50.toFixed(1)} → ${f.engineP50.toFixed(1)} ms${f.p95 < 25 ? '' : '  [p95 over 25 ms]'}${ratio <= 3 ? '' : '  [over 3×]'}`
    );
  }
  return lines.join('\n');
}

/**
 * Measures the shapes on a schema replicated earlier and kept (BENCH_SEARCH_SCHEMA), without
 * building it again: for trying a change to the search engine against one size in minutes.
 */
export async function benchSearchOnSchema(schema: string, o: { clients?: number; perShape?: number } = {}): Promise<SearchBenchResult['sizes'][number]> {
  process.env.RATE_LIMIT_PER_MINUTE = '0';
  const db = await openPostgres(BENCH_DB, schema);
  const platform = await createPlatform({ ...loadConfig(), logLevel: 'silent', databaseUrl: BENCH_DB, devAuth: false }, { db, auth: 'off' });
  try {
    const base = `${await platform.server.listen({ port: 0, host: '127.0.0.1' })}/fhir`;
    const [{ originals, all }] = await db.query<{ originals: number; all: number }>(
      `select count(*) filter (where id !~ '-r[0-9]+$')::int as originals, count(*)::int as all from resource where type = 'Patient' and not deleted`
    );
    const replica: Replica = { copies: all / originals, patientsPerCopy: originals, idIn: (id, k) => (k === 0 ? id : `${id}-r${k}`), growTo: async () => {} };
    const w: World = { ...(await describeOriginals(db, readSynthea())), replica };
    await measure(base, db, w, o.clients ?? 4, 20); // warm-up
    return { patients: all, buildSeconds: 0, shapes: await profiled('search', () => measure(base, db, w, o.clients ?? 4, o.perShape ?? 200)) };
  } finally {
    await platform.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const clients = Number(process.env.BENCH_CLIENTS ?? 4);
  const perShape = Number(process.env.BENCH_SEARCH_PER_SHAPE ?? 200);
  const kept = process.env.BENCH_SEARCH_SCHEMA;
  if (kept) {
    console.log(`search benchmark on schema ${kept} — ${machine()}`);
    console.log(formatSize(await benchSearchOnSchema(kept, { clients, perShape }), clients, perShape));
  } else {
    const sizes = (process.env.BENCH_SEARCH_SIZES ?? '1000,20000').split(',').map(Number);
    console.log(`search benchmark — ${machine()}`);
    console.log(formatSearchComparison(await benchSearch({ sizes, clients, perShape })));
  }
  process.exit(0);
}
