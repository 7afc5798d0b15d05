import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createPlatform } from '../src/app.ts';
import { openPostgres } from '../src/store/db.ts';
import { profiled } from './cpu-profile.ts';
import { httpClients } from './http-clients.ts';
import { BENCH_DB, cpuUsed, freshSchema, machine, pool, post, syntheaBundles } from './common.ts';

/**
 * Ingest of the Synthea set: transaction Bundles over HTTP with several concurrent clients, with
 * validation and indexing on, next to the raw baseline measured in the same run: each bundle's
 * resources as plain INSERTs of their JSON into a one-table schema, one transaction per bundle.
 * Our HTTP clients run on a thread of their own (http-clients.ts), the baseline's pg clients on
 * the main thread, which is all they are; both get their JSON made before the clock starts.
 */
export interface IngestFigures {
  rate: number;
  /** CPU per resource, ms: this Node process (server and clients, all threads), and PostgreSQL when it is local. */
  nodeMs: number;
  postgresMs?: number;
}

export interface IngestRound {
  raw: IngestFigures;
  ours: IngestFigures;
}

/**
 * `rounds` alternating measurements, raw baseline then ours, each on a fresh schema, after one
 * untimed round of each: on a shared 2-core machine one pair varies by ±15 %, so the ratio
 * reported is the median round's.
 */
export async function benchIngest(clients = 4, rounds = 3): Promise<{ rounds: IngestRound[]; resources: number }> {
  const bundles = syntheaBundles();
  const master = bundles.filter((b) => b.entry.some((e: any) => e.resource.resourceType === 'Organization') && !b.entry.some((e: any) => e.resource.resourceType === 'Patient'));
  const patients = bundles.filter((b) => !master.includes(b));
  const resources = patients.reduce((n, b) => n + b.entry.length, 0);
  const figures = (rate: number, cpu: { nodeMs: number; postgresMs?: number }): IngestFigures => ({
    rate,
    nodeMs: cpu.nodeMs / resources,
    postgresMs: cpu.postgresMs === undefined ? undefined : cpu.postgresMs / resources,
  });
  // Each round's schemas are dropped however it ends: a refused bundle leaves none behind.
  const rawRound = async (): Promise<IngestFigures> => {
    const raw = await freshSchema('bench_raw');
    const rawPool = new pg.Pool({ connectionString: BENCH_DB, max: clients, options: `-c search_path=${raw.schema}` });
    try {
      await rawPool.query(`create table resources (id text primary key, type text not null, content jsonb not null)`);
      // Each resource's JSON made before timing, as our clients' request bodies are.
      const rawRows = patients.map((b) => b.entry.map((e: any) => [e.resource.resourceType, JSON.stringify(e.resource)] as const));
      const t = performance.now();
      const cpu = await cpuUsed(() => pool(rawRows, clients, async (rows) => {
        const c = await rawPool.connect();
        try {
          await c.query('begin');
          for (const [type, json] of rows) await c.query('insert into resources (id, type, content) values ($1, $2, $3)', [crypto.randomUUID(), type, json]);
          await c.query('commit');
        } finally {
          c.release();
        }
      }));
      return figures(resources / ((performance.now() - t) / 1000), cpu);
    } finally {
      await rawPool.end();
      await raw.drop();
    }
  };

  // Samhandling over HTTP.
  const oursRound = async (profile: boolean): Promise<IngestFigures> => {
    const ours = await freshSchema('bench_ours');
    const db = await openPostgres(BENCH_DB, ours.schema);
    let platform: Awaited<ReturnType<typeof createPlatform>> | undefined;
    let loaders: Awaited<ReturnType<typeof httpClients>> | undefined;
    try {
      // Auth off: this measures storage, validation and indexing; bench/read.ts measures the access path.
      platform = await createPlatform({ ...loadConfig(), logLevel: 'silent', databaseUrl: BENCH_DB }, { db, auth: 'off' });
      const address = await platform.server.listen({ port: 0, host: '127.0.0.1' });
      // A loader asks for return=minimal: the statuses and locations, not its resources echoed back.
      const headers = { 'content-type': 'application/fhir+json', prefer: 'return=minimal' };
      // The master-data bundles (untimed, as in the baseline) also warm up validation and indexing.
      for (const b of master) {
        const res = await post(`${address}/fhir`, JSON.stringify(b), headers);
        if (res.status !== 200) throw new Error(`bundle refused: ${res.status} ${res.text.slice(0, 300)}`);
      }
      const clientThread = await httpClients({ url: `${address}/fhir`, headers, bodies: patients.map((b) => JSON.stringify(b)), clients });
      loaders = clientThread;
      const t = performance.now();
      const cpu = await cpuUsed(() => (profile ? profiled('ingest', clientThread.run) : clientThread.run()));
      return figures(resources / ((performance.now() - t) / 1000), cpu);
    } finally {
      await loaders?.close();
      if (platform) await platform.close();
      else await db.close();
      await ours.drop();
    }
  };

  // Two untimed rounds of each first, so that every measured round is of a warm process, as a
  // loader importing more than this small set sees it. A process's first round of ours ran at ~⅔
  // of the rate of its later ones and its second at ~0.9 (JIT warm-up); and the first round of
  // the baseline after a round of ours took twice its later CPU, which made that round's ratio the
  // highest of all (bench/RESULTS.md, session 15).
  for (let warmUp = 0; warmUp < 2; warmUp++) {
    await rawRound();
    await oursRound(false);
  }
  const measured: IngestRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const raw = await rawRound();
    measured.push({ raw, ours: await oursRound(round === rounds - 1) });
  }
  return { rounds: measured, resources };
}

const ratioOf = (r: IngestRound) => r.ours.rate / r.raw.rate;

/** The round with the median ratio. */
export function medianRound(rounds: IngestRound[]): IngestRound {
  return [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b))[Math.floor((rounds.length - 1) / 2)];
}

export function formatIngest(r: { rounds: IngestRound[]; resources: number }, clients: number): string {
  const f = (x: IngestFigures) => `${x.rate.toFixed(0)}/s (CPU per resource: Node ${x.nodeMs.toFixed(3)} ms${x.postgresMs === undefined ? '' : `, PostgreSQL ${x.postgresMs.toFixed(3)} ms`})`;
  const line = (x: IngestRound) => `raw INSERT ${f(x.raw)}, Samhandling ${f(x.ours)}, ratio ${(ratioOf(x) * 100).toFixed(0)} %`;
  const each = r.rounds.map((x, i) => `  round ${i + 1}: ${line(x)}`);
  return [
    `ingest (Synthea, ${r.resources} resources, ${clients} clients), median of ${r.rounds.length} rounds: ${line(medianRound(r.rounds))} (target ≥ 50 %)`,
    ...each,
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const clients = Number(process.env.BENCH_CLIENTS ?? 4);
  console.log(`ingest benchmark — ${machine()}`);
  console.log(formatIngest(await benchIngest(clients, Number(process.env.BENCH_INGEST_ROUNDS ?? 3)), clients));
  process.exit(0);
}
