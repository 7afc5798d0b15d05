import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DATA = path.resolve(REPO_ROOT, '../shared/data');
export const BENCH_DB = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A POST with node:http over kept-alive connections, the body read as text: the bench clients
 * share the machine with the server they measure, and undici's fetch costs several times more CPU
 * per request.
 */
const agent = new http.Agent({ keepAlive: true });
export function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A fresh PostgreSQL schema for one measurement, dropped by the returned function. */
export async function freshSchema(prefix: string): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: BENCH_DB });
  await c.connect();
  await c.query(`create schema ${schema}`);
  await c.end();
  return {
    schema,
    async drop() {
      const d = new pg.Client({ connectionString: BENCH_DB });
      await d.connect();
      await d.query(`drop schema ${schema} cascade`);
      await d.end();
    },
  };
}

/** The Synthea bundles, master data first. */
export function syntheaBundles(): any[] {
  const dir = path.join(SHARED_DATA, 'synthea');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  const first = files.filter((f) => /Information/.test(f)).sort();
  const rest = files.filter((f) => !first.includes(f)).sort();
  return [...first, ...rest].map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
}

/** Runs tasks with `clients` concurrent workers. */
export async function pool<T>(items: T[], clients: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < items.length) await fn(items[next++]);
    })
  );
}

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/**
 * CPU seconds used so far by the PostgreSQL server's processes, when it runs on this machine
 * (Linux /proc; undefined otherwise): with the Node process's own CPU, it tells which side a
 * benchmark is bound by.
 */
export function postgresCpuSeconds(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const tick = 100; // USER_HZ, 100 on every Linux this runs on
  let total = 0;
  let found = false;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres' && !name.startsWith('postgres:')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / tick; // utime, stime
      found = true;
    } catch {
      // the process ended meanwhile
    }
  }
  return found ? total : undefined;
}

/** CPU used during fn, in ms: this Node process and (if local) the PostgreSQL server. */
export async function cpuUsed<T>(fn: () => Promise<T>): Promise<{ result: T; nodeMs: number; postgresMs?: number }> {
  const node = process.cpuUsage();
  const pg0 = postgresCpuSeconds();
  const result = await fn();
  const used = process.cpuUsage(node);
  const pg1 = postgresCpuSeconds();
  return { result, nodeMs: (used.user + used.system) / 1000, postgresMs: pg0 !== undefined && pg1 !== undefined ? (pg1 - pg0) * 1000 : undefined };
}
