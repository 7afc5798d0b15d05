/**
 * Load benchmark: generate and load a synthetic Norway of 100,000 citizens (with their
 * practitioners and organisations) into PostgreSQL in a fresh schema, with a progress bar.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/seed.ts [--persons 100000] [--seed 42] [--keep]
 *
 * Prints the wall time and rate; the schema is dropped afterwards unless --keep is given.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { createPlatform } from '../src/app.ts';
import { openPostgres } from '../src/store/db.ts';
import { printSummary, seedWithProgress, type SeedOptions } from '../src/cli/seed.ts';

const { values } = parseArgs({
  options: {
    persons: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '42' },
    'batch-size': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
});
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_seed_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`create schema ${schema}`);

const opts: SeedOptions = {
  persons: Number(values.persons),
  seed: Number(values.seed),
  batchSize: Number(values['batch-size']),
  concurrency: Number(values.concurrency),
};
try {
  const db = await openPostgres(url, schema);
  const platform = await createPlatform({ ...loadConfig(), databaseUrl: url }, { db });
  try {
    console.log(`Loading ${opts.persons} citizens into ${url} (schema ${schema}), batches of ${opts.batchSize}, ${opts.concurrency} in flight`);
    const summary = await seedWithProgress(platform.repo, opts);
    printSummary(summary, opts);
    console.log(`BENCH seed persons=${opts.persons} resources=${summary.resources} seconds=${(summary.ms / 1000).toFixed(1)}`);
  } finally {
    await platform.close();
  }
} finally {
  if (!values.keep) await admin.query(`drop schema ${schema} cascade`);
  await admin.end();
}
