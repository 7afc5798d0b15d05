/**
 * The value rules shared by indexing and querying, so a stored value and a searched value are
 * always normalised the same way.
 */

/** Longest normalised string kept in an index row (btree keys must stay small). */
export const MAX_INDEXED_STRING = 255;

/**
 * Case- and accent-insensitive form for string search, as a Norwegian reader expects:
 * é → e and ü → u, but æ, ø and å are letters of their own and stay (Å → å, Ø → ø);
 * Swedish/German ä and ö are the same letters as æ and ø in Norwegian collation.
 */
export function normalizeString(s: string, maxLength = MAX_INDEXED_STRING): string {
  return s
    .toLowerCase()
    .replace(/ä/g, 'æ')
    .replace(/ö/g, 'ø')
    .normalize('NFD')
    .replace(/(?<!a)\u030a|[\u0300-\u0309\u030b-\u036f]/g, '')
    .normalize('NFC')
    .slice(0, maxLength);
}

export interface DateRange {
  lo: Date;
  hi: Date;
}

const DATE_RE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * The range of instants a FHIR date, dateTime or instant stands for: `2020` is the whole
 * year, `2020-03-01T10:00Z` the whole minute. Values without a zone are read as UTC.
 * Returns undefined for a malformed value.
 */
export function dateRange(value: string): DateRange | undefined {
  const m = DATE_RE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  const month = mo ? Number(mo) - 1 : 0;
  const day = d ? Number(d) : 1;
  if (month > 11 || day < 1 || day > 31) return undefined;
  const offsetMin = tz && tz !== 'Z' ? (tz[0] === '-' ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) : 0;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const start = Date.UTC(year, month, day, h ? Number(h) : 0, mi ? Number(mi) : 0, s ? Number(s) : 0, ms) - offsetMin * 60000;
  let end: number;
  if (!mo) end = Date.UTC(year + 1, 0, 1);
  else if (!d) end = Date.UTC(year, month + 1, 1);
  else if (!h) end = Date.UTC(year, month, day + 1);
  else if (!s) end = start + 60_000;
  else if (!frac) end = start + 1000;
  else end = start + 1;
  const check = new Date(Date.UTC(year, month, day));
  if (check.getUTCMonth() !== month) return undefined; // 2021-02-30
  return { lo: new Date(start), hi: new Date(end - 1) };
}

/** Number of decimals a number string was written with: its precision for eq/ap matching. */
export function decimals(numberText: string): number {
  const m = /^[-+]?\d*(?:\.(\d+))?(?:[eE]([-+]?\d+))?$/.exec(numberText.trim());
  if (!m) return 0;
  return Math.max(0, (m[1]?.length ?? 0) - Number(m[2] ?? 0));
}

/** Splits `Type/id` (optionally after a base URL, optionally with /_history/v). */
export function parseLocalReference(ref: string): { type: string; id: string } | undefined {
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
  return m ? { type: m[1], id: m[2] } : undefined;
}
