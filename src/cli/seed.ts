import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { Resource } from '@medplum/fhirtypes';
import { loadConfig, type Config } from '../config.ts';
import { createPlatform } from '../app.ts';
import type { Repository } from '../store/repository.ts';
import { DEFAULT_REFERENCE_DATE, generatePopulation, wellKnownIdentities } from '../registry/generator.ts';
import { ClinicalHistories } from '../services/synthetic.ts';
import { formatIdentities, namedIdentities, writePopulationInfo } from './identities.ts';

export interface SeedOptions {
  persons: number;
  seed: number | string;
  referenceDate?: string;
  batchSize?: number;
  /** Batches in flight at once: generation overlaps the database's work on the previous batch. */
  concurrency?: number;
  onProgress?: (p: { persons: number; resources: number }) => void;
  /** Add the service modules' clinical histories (critical information, medication, documents, lab results). Default true. */
  clinical?: boolean;
}

export interface SeedSummary {
  resources: number;
  persons: number;
  created: number;
  updated: number;
  unchanged: number;
  ms: number;
}

/**
 * Loads the synthetic population through the repository's putMany, batch by batch. Re-running
 * with the same options changes nothing (every resource comes back unchanged). The generator
 * guarantees that every reference resolves within the population (test/registry-generator),
 * so batches in flight together need not see each other's rows: referential checks are off.
 */
export async function seedPopulation(repo: Repository, opts: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const summary: SeedSummary = { resources: 0, persons: 0, created: 0, updated: 0, unchanged: 0, ms: 0 };
  const concurrency = Math.max(1, opts.concurrency ?? (repo.db.kind === 'postgres' ? 2 : 1));
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const histories = opts.clinical === false ? undefined : new ClinicalHistories(opts.seed, opts.referenceDate ?? DEFAULT_REFERENCE_DATE);
  for (const registryBatch of generatePopulation({ persons: opts.persons, seed: opts.seed, referenceDate: opts.referenceDate, batchSize: opts.batchSize ?? 500 })) {
    if (failure) break;
    const batch = histories ? histories.extend(registryBatch) : registryBatch;
    const persons = batch.filter((r: Resource) => r.resourceType === 'Patient').length;
    const job: Promise<void> = repo
      .putMany(batch, { referentialIntegrity: false })
      .then((counts) => {
        summary.created += counts.created;
        summary.updated += counts.updated;
        summary.unchanged += counts.unchanged;
        summary.resources += batch.length;
        summary.persons += persons;
        opts.onProgress?.({ persons: summary.persons, resources: summary.resources });
      })
      .catch((err) => {
        failure ??= err;
      })
      .finally(() => inFlight.delete(job));
    inFlight.add(job);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  summary.ms = Math.round(performance.now() - started);
  return summary;
}

/** Runs seedPopulation with a progress bar (rate and ETA in citizens). */
export async function seedWithProgress(repo: Repository, opts: SeedOptions): Promise<SeedSummary> {
  const bar = new cliProgress.SingleBar(
    {
      format: 'seeding |{bar}| {value}/{total} citizens | {rate}/s | {resources} resources | ETA {eta_formatted}',
      hideCursor: true,
      // Logs (CI, benchmarks) get a line every 10 s instead of nothing.
      noTTYOutput: true,
      notTTYSchedule: 10_000,
    },
    cliProgress.Presets.shades_classic
  );
  const start = performance.now();
  bar.start(opts.persons, 0, { rate: 0, resources: 0 });
  try {
    return await seedPopulation(repo, {
      ...opts,
      onProgress: (p) => {
        const seconds = (performance.now() - start) / 1000;
        bar.update(p.persons, { rate: Math.round(p.persons / Math.max(seconds, 0.001)), resources: p.resources });
        opts.onProgress?.(p);
      },
    });
  } finally {
    bar.stop();
  }
}

export function printSummary(s: SeedSummary, opts: SeedOptions): void {
  console.log(
    `Seeded ${s.persons} citizens (${s.resources} resources: ${s.created} created, ${s.updated} updated, ${s.unchanged} unchanged) ` +
      `with seed ${opts.seed} in ${(s.ms / 1000).toFixed(1)} s (${Math.round((s.resources / s.ms) * 1000)} resources/s)`
  );
}

/**
 * Seeds with a progress bar and a summary, and records the population (seed, reference date) in
 * the embedded data folder, where `npm run identities` and `npm run token` find it.
 */
export async function seedAndRecord(repo: Repository, config: Config, opts: SeedOptions & { referenceDate: string }): Promise<SeedSummary> {
  const summary = await seedWithProgress(repo, opts);
  printSummary(summary, opts);
  if (!config.databaseUrl) writePopulationInfo(config.dataDir, { seed: opts.seed, referenceDate: opts.referenceDate, persons: opts.persons });
  return summary;
}

async function main() {
  const config = loadConfig();
  const { values } = parseArgs({
    options: {
      persons: { type: 'string', default: '10000' },
      seed: { type: 'string', default: String(config.seed) },
      'reference-date': { type: 'string', default: config.seedReferenceDate },
      'batch-size': { type: 'string', default: '500' },
      concurrency: { type: 'string' },
    },
  });
  const opts = {
    persons: Number(values.persons),
    seed: /^\d+$/.test(values.seed!) ? Number(values.seed) : values.seed!,
    referenceDate: values['reference-date']!,
    batchSize: Number(values['batch-size']),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
  };
  if (!Number.isInteger(opts.persons) || opts.persons < 0) throw new Error(`--persons must be a whole number, got ${values.persons}`);
  const platform = await createPlatform(config);
  try {
    await seedAndRecord(platform.repo, config, opts);
    console.log(`Test identities:\n${formatIdentities(namedIdentities(wellKnownIdentities(opts.seed, opts.referenceDate)))}`);
  } finally {
    await platform.close();
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
