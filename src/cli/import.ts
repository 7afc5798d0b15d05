import cliProgress from 'cli-progress';
import { loadConfig } from '../config.ts';
import { createPlatform } from '../app.ts';
import { findImportFiles, readImportFile, type ImportUnit } from '../store/import.ts';
import { parseRelativeReference, references } from '../fhir/json.ts';
import { FhirError, issue } from '../fhir/outcome.ts';
import { parseArgs } from './args.ts';
import { SERVICE_MODULES } from '../services/index.ts';
import { stringifyFhirJson } from '../fhir/json-decimals.ts';

const HELP = `Usage: npm run import -- <files or folders> [--server <FHIR base URL>] [--concurrency N]

Loads transaction, batch and collection Bundles (.json) and NDJSON files (.ndjson).
Creates of urn:uuid: entries are stored under that uuid, so an interrupted import can be run
again: what was stored is found unchanged and nothing is duplicated.
Without --server the import writes to the configured database (DATABASE_URL or the PGlite
data folder; stop the server first when it uses PGlite). With --server it posts to a running server;
NDJSON files that refer to resources in files not loaded yet are sent again once those are in.
A line or resource that is refused is reported with its file and line; the others are stored.
Exit status: 0 when everything was stored, 1 when something failed, 2 for a path that does not exist.`;

const { flags, positional } = parseArgs(process.argv.slice(2));
if (flags.help || positional.length === 0) {
  console.log(HELP);
  process.exit(positional.length === 0 && !flags.help ? 1 : 0);
}

let files: string[];
try {
  files = findImportFiles(positional);
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const concurrency = Number(flags.concurrency ?? 4);
const server = typeof flags.server === 'string' ? flags.server.replace(/\/$/, '') : undefined;
// The import is the platform's operator: no token, the same routes as over HTTP (so a bundle
// carrying documents goes to the document store as an ITI-65 bundle does). MAX_BODY_BYTES guards a
// listening server; a file on the operator's disk is taken whatever its size.
const config = loadConfig();
// Nor is it rate limited: a folder of small bundles is thousands of requests a minute.
const platform = server ? undefined : await createPlatform({ ...config, logLevel: 'silent', maxBodyBytes: Math.max(config.maxBodyBytes, 2 ** 30), rateLimitPerMinute: 0 }, { auth: 'off' });

const byType: Record<string, number> = {};
const failures: { source: string; reason: string }[] = [];
let done = 0;
let total = 0;
const started = Date.now();

/** A Bundle through the server's routes: the running server's (--server) or this platform's. */
async function post(bundle: unknown): Promise<void> {
  if (server) {
    const res = await fetch(server, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: stringifyFhirJson(bundle) });
    if (!res.ok) throw refusal(res.status, await res.text());
    await res.arrayBuffer().catch(() => undefined);
    return;
  }
  const res = await platform!.server.inject({
    method: 'POST',
    url: '/fhir',
    headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
    payload: stringifyFhirJson(bundle),
  });
  if (res.statusCode !== 200) throw refusal(res.statusCode, res.body);
}

/**
 * Types a service completes on export (documents with their content inline): their NDJSON goes
 * through the routes, which take such content apart, after every other unit, since the routes
 * check references (their subjects are in other files).
 */
const completedOnExport = new Set(SERVICE_MODULES.flatMap((m) => m.exports?.types ?? []));
const throughRoutes = (unit: ImportUnit) => unit.kind === 'resources' && unit.resources.some((r) => completedOnExport.has(r.resourceType));

async function apply(unit: ImportUnit): Promise<void> {
  if (unit.kind === 'unreadable') throw new Error(unit.reason);
  const resources = unit.kind === 'bundle' ? (unit.bundle.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])) : unit.resources;
  if (unit.kind === 'bundle') await post(unit.bundle);
  else if (server || throughRoutes(unit)) await post({ resourceType: 'Bundle', type: 'transaction', entry: unit.resources.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })) });
  // Referential integrity is checked per chunk; NDJSON exports are per type, so references across files are allowed.
  else await platform!.repo.putMany(unit.resources, { referentialIntegrity: false });
  for (const r of resources) byType[r.resourceType] = (byType[r.resourceType] ?? 0) + 1;
}

/** A refused request as a FhirError with the server's issues (or the start of its body). */
function refusal(status: number, body: string): FhirError {
  try {
    const issues = JSON.parse(body).issue;
    if (Array.isArray(issues)) return new FhirError(status, issues);
  } catch {
    // not JSON
  }
  return new FhirError(status, [issue('exception', 'http-error', `HTTP ${status}: ${body.slice(0, 500)}`)]);
}

/** Resources in files that refer to each other, sent as one transaction at most (memory bounds it). */
const MAX_CYCLE = 20_000;

/** Cycle groups sent so far, by their resources. */
const tried = new Set<string>();
/** The resources of a group of units, and the key a group is known by in `tried`. */
const resourcesOf = (g: ImportUnit[]) => g.flatMap((u) => (u.kind === 'resources' ? u.resources : []));
const groupKey = (g: ImportUnit[]) => resourcesOf(g).map((r) => `${r.resourceType}/${r.id}`).sort().join(' ');

/**
 * The waiting units in reference cycles between their types (strongly connected components of
 * "a resource of type A refers to one of type B", Tarjan's algorithm), each group to be sent
 * together; a type whose files refer to each other counts as a cycle of one.
 */
function inCycles(units: ImportUnit[]): ImportUnit[][] {
  const unitsOf = new Map<string, ImportUnit[]>();
  const edges = new Map<string, Set<string>>();
  for (const u of units) {
    if (u.kind !== 'resources') continue;
    for (const r of u.resources) {
      if (!unitsOf.get(r.resourceType)?.includes(u)) unitsOf.set(r.resourceType, [...(unitsOf.get(r.resourceType) ?? []), u]);
      const to = edges.get(r.resourceType) ?? new Set<string>();
      for (const ref of references(r)) {
        const target = parseRelativeReference(ref.value)?.type;
        if (target) to.add(target);
      }
      edges.set(r.resourceType, to);
    }
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const groups: ImportUnit[][] = [];
  const visit = (t: string) => {
    index.set(t, index.size);
    low.set(t, index.get(t)!);
    stack.push(t);
    for (const next of edges.get(t) ?? []) {
      if (!unitsOf.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(t, Math.min(low.get(t)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(t, Math.min(low.get(t)!, index.get(next)!));
    }
    if (low.get(t) !== index.get(t)) return;
    const component: string[] = [];
    for (let top = stack.pop()!; ; top = stack.pop()!) {
      component.push(top);
      if (top === t) break;
    }
    if (component.length > 1 || edges.get(t)?.has(t)) groups.push([...new Set(component.flatMap((c) => unitsOf.get(c)!))]);
  };
  for (const t of unitsOf.keys()) if (!index.has(t)) visit(t);
  return groups;
}

/** Refused only for references to resources not stored yet (NDJSON is a file per type, in any order). */
const waitsForOthers = (err: unknown) => err instanceof FhirError && err.issues.every((i) => i.details?.coding?.[0]?.code === 'reference-not-found');

const size = (u: ImportUnit) => (u.kind === 'bundle' ? u.resources : u.kind === 'resources' ? u.resources.length : 1);

/** Where resource i of a unit came from: its NDJSON line, else the unit's file and the resource. */
const sourceOf = (unit: ImportUnit & { kind: 'resources' }, i: number) => unit.sources?.[i] ?? `${unit.source} (${unit.resources[i].resourceType}/${unit.resources[i].id})`;

/** A refused unit of several resources as units of one: a bad resource does not refuse the others with it. */
const singles = (unit: ImportUnit & { kind: 'resources' }): ImportUnit[] => unit.resources.map((r, i) => ({ kind: 'resources', source: sourceOf(unit, i), resources: [r] }));

// Count first so the bar can show an ETA; files are read again lazily while importing.
for (const f of files) {
  try {
    for await (const u of readImportFile(f)) total += size(u);
  } catch {
    // reported when the file is imported
  }
}

const bar = new cliProgress.SingleBar(
  { format: 'import |{bar}| {percentage}% | {value}/{total} resources | {rate}/s | ETA {eta_formatted} | failures {failures}', hideCursor: true, etaBuffer: 50, noTTYOutput: true, notTTYSchedule: 5000 },
  cliProgress.Presets.shades_classic
);
bar.start(total, 0, { rate: 0, failures: 0 });

let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  bar.stop();
  console.log('\nInterrupted: every finished unit is stored whole; run the same command again to complete the import.');
  process.exit(130);
});

/**
 * NDJSON units sent through the routes (--server, documents) that referred to resources of files
 * not loaded yet: tried again once the others are in.
 */
let waiting: ImportUnit[] = [];

/** One unit, its failure recorded with its reason, the bar moved on. `final`: no later try. */
function run(unit: ImportUnit, final = false): Promise<void> {
  let later = false;
  return apply(unit)
    .catch(async (err) => {
      if (!final && unit.kind === 'resources' && waitsForOthers(err)) {
        later = true;
        waiting.push(unit);
        return;
      }
      if (unit.kind === 'resources' && unit.resources.length > 1) {
        later = true; // each single moves the bar itself
        for (const single of singles(unit)) await run(single, final);
        return;
      }
      const reason = err instanceof FhirError ? err.issues.map((i) => i.diagnostics).join('; ') : (err as Error).message;
      failures.push({ source: unit.source, reason });
    })
    .finally(() => {
      if (later) return;
      done += size(unit);
      const secs = (Date.now() - started) / 1000;
      bar.update(done, { rate: Math.round(done / Math.max(secs, 0.001)), failures: failures.length });
    });
}

const queue: Promise<void>[] = [];
const last: ImportUnit[] = [];
for (const f of files) {
  try {
    for await (const unit of readImportFile(f)) {
      if (interrupted) break;
      if (throughRoutes(unit)) {
        last.push(unit);
        continue;
      }
      queue.push(run(unit));
      if (queue.length >= (platform?.db.kind === 'pglite' ? 1 : concurrency)) await queue.shift();
    }
  } catch (err) {
    failures.push({ source: f, reason: (err as Error).message });
  }
}
await Promise.all(queue);
for (const unit of last) if (!interrupted) await run(unit);
// Again while each round stores some. When a round stores nothing, the files that refer to each
// other in a cycle (Organization.endpoint and Endpoint.managingOrganization) go as one transaction
// each; what still waits after that fails.
while (waiting.length && !interrupted) {
  const round = waiting;
  waiting = [];
  for (const unit of round) await run(unit);
  if (waiting.length < round.length) continue;
  // A group is sent once: the same resources waiting again cannot do better, and go to the final try.
  const groups = inCycles(waiting).filter((g) => g.reduce((n, u) => n + size(u), 0) <= MAX_CYCLE && !tried.has(groupKey(g)));
  const grouped = new Set(groups.flat());
  const rest = waiting.filter((u) => !grouped.has(u));
  waiting = [];
  for (const g of groups) {
    tried.add(groupKey(g));
    const sources = g.flatMap((u) => (u.kind === 'resources' ? u.resources.map((_, i) => sourceOf(u, i)) : []));
    await run({ kind: 'resources', source: g.map((u) => u.source).join(', '), resources: resourcesOf(g), sources });
  }
  if (!groups.length) for (const unit of rest) await run(unit, true);
  else waiting.push(...rest);
}
bar.stop();

const secs = (Date.now() - started) / 1000;
const stored = Object.values(byType).reduce((n, k) => n + k, 0);
console.log(`\nImported ${stored} of ${done} resources from ${files.length} files in ${secs.toFixed(1)} s (${Math.round(done / Math.max(secs, 0.001))}/s)`);
for (const [type, n] of Object.entries(byType).sort((a, b) => b[1] - a[1])) console.log(`  ${type.padEnd(28)} ${n}`);
if (failures.length) {
  console.log(`\n${failures.length} failed:`);
  for (const f of failures) console.log(`  ${f.source}: ${f.reason}`);
}
await platform?.close();
process.exit(failures.length ? 1 : 0);
