import http from 'node:http';
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../src/config.ts';
import { createPlatform } from '../src/app.ts';
import { openPostgres, poolSize, type Db } from '../src/store/db.ts';
import { devAuthority, practitionerClaims, type DevAuthority } from '../src/access/dev-authority.ts';
import { makeOrgnr } from '../src/registry/identifiers.ts';
import { organization, patient, practitioner, practitionerRole } from '../src/registry/resources.ts';
import { BENCH_DB, cpuUsed, freshSchema, machine, pool } from './common.ts';
import { profiled } from './cpu-profile.ts';
import { freePort } from '../test/helpers/server.ts';
import { bornYearsAgo as years, ninAged, OSLO, osloHome } from '../test/helpers/people.ts';

/**
 * Read by id (issue 4) with everything a real read does: a signed practitioner token verified
 * against the issuer's keys, the access policy (attestation, access basis, the patient's privacy
 * settings) and a durable AuditEvent stored before the answer — next to the raw baseline measured
 * in the same run: a plain node:http server answering `select content from resources where id = $1`
 * from PostgreSQL. Each client reads its own patient's Observations (its own token and patient).
 */

export interface ReadFigures {
  rps: number;
  p50: number;
  p95: number;
  /** CPU time of this Node process (server and client together) per read, in ms: steadier than req/s on a shared machine. */
  cpuMs: number;
  /** CPU time of the PostgreSQL server per read, in ms, when it runs on this machine. */
  postgresMs?: number;
}
export interface ReadBenchResult {
  requests: number;
  clients: number;
  raw: ReadFigures;
  ours: ReadFigures;
  /** AuditEvents with outcome success stored during the measured reads (one per read). */
  audited: number;
}

const OBSERVATIONS_PER_PATIENT = 200;
const HPR = '7100002';

/** A hospital, a doctor, `clients` patients and their lab results, as the registry stores them. */
export function dataset(clients: number): { resources: Resource[]; patients: { id: string; nin: string; observations: string[] }[]; orgnr: string } {
  const orgnr = makeOrgnr('91000002')!;
  const resources: Resource[] = [
    organization({ id: 'org-hospital', kind: 'hospital' as any, name: 'Sykehuset', orgnr, municipality: OSLO }),
    practitioner({ id: 'pr-doctor', hpr: HPR, nin: ninAged(45, 203), given: 'Didrik', family: 'Doktor', gender: 'male', birthDate: years(45), category: 'LE', authorisedSince: '2005-01-01' }),
    practitionerRole({ id: 'role-doctor', practitionerId: 'pr-doctor', practitionerName: 'Didrik Doktor', organizationId: 'org-hospital', category: 'LE', kind: 'hospital', since: '2020-01-01' }),
  ];
  const patients = Array.from({ length: clients }, (_, i) => {
    const nin = ninAged(30 + i, 300 + i);
    const id = `pat-${i}`;
    resources.push(
      patient({ id, nin, given: 'Åse', family: `Østby${i}`, gender: 'female', birthDate: years(30 + i), address: osloHome(`Storgata ${i + 1}`), protection: 'ugradert' })
    );
    const observations = Array.from({ length: OBSERVATIONS_PER_PATIENT }, (_, j) => {
      const oid = `lab-${i}-${j}`;
      resources.push({
        resourceType: 'Observation',
        id: oid,
        status: 'final',
        category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory', display: 'Laboratory' }] }],
        code: { coding: [{ system: 'http://loinc.org', code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood' }], text: 'Hemoglobin' },
        subject: { reference: `Patient/${id}` },
        effectiveDateTime: new Date(Date.UTC(2020, 0, 1) + j * 86_400_000).toISOString(),
        issued: new Date(Date.UTC(2020, 0, 1) + j * 86_400_000 + 3_600_000).toISOString(),
        valueQuantity: { value: 12 + (j % 30) / 10, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' },
        referenceRange: [{ low: { value: 12, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' }, high: { value: 16, unit: 'g/dL', system: 'http://unitsofmeasure.org', code: 'g/dL' } }],
      } as Resource);
      return oid;
    });
    return { id, nin, observations };
  });
  return { resources, patients, orgnr };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** What one measured round of reads left: request times, wall seconds, and CPU used by Node and PostgreSQL. */
interface Round {
  times: number[];
  seconds: number;
  nodeMs: number;
  postgresMs?: number;
}

/** `requests` reads spread over `clients` concurrent clients, each issuing its next read when the last is answered. */
async function load(requests: number, clients: number, request: (client: number, n: number) => Promise<void>, offset = 0): Promise<Round> {
  const times: number[] = [];
  const perClient = Math.ceil(requests / clients);
  const started = performance.now();
  const cpu = await cpuUsed(() =>
    pool(
      Array.from({ length: clients }, (_, i) => i),
      clients,
      async (client) => {
        for (let n = 0; n < perClient; n++) {
          const t = performance.now();
          await request(client, offset + n);
          times.push(performance.now() - t);
        }
      }
    )
  );
  return { times, seconds: (performance.now() - started) / 1000, nodeMs: cpu.nodeMs, postgresMs: cpu.postgresMs };
}

function figures(rounds: Round[]): ReadFigures {
  const times = rounds.flatMap((r) => r.times).sort((a, b) => a - b);
  const seconds = rounds.reduce((n, r) => n + r.seconds, 0);
  const pg = rounds.every((r) => r.postgresMs !== undefined) ? rounds.reduce((n, r) => n + r.postgresMs!, 0) : undefined;
  return {
    rps: times.length / seconds,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    cpuMs: rounds.reduce((n, r) => n + r.nodeMs, 0) / times.length,
    ...(pg !== undefined ? { postgresMs: pg / times.length } : {}),
  };
}

async function expectOk(res: Response, what: string): Promise<void> {
  const body = await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${what} → ${res.status}: ${Buffer.from(body).toString().slice(0, 300)}`);
}

/**
 * The measured setup: Samhandling with authentication, policy and audit on, and the raw baseline
 * (the same stored JSON in a one-table schema behind plain node:http), each client with its own
 * patient and token.
 */
export interface ReadWorld {
  data: ReturnType<typeof dataset>;
  db: Db;
  /** Samhandling's FHIR base and the raw server's base. */
  base: string;
  rawBase: string;
  /** Per client: the headers of a read of its patient's data. */
  headers: Record<string, string>[];
  close(): Promise<void>;
}

export async function readWorld(clients: number): Promise<ReadWorld> {
  // Rate limiting protects a server from its clients; here it would only cap the measurement.
  process.env.RATE_LIMIT_PER_MINUTE = '0';
  const data = dataset(clients);
  const ours = await freshSchema('bench_read');
  const db = await openPostgres(BENCH_DB, ours.schema);
  const port = await freePort();
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent', PORT: String(port), BASE_URL: `http://127.0.0.1:${port}`, DEV_AUTH: 'false', DATABASE_URL: BENCH_DB });
  const authority: DevAuthority = await devAuthority(`${config.baseUrl}/dev-auth`);
  const platform = await createPlatform(config, { db, auth: 'on', devAuthority: authority });
  const raw = await freshSchema('bench_read_raw');
  const rawPool = new pg.Pool({ connectionString: BENCH_DB, max: poolSize(), options: `-c search_path=${raw.schema}` });
  const rawServer = http.createServer(async (req, res) => {
    try {
      const id = req.url!.split('/').pop()!;
      const rows = (await rawPool.query('select content from resources where id = $1', [id])).rows;
      if (!rows.length) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(rows[0].content);
    } catch {
      res.writeHead(500).end();
    }
  });
  const close = async () => {
    rawServer.closeAllConnections();
    await new Promise((resolve) => rawServer.close(resolve));
    await rawPool.end();
    await raw.drop();
    await platform.close();
    await ours.drop();
  };
  try {
    await platform.server.listen({ port, host: '127.0.0.1' });
    await platform.repo.putMany(data.resources);
    const contents = await db.query<{ id: string; content: string }>(`select id, content from resource where type = 'Observation'`);
    await rawPool.query(`create table resources (id text primary key, content text not null)`);
    await rawPool.query(`insert into resources select * from unnest($1::text[], $2::text[])`, [contents.map((c) => c.id), contents.map((c) => c.content)]);
    await rawPool.query(`vacuum analyze resources`);
    await new Promise<void>((resolve) => rawServer.listen(0, '127.0.0.1', resolve));
    const headers = await Promise.all(
      data.patients.map(async (p) => ({
        accept: 'application/fhir+json',
        authorization: `Bearer ${await authority.sign(practitionerClaims({ hpr: HPR, org: data.orgnr, patient: p.nin } as any))}`,
        'nhn-access-basis': 'SAMTYKKE',
        'nhn-patient-nin': p.nin,
      }))
    );
    return { data, db, base: `http://127.0.0.1:${port}/fhir`, rawBase: `http://127.0.0.1:${(rawServer.address() as net.AddressInfo).port}`, headers, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export async function benchRead(o: { clients?: number; requests?: number; rounds?: number } = {}): Promise<ReadBenchResult> {
  const clients = o.clients ?? 8;
  const requests = o.requests ?? 8000;
  // Rounds of ours and raw alternate, so that a slow spell of a shared machine falls on both.
  const rounds = o.rounds ?? 4;
  const warmup = Math.min(1000, requests / 4);
  const world = await readWorld(clients);
  const { data, db, base, rawBase, headers } = world;
  try {
    const read = async (client: number, n: number) => {
      const p = data.patients[client];
      await expectOk(await fetch(`${base}/Observation/${p.observations[n % p.observations.length]}`, { headers: headers[client] }), 'read');
    };
    const rawRead = async (client: number, n: number) => {
      const p = data.patients[client];
      await expectOk(await fetch(`${rawBase}/Observation/${p.observations[n % p.observations.length]}`), 'raw read');
    };
    // The policy must hold: another patient's data is refused with the same token.
    const foreign = await fetch(`${base}/Observation/${data.patients[1 % clients].observations[0]}`, { headers: headers[0] });
    await foreign.arrayBuffer();
    if (clients > 1 && foreign.status === 200) throw new Error('the access policy let a token read another patient’s data');
    await load(warmup, clients, read);
    await load(warmup, clients, rawRead);

    const [{ n: before }] = await db.query<{ n: number }>(`select count(*)::int as n from audit_event where outcome = 'success'`);
    const oursRounds: Round[] = [];
    const rawRounds: Round[] = [];
    const perRound = Math.ceil(requests / rounds);
    for (let i = 0; i < rounds; i++) {
      oursRounds.push(await (i === 0 ? profiled('read', () => load(perRound, clients, read, i * perRound)) : load(perRound, clients, read, i * perRound)));
      rawRounds.push(await load(perRound, clients, rawRead, i * perRound));
    }
    const [{ n: after }] = await db.query<{ n: number }>(`select count(*)::int as n from audit_event where outcome = 'success'`);
    const measured = oursRounds.reduce((n, r) => n + r.times.length, 0);
    return { requests: measured, clients, raw: figures(rawRounds), ours: figures(oursRounds), audited: after - before };
  } finally {
    await world.close();
  }
}

export function formatRead(r: ReadBenchResult): string {
  const f = (x: ReadFigures) =>
    `${x.rps.toFixed(0)} req/s (p50 ${x.p50.toFixed(1)} ms, p95 ${x.p95.toFixed(1)} ms, CPU per read: Node ${x.cpuMs.toFixed(2)} ms${x.postgresMs === undefined ? '' : `, PostgreSQL ${x.postgresMs.toFixed(2)} ms`})`;
  return (
    `read by id (${r.requests} reads, ${r.clients} clients): raw node:http + select ${f(r.raw)}, ` +
    `Samhandling with token, policy and durable audit ${f(r.ours)}, ratio ${((r.ours.rps / r.raw.rps) * 100).toFixed(0)} % (target ≥ 50 %); ` +
    `${r.audited} AuditEvents stored for the ${r.requests} measured reads`
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`read benchmark — ${machine()}`);
  const r = await benchRead({ clients: Number(process.env.BENCH_READ_CLIENTS ?? 8), requests: Number(process.env.BENCH_READ_REQUESTS ?? 8000) });
  console.log(formatRead(r));
  process.exit(0);
}
