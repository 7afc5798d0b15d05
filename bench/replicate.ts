import pg from 'pg';
import { BENCH_DB } from './common.ts';

/**
 * Grows a schema holding the Synthea set (loaded once through the write path, so its index rows
 * are the real ones) to many patients inside PostgreSQL, set-based: every patient-owned resource
 * row and every index row is copied K times with the copy's id, rid, compartment and references
 * rewritten. Loading millions of resources through the write path would take hours.
 *
 * What a copy k (1, 2, …) gets:
 * - id `<id>-r<k>`, compartment `<patient>-r<k>`, rid `rid + k × stride` (stride > every original rid);
 * - references to a copied resource point at its copy; references to shared master data
 *   (Organization, Practitioner: no compartment) are kept;
 * - identifier tokens (`*.identifier`, `*:identifier`) get the suffix too, since an identifier
 *   identifies one resource;
 * - in the stored JSON, the resource's own id and its Patient references are rewritten (a plain
 *   replace(), which is cheap; a regexp over all ids cost ~200× more). Other references inside
 *   the JSON (e.g. to the Encounter) still name the original: only the index rows, which is
 *   what search reads, carry every rewritten reference.
 * resource_history is not copied (search never reads it).
 */

const INDEX_TABLES = ['sp_token', 'sp_string', 'sp_text', 'sp_date', 'sp_number', 'sp_quantity', 'sp_reference', 'sp_uri', 'sp_composite'];
const SUFFIX = `'-r' || k`;

export interface Replica {
  /** Copies (including the original) currently stored. */
  copies: number;
  /** Patients per copy. */
  patientsPerCopy: number;
  /** The id of a patient (or any copied resource) in copy k. */
  idIn(id: string, k: number): string;
  /** Adds copies up to `copies` in total, rebuilding indexes and statistics afterwards. */
  growTo(copies: number, log?: (line: string) => void): Promise<void>;
}

/** Prepares the replication sources in `schema`, which must hold the loaded original set. */
export async function prepareReplica(schema: string): Promise<Replica> {
  const admin = new pg.Client({ connectionString: BENCH_DB, options: `-c search_path=${schema}` });
  await admin.connect();
  const q = async (sql: string, params?: unknown[]) => (await admin.query(sql, params as any[])).rows;
  // The copies need no crash safety: unlogged tables spare writing the bulk load twice (heap and WAL).
  for (const t of ['resource', ...INDEX_TABLES]) await q(`alter table ${t} set unlogged`);
  await q(`create table bench_src_resource as select * from resource where compartment is not null and not deleted`);
  await q(`create unique index on bench_src_resource (id)`);
  for (const t of INDEX_TABLES) await q(`create table bench_src_${t} as select x.* from ${t} x join bench_src_resource s using (rid)`);
  // Which reference rows point at a copied resource, decided once rather than per copy.
  await q(`alter table bench_src_sp_reference add column copied_target boolean`);
  await q(`update bench_src_sp_reference x set copied_target = exists (select 1 from bench_src_resource s where s.id = x.target_id and s.type = x.target_type)`);
  const [{ max }] = await q(`select max(rid) as max from resource`);
  const stride = 10 ** Math.ceil(Math.log10(Number(max) + 1));
  const [{ n }] = await q(`select count(*)::int as n from bench_src_resource where type = 'Patient'`);
  const columns = new Map<string, string[]>();
  for (const t of INDEX_TABLES) {
    const rows = await q(`select column_name from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`, [schema, t]);
    columns.set(t, rows.map((r) => r.column_name));
  }
  await admin.end();

  const copyColumn = (table: string, c: string): string => {
    if (c === 'rid') return `x.rid + k::bigint * ${stride}`;
    if (c === 'compartment') return `x.compartment || ${SUFFIX}`;
    if (table === 'sp_reference' && c === 'target_id') return `case when x.copied_target then x.target_id || ${SUFFIX} else x.target_id end`;
    if (table === 'sp_token' && c === 'code') return `case when x.p like '%identifier' then x.code || ${SUFFIX} else x.code end`;
    return `x.${c}`;
  };
  const insertSql = (table: string): string => {
    if (table === 'resource') {
      return `insert into resource (rid, type, id, version, compartment, last_updated, deleted, content) overriding system value
        select x.rid + k::bigint * ${stride}, x.type, x.id || ${SUFFIX}, x.version, x.compartment || ${SUFFIX}, x.last_updated, x.deleted,
          replace(replace(x.content, '"id":"' || x.id || '"', '"id":"' || x.id || ${SUFFIX} || '"'),
                  '"Patient/' || x.compartment || '"', '"Patient/' || x.compartment || ${SUFFIX} || '"')
        from bench_src_resource x cross join generate_series($1::int, $2::int) k`;
    }
    const cols = columns.get(table)!;
    return `insert into ${table} (${cols.join(', ')}) select ${cols.map((c) => copyColumn(table, c)).join(', ')}
      from bench_src_${table} x cross join generate_series($1::int, $2::int) k`;
  };

  const replica: Replica = {
    copies: 1,
    patientsPerCopy: n,
    idIn: (id, k) => (k === 0 ? id : `${id}-r${k}`),
    async growTo(copies, log = (l) => console.log(l)) {
      if (copies <= replica.copies) return;
      const started = performance.now();
      const clients = await Promise.all(
        [0, 1].map(async () => {
          const c = new pg.Client({ connectionString: BENCH_DB, options: `-c search_path=${schema}` });
          await c.connect();
          await c.query(`set maintenance_work_mem = '512MB'`);
          return c;
        })
      );
      const [c0] = clients;
      // Bulk insert without secondary indexes, then build them once: far cheaper than updating them row by row.
      const indexes = (
        await c0.query(
          `select i.indexname, i.indexdef from pg_indexes i
           where i.schemaname = $1 and i.tablename = any($2)
             and not exists (select 1 from pg_constraint c join pg_class ic on ic.oid = c.conindid where ic.relname = i.indexname and c.connamespace = $1::regnamespace)`,
          [schema, ['resource', ...INDEX_TABLES]]
        )
      ).rows as { indexname: string; indexdef: string }[];
      for (const i of indexes) await c0.query(`drop index ${i.indexname}`);

      const batch = 25;
      const jobs: { table: string; from: number; to: number }[] = [];
      for (let from = replica.copies; from < copies; from += batch) {
        const to = Math.min(copies - 1, from + batch - 1);
        for (const table of ['resource', ...INDEX_TABLES]) jobs.push({ table, from, to });
      }
      let done = 0;
      let next = 0;
      // Two connections: one per core of the target machine.
      await Promise.all(
        clients.map(async (c) => {
          while (next < jobs.length) {
            const job = jobs[next++];
            await c.query(insertSql(job.table), [job.from, job.to]);
            done++;
            if (job.table === 'resource' || done === jobs.length) {
              log(`  replicate: copies ${job.from}–${job.to} of ${copies - 1} (${done}/${jobs.length} table batches, ${((performance.now() - started) / 1000).toFixed(0)} s)`);
            }
          }
        })
      );
      await c0.query(`select setval(pg_get_serial_sequence('resource', 'rid'), (select max(rid) from resource))`);
      log(`  replicate: rows copied in ${((performance.now() - started) / 1000).toFixed(0)} s; building ${indexes.length} indexes`);
      next = 0;
      await Promise.all(
        clients.map(async (c) => {
          while (next < indexes.length) await c.query(indexes[next++].indexdef);
        })
      );
      log(`  replicate: indexes built at ${((performance.now() - started) / 1000).toFixed(0)} s; vacuum analyze`);
      // VACUUM sets the visibility map, without which the index-only scans the search SQL relies on read the heap.
      next = 0;
      const tables = ['resource', ...INDEX_TABLES];
      await Promise.all(
        clients.map(async (c) => {
          while (next < tables.length) await c.query(`vacuum analyze ${tables[next++]}`);
        })
      );
      await Promise.all(clients.map((c) => c.end()));
      replica.copies = copies;
      log(`  replicate: ${copies * n} patients ready in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    },
  };
  return replica;
}
