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
    // Each resource's rows as one group, [rid, compartment, [row, ...]], a row an array of its
    // values, the parameter made by one JSON.stringify per table: rid and compartment once per
    // resource rather than once per row (a Synthea load's index JSON was larger than its
    // resources' own, two fifths of it compartment ids). Within one resource the same value
    // reached by two paths (a display equal to the text) is indexed once.
    const groups: unknown[][] = [];
    for (const { e, rows } of extracted) {
      const list = rows[key] as unknown as Record<string, unknown>[];
      if (!list.length) continue;
      const out: unknown[][] = [];
      // A CodeSystem's thousands of codes are compared through a set, a handful of rows one by one.
      const seen = list.length > 16 ? new Set<string>() : undefined;
      for (const row of list) {
        const values: unknown[] = [];
        for (const [c] of columns) {
          const v = row[c];
          values.push(v instanceof Date ? v.toISOString() : (v ?? null));
        }
        if (seen) {
          const json = JSON.stringify(values);
          if (seen.has(json)) continue;
          seen.add(json);
        } else if (indexedAlready(out, values)) continue;
        out.push(values);
      }
      groups.push([e.rid, e.compartment, out]);
    }
    if (!groups.length) continue;
    params.push(JSON.stringify(groups));
    const names = ['rid', 'compartment', ...columns.map(([c]) => c)];
    // ->> n reads element n as text, cast per column. jsonb, not json: it is parsed once, where
    // json re-lexed a row for every ->> (a fifth of PostgreSQL's CPU in the ingest bench).
    const select = ['(g ->> 0)::bigint', 'g ->> 1', ...columns.map(([, t], i) => `(x ->> ${i})::${t}`)].join(', ');
    ctes.push(
      `i_${key} as (insert into ${table} (${names.join(', ')}) select ${select} from jsonb_array_elements($${params.length}::jsonb) g cross join lateral jsonb_array_elements(g -> 2) x)`
    );
  }
  if (!ctes.length) return;
  await tx.query(`with ${ctes.join(', ')} select 1`, params);
}

/** Whether `rows` (a few rows of one resource) holds a row equal to `values`. */
function indexedAlready(rows: unknown[][], values: unknown[]): boolean {
  for (const row of rows) {
    let k = 0;
    while (k < values.length && row[k] === values[k]) k++;
    if (k === values.length) return true;
  }
  return false;
}

export async function deleteSearchIndex(tx: Queryable, rids: number[]): Promise<void> {
  if (!rids.length) return;
  for (const table of INDEX_TABLES) await tx.query(`delete from ${table} where rid = any($1::bigint[])`, [rids]);
}
