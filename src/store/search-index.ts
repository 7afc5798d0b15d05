import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from './db.ts';
import { extractIndexRows, type ExtractedRows } from './search/extract.ts';

export interface IndexEntry {
  rid: number;
  type: string;
  compartment: string | null;
  resource: Resource;
}

/** Each index table, its value columns and their PostgreSQL array types for unnest. */
const TABLES: { [K in keyof ExtractedRows]: { table: string; columns: [keyof ExtractedRows[K][number] & string, string][] } } = {
  token: { table: 'sp_token', columns: [['p', 'text'], ['system', 'text'], ['code', 'text']] },
  string: { table: 'sp_string', columns: [['p', 'text'], ['norm', 'text'], ['value', 'text']] },
  text: { table: 'sp_text', columns: [['p', 'text'], ['norm', 'text']] },
  date: { table: 'sp_date', columns: [['p', 'text'], ['lo', 'timestamptz'], ['hi', 'timestamptz']] },
  number: { table: 'sp_number', columns: [['p', 'text'], ['value', 'numeric']] },
  quantity: {
    table: 'sp_quantity',
    columns: [['p', 'text'], ['value', 'numeric'], ['system', 'text'], ['code', 'text'], ['unit', 'text']],
  },
  reference: {
    table: 'sp_reference',
    columns: [['p', 'text'], ['target_type', 'text'], ['target_id', 'text'], ['url', 'text']],
  },
  uri: { table: 'sp_uri', columns: [['p', 'text'], ['value', 'text']] },
  composite: {
    table: 'sp_composite',
    columns: [
      ['p', 'text'],
      ['system1', 'text'],
      ['code1', 'text'],
      ['system2', 'text'],
      ['code2', 'text'],
      ['num2', 'numeric'],
      ['lo2', 'timestamptz'],
      ['hi2', 'timestamptz'],
    ],
  },
};

export const INDEX_TABLES = Object.values(TABLES).map((t) => t.table);

/**
 * Replaces the index rows of these resource versions (deletes rows of those rids first, unless
 * `fresh`: rows just inserted have none). Called inside the write transaction. All tables are
 * written by one statement (a data-modifying CTE per table), each reading its rows from one JSON
 * parameter: a bulk load of thousands of resources is one round trip, and the values are encoded
 * by JSON.stringify instead of escaped one by one as array literals.
 */
export async function writeSearchIndex(tx: Queryable, entries: IndexEntry[], opts: { fresh?: boolean } = {}): Promise<void> {
  if (!entries.length) return;
  if (!opts.fresh) await deleteSearchIndex(tx, entries.map((e) => e.rid));
  const extracted = entries.map((e) => ({ e, rows: extractIndexRows(e.resource) }));
  const ctes: string[] = [];
  const params: string[] = [];
  for (const key of Object.keys(TABLES) as (keyof ExtractedRows)[]) {
    const { table, columns } = TABLES[key];
    // Each row's JSON is made once: it is both the parameter's element and, within one resource,
    // the key that indexes the same value reached by two paths (a display equal to the text) once.
    const out: string[] = [];
    for (const { e, rows } of extracted) {
      const seen = new Set<string>();
      for (const row of rows[key] as any[]) {
        const json = JSON.stringify([e.rid, e.compartment, ...columns.map(([c]) => (row[c] instanceof Date ? row[c].toISOString() : row[c]))]);
        if (seen.has(json)) continue;
        seen.add(json);
        out.push(json);
      }
    }
    if (!out.length) continue;
    params.push(`[${out.join(',')}]`);
    const names = ['rid', 'compartment', ...columns.map(([c]) => c)];
    // Row arrays rather than objects: half the JSON; ->> n reads element n as text, cast per column.
    // jsonb, not json: it is parsed once, where json re-lexed a row for every ->> (a fifth of
    // PostgreSQL's CPU in the ingest bench).
    const types = ['bigint', 'text', ...columns.map(([, t]) => t)];
    const select = names.map((_, i) => `(x ->> ${i})::${types[i]}`).join(', ');
    ctes.push(`i_${key} as (insert into ${table} (${names.join(', ')}) select ${select} from jsonb_array_elements($${params.length}::jsonb) x)`);
  }
  if (!ctes.length) return;
  await tx.query(`with ${ctes.join(', ')} select 1`, params);
}

export async function deleteSearchIndex(tx: Queryable, rids: number[]): Promise<void> {
  if (!rids.length) return;
  for (const table of INDEX_TABLES) await tx.query(`delete from ${table} where rid = any($1::bigint[])`, [rids]);
}
