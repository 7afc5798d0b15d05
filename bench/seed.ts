/**
 * Load benchmark: generate and load a synthetic Norway of 100,000 citizens (with their
 * practitioners and organisations) into PostgreSQL in a fresh schema, with a progress bar.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/seed.ts [--persons 100000] [--seed 42] [--keep]
 *   npx tsx bench/seed.ts --profile 3000     # time each stage of the load separately
 *   npx tsx bench/seed.ts --clinical         # also the service modules' clinical histories (as npm start seeds)
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
import { migrate } from '../src/store/migrate.ts';
import { createRepository } from '../src/store/repository.ts';
import { createValidator } from '../src/fhir/validation.ts';
import { emptyRows, extractIndexRows } from '../src/store/search/extract.ts';
import { checkNorwegianIdentifiers } from '../src/registry/identifiers.ts';
import { generatePopulation } from '../src/registry/generator.ts';

const { values } = parseArgs({
  options: {
    persons: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '42' },
    'batch-size': { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
    /** Also the service modules' clinical histories; the registry population alone is the issue's measure. */
    clinical: { type: 'boolean', default: false },
    /** Instead of the load, time each stage of putMany separately on a sample of this many citizens. */
    profile: { type: 'string' },
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
  clinical: values.clinical,
};
try {
  if (values.profile) {
    await profileStages(Number(values.profile));
  } else {
    await load();
  }
} finally {
  if (!values.keep) await admin.query(`drop schema ${schema} cascade`);
  await admin.end();
}

async function load() {
  const db = await openPostgres(url, schema);
  const platform = await createPlatform({ ...loadConfig(), databaseUrl: url }, { db });
  try {
    console.log(`Loading ${opts.persons} citizens${opts.clinical ? ' with clinical histories' : ''} into ${url} (schema ${schema}), batches of ${opts.batchSize}, ${opts.concurrency} in flight`);
    const summary = await seedWithProgress(platform.repo, opts);
    printSummary(summary, opts);
    console.log(`BENCH seed persons=${opts.persons} resources=${summary.resources} seconds=${(summary.ms / 1000).toFixed(1)}`);
  } finally {
    await platform.close();
  }
}

/**
 * Where the time of a load goes: generation, validation (base definitions + identifiers, as the
 * server composes them), search-index extraction, and the database writes with and without the
 * search index, each timed alone on the same sample.
 */
async function profileStages(persons: number) {
  const ms = (t: number) => `${(performance.now() - t).toFixed(0)} ms`;
  let t = performance.now();
  const batches = [...generatePopulation({ persons, seed: opts.seed, batchSize: opts.batchSize })];
  const all = batches.flat();
  const perResource = (start: number) => `${((performance.now() - start) / all.length).toFixed(2)} ms/resource`;
  console.log(`generate ${all.length} resources: ${ms(t)} (${perResource(t)})`);
  const validator = createValidator();
  t = performance.now();
  for (const r of all) validator.validate(r);
  console.log(`validate (base definitions): ${ms(t)} (${perResource(t)})`);
  t = performance.now();
  for (const r of all) checkNorwegianIdentifiers(r, { testData: true });
  console.log(`checkNorwegianIdentifiers: ${ms(t)} (${perResource(t)})`);
  t = performance.now();
  for (const r of all) extractIndexRows(r);
  console.log(`search-index extraction: ${ms(t)} (${perResource(t)})`);
  const db = await openPostgres(url, schema);
  try {
    await migrate(db);
    const bare = await createRepository(db, { indexer: { writeSearchIndex: async () => undefined, indexCopies: () => [], deleteSearchIndex: async () => undefined, extract: emptyRows } });
    t = performance.now();
    for (const b of batches) await bare.putMany(b, { referentialIntegrity: false });
    console.log(`putMany without validation or search index (resource + history rows): ${ms(t)} (${perResource(t)})`);
    await db.exec('truncate resource, resource_history');
    const indexed = await createRepository(db);
    t = performance.now();
    for (const b of batches) await indexed.putMany(b, { referentialIntegrity: false });
    console.log(`putMany with search index, without validation: ${ms(t)} (${perResource(t)})`);
  } finally {
    await db.close();
  }
}
