import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from './db.ts';
import { copyValue, ridList, type BatchStep, type CopyInput } from './write-batch.ts';
import { extractIndexRows, type ExtractedRows } from './search/extract.ts';

export interface IndexEntry {
  rid: number;
  type: string;
  compartment: string | null;
  resource: Resource;
  /** Its index rows, when extracted already (extractIndexRows). */
  rows?: ExtractedRows;
}

/** Each index table and its value columns. */
const TABLES: { [K in keyof ExtractedRows]: { table: string; columns: (keyof ExtractedRows[K][number] & string)[] } } = {
  token: { table: 'sp_token', columns: ['p', 'system', 'code'] },
  string: { table: 'sp_string', columns: ['p', 'norm', 'value'] },
  text: { table: 'sp_text', columns: ['p', 'norm'] },
  date: { table: 'sp_date', columns: ['p', 'lo', 'hi'] },
  number: { table: 'sp_number', columns: ['p', 'value'] },
  quantity: { table: 'sp_quantity', columns: ['p', 'value', 'system', 'code', 'unit'] },
  reference: { table: 'sp_reference', columns: ['p', 'target_type', 'target_id', 'url'] },
  uri: { table: 'sp_uri', columns: ['p', 'value'] },
  composite: { table: 'sp_composite', columns: ['p', 'system1', 'code1', 'system2', 'code2', 'num2', 'lo2', 'hi2'] },
};

export const INDEX_TABLES = Object.values(TABLES).map((t) => t.table);

/**
 * Replaces the index rows of these resource versions (deletes rows of those rids first, unless
 * `fresh`: rows just inserted have none). Called inside the write transaction.
 */
export async function writeSearchIndex(tx: Queryable, entries: IndexEntry[], opts: { fresh?: boolean } = {}): Promise<void> {
  if (!entries.length) return;
  const deletes = opts.fresh ? [] : deleteStatements(entries.map((e) => e.rid));
  await tx.writeBatch([...deletes, ...indexCopies(entries)]);
}

/**
 * The index rows of these resource versions as a COPY per table that has rows, PostgreSQL's bulk
 * input: for a Synthea load it took ~¼ less of PostgreSQL's CPU than one statement inserting
 * every table's rows from JSON parameters (jsonb_array_elements in data-modifying CTEs), which
 * parsed the JSON, ran an executor node per row and inserted the rows one at a time
 * (bench/RESULTS.md, session 14).
 */
export function indexCopies(entries: IndexEntry[]): CopyInput[] {
  const extracted = entries.map((e) => e.rows ?? extractIndexRows(e.resource));
  const copies: CopyInput[] = [];
  // Lines collected and joined once: a text grown line by line is a rope that is flattened again when sent.
  const lines: string[] = [];
  for (const key of Object.keys(TABLES) as (keyof ExtractedRows)[]) {
    const { table, columns } = TABLES[key];
    for (let i = 0; i < entries.length; i++) {
      const list = extracted[i][key] as unknown as Record<string, unknown>[];
      if (!list.length) continue;
      const prefix = `${entries[i].rid}\t${copyValue(entries[i].compartment)}\t`;
      addDistinctLines(list, columns, prefix, lines);
    }
    if (lines.length) copies.push({ table, columns: ['rid', 'compartment', ...columns], rows: lines.join('') });
    lines.length = 0;
  }
  return copies;
}

/**
 * One resource's rows of one table as COPY lines, each after `prefix` (its rid and compartment), onto `out`: within
 * one resource the same value reached by two paths (a display equal to the text) is indexed once.
 */
function addDistinctLines(list: Record<string, unknown>[], columns: string[], prefix: string, out: string[]): void {
  // A CodeSystem's thousands of codes are compared as lines through a set; a handful of rows by their values, which
  // spares making (and comparing) a line for a row already there.
  const seen = list.length > 16 ? new Set<string>() : undefined;
  rows: for (let i = 0; i < list.length; i++) {
    const row = list[i];
    if (!seen) for (let j = 0; j < i; j++) if (sameRow(list[j], row, columns)) continue rows;
    let line = prefix;
    for (let c = 0; c < columns.length; c++) {
      const v = row[columns[c]];
      line += (c ? '\t' : '') + copyValue(v instanceof Date ? v.toISOString() : ((v as string | null | undefined) ?? null));
    }
    line += '\n';
    if (seen) {
      if (seen.has(line)) continue;
      seen.add(line);
    }
    out.push(line);
  }
}

/** Whether two rows have the same values, as their COPY lines would: a date by its time, undefined as null. */
function sameRow(a: Record<string, unknown>, b: Record<string, unknown>, columns: string[]): boolean {
  for (let c = 0; c < columns.length; c++) {
    const x = a[columns[c]] ?? null;
    const y = b[columns[c]] ?? null;
    if (x === y) continue;
    if (!(x instanceof Date && y instanceof Date && x.getTime() === y.getTime())) return false;
  }
  return true;
}

export async function deleteSearchIndex(tx: Queryable, rids: number[]): Promise<void> {
  if (rids.length) await tx.writeBatch(deleteStatements(rids));
}

/** Deletes of these rids' rows from every index table, as statements of a write batch. */
function deleteStatements(rids: number[]): BatchStep[] {
  const list = ridList(rids);
  return INDEX_TABLES.map((table) => ({ statement: `delete from ${table} where rid = any(${list})` }));
}
