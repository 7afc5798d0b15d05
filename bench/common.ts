import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DATA = path.resolve(REPO_ROOT, '../shared/data');
export const BENCH_DB = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

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
