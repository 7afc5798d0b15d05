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
 * Replaces the index rows of these resource versions (deletes rows of those rids first).
 * Called inside the write transaction. One multi-row insert per table, from column arrays
 * through unnest, so a bulk load of thousands of resources costs a handful of statements.
 */
export async function writeSearchIndex(tx: Queryable, entries: IndexEntry[]): Promise<void> {
  if (!entries.length) return;
  await deleteSearchIndex(tx, entries.map((e) => e.rid));
  const extracted = entries.map((e) => ({ e, rows: extractIndexRows(e.resource) }));
  for (const key of Object.keys(TABLES) as (keyof ExtractedRows)[]) {
    const { table, columns } = TABLES[key];
    const rids: number[] = [];
    const compartments: (string | null)[] = [];
    const cols: unknown[][] = columns.map(() => []);
    for (const { e, rows } of extracted) {
      // The same value reached by two paths (a display equal to the text) is indexed once.
      const seen = new Set<string>();
      for (const row of rows[key] as any[]) {
        const k = JSON.stringify(row);
        if (seen.has(k)) continue;
        seen.add(k);
        rids.push(e.rid);
        compartments.push(e.compartment);
        columns.forEach(([c], i) => cols[i].push(row[c] instanceof Date ? row[c].toISOString() : row[c]));
      }
    }
    if (!rids.length) continue;
    const names = ['rid', 'compartment', ...columns.map(([c]) => c)].join(', ');
    const arrays = ['$1::bigint[]', '$2::text[]', ...columns.map(([, t], i) => `$${i + 3}::${t}[]`)].join(', ');
    await tx.query(`insert into ${table} (${names}) select * from unnest(${arrays})`, [rids, compartments, ...cols]);
  }
}

export async function deleteSearchIndex(tx: Queryable, rids: number[]): Promise<void> {
  if (!rids.length) return;
  for (const table of INDEX_TABLES) await tx.query(`delete from ${table} where rid = any($1::bigint[])`, [rids]);
}
