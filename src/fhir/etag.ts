/**
 * The versions an `If-Match` or `If-None-Match` value names (RFC 9110 §13.1): `*` for any current
 * version, else a comma-separated list of ETags, weak (`W/"3"`) or strong (`"3"`), which this server
 * compares by version alone, as FHIR's ETags are version ids. Undefined when an item is not one.
 */
export function etagVersions(value: string): '*' | number[] | undefined {
  const v = value.trim();
  if (v === '*') return '*';
  const versions: number[] = [];
  for (const item of v.split(',')) {
    const m = /^(?:W\/)?"?([0-9]{1,9})"?$/.exec(item.trim());
    if (!m) return undefined;
    versions.push(Number(m[1]));
  }
  return versions;
}

/** Whether such a value names this version (of a resource that exists). */
export function etagNames(value: '*' | number[], version: number): boolean {
  return value === '*' || value.includes(version);
}

/** `If-Modified-Since` (an HTTP date, whole seconds): whether lastUpdated is not later than it. */
export function notModifiedSince(header: string, lastUpdated: string | undefined): boolean {
  const since = Date.parse(header);
  if (Number.isNaN(since) || !lastUpdated) return false;
  return Math.floor(Date.parse(lastUpdated) / 1000) * 1000 <= since;
}
