import fs from 'node:fs';
import os from 'node:os';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { badRequest, conflict, FhirError, issue } from '../fhir/outcome.ts';
import { wholeNumber } from '../config.ts';
import { writeBatch, writeSteps, type BatchStep } from './write-batch.ts';

/** Something SQL can be sent to: the database itself or an open transaction. */
export interface Queryable {
  query<R = any>(sql: string, params?: unknown[]): Promise<R[]>;
  /**
   * Runs statements without parameters and COPYs (PostgreSQL's bulk input) in order, all of them
   * or none, in one round trip: each COPY's `rows` in COPY's text format, a line per row, values
   * separated by tabs (copyValue encodes one).
   */
  writeBatch(steps: BatchStep[]): Promise<void>;
}

/**
 * The one database interface the platform uses. Both drivers speak the same SQL dialect
 * (PostgreSQL 15 and newer), so every module is written once against this.
 */
export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs fn in one transaction: committed when fn resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export async function openDb(opts: { databaseUrl?: string; dataDir?: string; schema?: string }): Promise<Db> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl, opts.schema);
  return openPglite(opts.dataDir);
}

/**
 * Statements with a fixed text that run on every request (a read by id, the audit insert): on
 * PostgreSQL they are prepared once per connection, so each run skips parsing and planning.
 * Only such statements: a search's plan depends on its values, which a cached plan would ignore.
 */
const preparedNames = new Map<string, string>();
export function prepared(text: string): string {
  if (!preparedNames.has(text)) preparedNames.set(text, `samhandling_${preparedNames.size + 1}`);
  return text;
}
async function run(q: pg.Pool | pg.PoolClient, text: string, params?: unknown[]): Promise<any[]> {
  const name = preparedNames.get(text);
  return (name ? await q.query({ name, text, values: params as any[] }) : await q.query(text, params as any[])).rows;
}

// pg returns bigint and numeric as strings; JSON-safe numbers are what callers want for counts.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Connections to a PostgreSQL server: `DB_POOL_SIZE`, else twice this machine's cores (at least 4),
 * the usual starting point for a database on the same machine. More connections than PostgreSQL can keep
 * busy cost CPU: each query then wakes a sleeping backend. On 2 cores, 4 connections instead of
 * 10 gave reads by id ~10 % more throughput (bench/read.ts, alternating runs; bench/RESULTS.md).
 */
export function poolSize(env: NodeJS.ProcessEnv = process.env): number {
  return wholeNumber(env, 'DB_POOL_SIZE', 0) || Math.max(4, 2 * os.availableParallelism());
}

/**
 * How long a request waits for a free connection (`DB_POOL_WAIT_MS`, 30 s; 0 waits for ever)
 * before it is answered 503: with every connection held by long transactions, clients are told
 * to come back instead of piling up unanswered.
 */
export function poolWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  return wholeNumber(env, 'DB_POOL_WAIT_MS', 30_000);
}

/** The SQLSTATE of an error from PostgreSQL or PGlite. */
function sqlState(err: unknown): string | undefined {
  const { code, severity } = (err ?? {}) as { code?: unknown; severity?: unknown };
  return typeof severity === 'string' && typeof code === 'string' ? code : undefined;
}

/** A unique key taken by another transaction meanwhile, a deadlock or a serialization failure. */
export function isWriteConflict(err: unknown): boolean {
  return ['23505', '40001', '40P01'].includes(sqlState(err) ?? '');
}

/**
 * A database error the client can act on, as its OperationOutcome: no connection free in time, a
 * 503; another request changed the same data at the same moment (two creates of one id, a
 * deadlock, a serialization failure), a 409 the client may retry; or a value the database cannot
 * take, a 400. The transaction was rolled back whole. Anything else is undefined (a 500).
 */
export function databaseErrorAsFhir(err: unknown): FhirError | undefined {
  // pg-pool's error for a connection not had within DB_POOL_WAIT_MS.
  if ((err as Error)?.message === 'timeout exceeded when trying to connect')
    return new FhirError(503, [issue('transient', 'database-busy', `No database connection became free within ${poolWaitMs() / 1000} s; try again`)], { 'retry-after': '5' });
  const code = sqlState(err);
  if (code === undefined) return undefined;
  if (isWriteConflict(err))
    return conflict('write-conflict', 'Another request changed the same resource at the same moment; nothing was written, try again');
  // Class 22, data exceptions: a value from the request the database cannot take (a NUL
  // character, a number out of range) that no check before it caught.
  if (code.startsWith('22')) return badRequest('invalid-value', `A value in the request cannot be stored or searched: ${(err as Error).message}`);
  return undefined;
}

/** `schema` puts every table in that PostgreSQL schema (tests use one per run for isolation). */
export async function openPostgres(url: string, schema?: string): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize(),
    connectionTimeoutMillis: poolWaitMs(),
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // Fail fast with a clear message when the server is unreachable.
  await pool.query('select 1');
  return {
    kind: 'postgres',
    async query(sql, params) {
      return run(pool, sql, params);
    },
    async writeBatch(steps) {
      const client = await pool.connect();
      try {
        await writeBatch(client, steps);
      } finally {
        client.release();
      }
    },
    async transaction(fn) {
      const client = await pool.connect();
      // BEGIN goes with the first statement: in the same round trip when that is a write batch
      // (a bundle of creates is then BEGIN and its batch, and COMMIT), queued just before it
      // otherwise. Under READ COMMITTED nothing is taken at BEGIN that the statement would not take.
      let begun = false;
      const begin = () => {
        if (begun) return false;
        begun = true;
        return true;
      };
      try {
        const tx: Queryable = {
          query(sql, params) {
            if (begin()) client.query('begin').catch(() => undefined); // its failure fails the statement queued after it
            return run(client, sql, params);
          },
          writeBatch(steps) {
            if (!steps.length) return Promise.resolve();
            return writeBatch(client, begin() ? [{ statement: 'begin' }, ...steps] : steps);
          },
        };
        const result = await fn(tx);
        if (begun) await client.query('commit');
        return result;
      } catch (err) {
        if (begun) await client.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    async close() {
      await pool.end();
    },
  };
}

/**
 * Embedded PostgreSQL in a data folder; `undefined` keeps it in memory (tests). `from`, a dump of
 * another PGlite database (`dumpDataDir`), starts it as a copy of that one instead of empty.
 */
export async function openPglite(dataDir?: string, from?: Blob): Promise<Db> {
  if (dataDir) fs.mkdirSync(dataDir, { recursive: true });
  return pgliteDb(await PGlite.create({ ...(dataDir && { dataDir: `file://${dataDir}` }), ...(from && { loadDataDir: from }) }));
}

/** A PGlite database as a Db. */
export function pgliteDb(db: PGlite): Db {
  // PGlite runs one statement at a time; its transaction() holds an exclusive lock so
  // concurrent requests are serialised rather than interleaved.
  return {
    kind: 'pglite',
    async query(sql, params) {
      return (await db.query(sql, params as any[])).rows as any[];
    },
    async writeBatch(steps) {
      if (steps.length) await db.transaction((t) => writeSteps(t, steps));
    },
    async transaction(fn) {
      return db.transaction(async (t) =>
        fn({
          query: async (sql, params) => (await t.query(sql, params as any[])).rows as any[],
          writeBatch: (steps) => writeSteps(t, steps),
        })
      );
    },
    async exec(sql) {
      await db.exec(sql);
    },
    async close() {
      await db.close();
    },
  };
}
