import os from 'node:os';
import path from 'node:path';

/** Everything the platform reads from its environment, in one place (documented in README.md). */
export interface Config {
  port: number;
  host: string;
  /** Public base URL of the server, used in Location headers and Bundle links. */
  baseUrl: string;
  /** A PostgreSQL URL; when absent the embedded PGlite database in dataDir is used. */
  databaseUrl?: string;
  dataDir: string;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Accept the synthetic national-id conventions (month + 40, month + 80). */
  testData: boolean;
  logLevel: string;
  /** Synthetic citizens to generate when the database has no patients (0: none). */
  seedPersons: number;
  /** Run the built-in development authorization server (/oidc) and trust its tokens. */
  devAuth: boolean;
  seed: number | string;
  /** The "today" of a population seeded on start (YYYY-MM-DD): ages and dates are relative to it. Default: today. */
  seedReferenceDate: string;
  /** Lab results: the release-delay and discipline table, as inline JSON or a JSON file path (docs/services/lab-results.md). */
  labResultsRules?: string;
  /** Journal documents: largest document accepted, in bytes (DOCUMENT_MAX_BYTES, default 50 MB; docs/services/documents.md). */
  documentMaxBytes: number;
  /** Journal documents: where document content is kept, 'postgres' (default) or 'file' (DOCUMENT_STORE). */
  documentStore: 'postgres' | 'file';
  /** Journal documents: the folder of the file store (DOCUMENT_DIR, default <dataDir>/documents). */
  documentDir: string;
  /** Requests per minute per client (RATE_LIMIT_PER_MINUTE, default 6000; 0: no limit). */
  rateLimitPerMinute: number;
  /** Threads that validate the resources of bundles and bulk loads (VALIDATION_THREADS; 0: on the event loop). */
  validationThreads: number;
}

/** A setting the environment gives in a form it cannot have; the message names the variable. */
export class ConfigError extends Error {}

/** A whole number ≥ 0 from the environment, or the default when unset; ConfigError otherwise. */
export function wholeNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text.trim())) throw new ConfigError(`${name} must be a whole number (0 or more), got ${JSON.stringify(text)}`);
  return Number(text);
}

/** Reads the configuration; throws ConfigError for a malformed number (a typo must not run with NaN). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = wholeNumber(env, 'PORT', 8080);
  const host = env.HOST ?? '0.0.0.0';
  const dataDir = path.resolve(env.DATA_DIR ?? './data');
  return {
    port,
    host,
    baseUrl: (env.BASE_URL ?? `http://localhost:${port}`).replace(/\/$/, ''),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir,
    maxBodyBytes: wholeNumber(env, 'MAX_BODY_BYTES', 32 * 1024 * 1024),
    testData: (env.TEST_DATA ?? 'true') !== 'false',
    logLevel: env.LOG_LEVEL ?? 'info',
    // Only the embedded database is seeded by default: a real server may hold real data.
    seedPersons: wholeNumber(env, 'SEED_PERSONS', env.DATABASE_URL ? 0 : 2000),
    // On by default for the embedded database only, and never under NODE_ENV=production.
    devAuth: env.NODE_ENV !== 'production' && (env.DEV_AUTH ? env.DEV_AUTH === 'true' : !env.DATABASE_URL),
    seed: /^\d+$/.test(env.SEED ?? '42') ? Number(env.SEED ?? '42') : env.SEED!,
    // Today, so the well-known 11-year-old is 11 when the server's clock reads their age.
    seedReferenceDate: env.SEED_REFERENCE_DATE ?? new Date().toISOString().slice(0, 10),
    labResultsRules: env.LAB_RESULTS_RULES || undefined,
    documentMaxBytes: wholeNumber(env, 'DOCUMENT_MAX_BYTES', 50 * 1024 * 1024),
    documentStore: env.DOCUMENT_STORE === 'file' ? 'file' : 'postgres',
    documentDir: path.resolve(env.DOCUMENT_DIR ?? path.join(dataDir, 'documents')),
    rateLimitPerMinute: wholeNumber(env, 'RATE_LIMIT_PER_MINUTE', 6000),
    validationThreads: wholeNumber(env, 'VALIDATION_THREADS', defaultValidationThreads(os.availableParallelism())),
  };
}

/**
 * A core for the event loop, one for PostgreSQL on the same machine, and the rest, at most four,
 * for validation threads. On two cores a thread competes with both for the same cores, and its
 * hand-over (each resource's JSON made and read again) is pure cost: the ingest benchmark ran
 * ~8 % faster with validation on the event loop (bench/RESULTS.md, session 15).
 */
export function defaultValidationThreads(cores: number): number {
  return Math.max(0, Math.min(4, cores - 2));
}
