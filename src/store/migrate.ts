import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations shipped with this code: `migrations/NNNN_name.sql`, applied in order. */
export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 4)), name: f.replace(/\.sql$/, ''), sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}

export class SchemaTooNewError extends Error {}

/**
 * Brings the schema up to the code's version. Each migration runs in its own transaction
 * together with its row in schema_version, so a crash never leaves half a migration.
 * A database written by newer code is refused rather than silently misread.
 */
export async function migrate(db: Db, migrations = listMigrations()): Promise<{ applied: string[] }> {
  await db.exec(`create table if not exists schema_version (
    version integer primary key, name text not null, applied_at timestamptz not null default now())`);
  const applied: string[] = [];
  const codeVersion = migrations.at(-1)?.version ?? 0;
  await db.transaction(async (tx) => {
    // Serialise concurrent starters against one server.
    if (db.kind === 'postgres') await tx.query('select pg_advisory_xact_lock(7316001)');
    const [{ v }] = await tx.query<{ v: number | null }>('select max(version) as v from schema_version');
    const dbVersion = Number(v ?? 0);
    if (dbVersion > codeVersion) {
      throw new SchemaTooNewError(
        `The database schema is version ${dbVersion}, newer than this code understands (${codeVersion}). ` +
          'Upgrade Samhandling, or point it at another database.'
      );
    }
    for (const m of migrations) {
      if (m.version <= dbVersion) continue;
      for (const stmt of splitSql(m.sql)) await tx.query(stmt);
      await tx.query('insert into schema_version (version, name) values ($1, $2)', [m.version, m.name]);
      applied.push(m.name);
    }
  });
  return { applied };
}

/** Splits a migration script on semicolons at line ends; migrations keep one statement per `;\n`. */
function splitSql(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}
