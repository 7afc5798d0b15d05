import { getSearchParam, type CompiledParam } from '../../fhir/search-parameters.ts';
import { badRequest } from '../../fhir/outcome.ts';
import { and, or, raw, sql, type Sql } from '../sql.ts';
import { keyCond, UnsupportedParam } from './conditions.ts';

/**
 * Keyset paging. A page ends with the sort key values of its last row plus its rid (unique,
 * stable across updates); the next page is "rows strictly after that key", so a deep page
 * costs the same as the first and rows inserted or deleted meanwhile never shift the pages
 * (no skips, no repeats). The cursor is opaque to clients: base64url JSON in `_cursor`.
 */

export interface SortKey {
  /** SQL of the key over the resource alias. */
  expr: Sql;
  desc: boolean;
  cast: 'text' | 'timestamptz' | 'numeric';
  /** The key reads a column of the resource row (not only index tables). */
  needsRow?: boolean;
}

export interface Cursor {
  /** Values of the sort keys of the row the page starts after (or before, for `prev`). */
  v: (string | null)[];
  r: number;
  prev?: boolean;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(s: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(c.v) && Number.isSafeInteger(c.r)) return c;
  } catch {
    // fall through
  }
  throw badRequest('invalid-cursor', 'The paging cursor (_cursor) is malformed; follow the links of a search result', '_cursor');
}

const MAX_SORT_KEYS = 8;

/** Sort keys of `_sort=a,-b` on resource alias `a`: a resource sorts by its smallest value ascending, largest descending. */
export function sortKeys(types: string[], sortParam: string | undefined, alias: string): SortKey[] {
  if (!sortParam) return [];
  const items = sortParam.split(',').filter(Boolean);
  // A cursor compares every key with every earlier one: its SQL grows with the square of their number.
  if (items.length > MAX_SORT_KEYS) throw badRequest('invalid-sort', `_sort names ${items.length} keys; at most ${MAX_SORT_KEYS} are used`, '_sort');
  const keys: SortKey[] = [];
  for (const item of items) {
    const desc = item.startsWith('-');
    const code = desc ? item.slice(1) : item;
    const agg = raw(desc ? 'max' : 'min');
    if (code === '_id') {
      keys.push({ expr: raw(`${alias}.id`), desc, cast: 'text', needsRow: true });
      continue;
    }
    if (code === '_lastUpdated') {
      keys.push({ expr: raw(`${alias}.last_updated`), desc, cast: 'timestamptz', needsRow: true });
      continue;
    }
    const params = types.map((t) => getSearchParam(t, code));
    if (params.some((p) => !p)) throw new UnsupportedParam(`Unknown sort parameter '${code}'`);
    const type = params[0]!.type;
    const pcond = keyCond('x', params as CompiledParam[]);
    const sub = (table: string, col: string) => sql`(select ${agg}(${raw(col)}) from ${raw(table)} x where x.rid = ${raw(alias)}.rid and ${pcond})`;
    switch (type) {
      case 'date':
        keys.push({ expr: sub('sp_date', desc ? 'x.hi' : 'x.lo'), desc, cast: 'timestamptz' });
        break;
      case 'string':
        keys.push({ expr: sub('sp_string', 'x.norm'), desc, cast: 'text' });
        break;
      case 'token':
        keys.push({ expr: sub('sp_token', 'x.code'), desc, cast: 'text' });
        break;
      case 'number':
        keys.push({ expr: sub('sp_number', 'x.value'), desc, cast: 'numeric' });
        break;
      case 'quantity':
        keys.push({ expr: sub('sp_quantity', 'x.value'), desc, cast: 'numeric' });
        break;
      case 'reference':
        keys.push({ expr: sub('sp_reference', "coalesce(x.target_type || '/' || x.target_id, x.url)"), desc, cast: 'text' });
        break;
      case 'uri':
        keys.push({ expr: sub('sp_uri', 'x.value'), desc, cast: 'text' });
        break;
      default:
        throw new UnsupportedParam(`Sorting by ${code} (${type}) is not supported`);
    }
  }
  return keys;
}

/** ORDER BY of the keys (columns k0..kn of the inner query) then rid; `reverse` for a previous page. */
export function orderBy(keys: SortKey[], reverse: boolean, q: string): Sql {
  const parts = keys.map((k, i) => {
    const desc = k.desc !== reverse;
    // Missing values sort last in the requested order, hence first when walking backwards.
    return `${q}.k${i} ${desc ? 'desc' : 'asc'} nulls ${reverse ? 'first' : 'last'}`;
  });
  parts.push(`${q}.rid ${reverse ? 'desc' : 'asc'}`);
  return raw(parts.join(', '));
}

/** Rows strictly after the cursor in the (possibly reversed) order: lexicographic over keys then rid. */
export function afterCursor(keys: SortKey[], cursor: Cursor, reverse: boolean, q: string): Sql {
  const alternatives: Sql[] = [];
  const equalSoFar: Sql[] = [];
  keys.forEach((k, i) => {
    const col = raw(`${q}.k${i}`);
    const c = cursor.v[i] ?? null;
    const cast = raw(k.cast);
    const desc = k.desc !== reverse;
    const nullsLast = !reverse;
    let after: Sql;
    if (c === null) after = nullsLast ? raw('false') : sql`${col} is not null`;
    else {
      const cmp = desc ? sql`${col} < ${c}::${cast}` : sql`${col} > ${c}::${cast}`;
      after = nullsLast ? sql`(${cmp} or ${col} is null)` : cmp;
    }
    alternatives.push(and([...equalSoFar, after]));
    equalSoFar.push(c === null ? sql`${col} is null` : sql`${col} = ${c}::${cast}`);
  });
  alternatives.push(and([...equalSoFar, reverse ? sql`${raw(q)}.rid < ${cursor.r}` : sql`${raw(q)}.rid > ${cursor.r}`]));
  return or(alternatives);
}

/** A key value as it travels in a cursor. */
export function keyValue(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}
