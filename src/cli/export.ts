import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { loadConfig } from '../config.ts';
import { openDb, type Queryable } from '../store/db.ts';
import { exportNdjson } from '../store/export.ts';
import { migrate } from '../store/migrate.ts';
import { parseArgs } from './args.ts';
import { SERVICE_MODULES } from '../services/index.ts';

const { flags, positional } = parseArgs(process.argv.slice(2));
if (flags.help || positional.length !== 1) {
  console.log(`Usage: npm run export -- <folder> [--type T,...]

Writes the current version of every resource as NDJSON, one file per type (<folder>/<Type>.ndjson),
readable again by npm run import. Documents carry their stored content inline. The files are one
snapshot of the database, also while the server writes to it.`);
  process.exit(positional.length === 1 ? 0 : 1);
}

const folder = path.resolve(positional[0]);
const config = loadConfig();
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
await migrate(db);
const started = Date.now();
const counts = await exportNdjson(db, folder, {
  types: typeof flags.type === 'string' ? flags.type.split(',') : undefined,
  completions: SERVICE_MODULES.flatMap((m) => (m.exports ? [{ types: m.exports.types, complete: (r: Resource, q: Queryable) => m.exports!.complete(r, q, config) }] : [])),
  onType: (type, n) => console.log(`  ${type.padEnd(28)} ${n}`),
});
const total = [...counts.values()].reduce((a, b) => a + b, 0);
console.log(`Exported ${total} resources of ${counts.size} types to ${folder} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
await db.close();
