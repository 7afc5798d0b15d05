import { keptLiteral } from './json-decimals.ts';
import type { Resource } from '@medplum/fhirtypes';

/** A JSON object (not null, not an array): the shape checks of request bodies share it. */
export function isJsonObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** JSON with object keys sorted, so equal content gives equal text whatever the key order (decimals as written). */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v, i) => keptLiteral(value, String(i), v) ?? stableStringify(v)).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as any)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${keptLiteral(value, k, (value as any)[k]) ?? stableStringify((value as any)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The resource without the server-managed meta fields, for "has the content changed?" checks. */
export function contentKey(resource: Resource): string {
  const { meta, ...rest } = resource;
  const m: Record<string, unknown> = { ...(meta ?? {}) };
  delete m.versionId;
  delete m.lastUpdated;
  return stableStringify(Object.keys(m).length ? { ...rest, meta: m } : rest);
}

/** One literal `reference` string of a resource, rewritable in place. */
export class ReferenceSlot {
  constructor(
    private readonly holder: Record<string, unknown>,
    readonly value: string
  ) {}
  set(v: string): void {
    this.holder.reference = v;
  }
}

/**
 * Every literal `reference` string in a resource, in document order. Collected into an array by
 * plain recursion: every stored resource is walked once or twice, and a recursive generator made
 * an iterator object per element and per level for each reference.
 */
export function references(node: unknown, out: ReferenceSlot[] = []): ReferenceSlot[] {
  if (Array.isArray(node)) {
    for (const item of node) if (item && typeof item === 'object') references(item, out);
  } else if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if (typeof obj.reference === 'string') out.push(new ReferenceSlot(obj, obj.reference));
    // contained resources have their own local references (#id); they are walked like any element
    for (const k in obj) {
      const v = obj[k];
      if (k !== 'reference' && v && typeof v === 'object') references(v, out);
    }
  }
  return out;
}

/** `Type/id` or `Type/id/_history/v` (relative, to this server) → its parts. */
export function parseRelativeReference(ref: string): { type: string; id: string; version?: string } | undefined {
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/.exec(ref);
  return m ? { type: m[1], id: m[2], version: m[3] } : undefined;
}

/**
 * The links besides references that a transaction renames when it gives its entries ids (R4
 * http.html#trules): elements named `url`, which are of type uri or url throughout R4
 * (Attachment.url naming a Binary entry, say), and a narrative's `href` and `src` attributes.
 * `renamed` maps an entry's fullUrl to its `Type/id`; other values are left as they are.
 */
export function rewriteLinks(node: unknown, renamed: Map<string, string>): void {
  if (Array.isArray(node)) {
    for (const item of node) if (item && typeof item === 'object') rewriteLinks(item, renamed);
    return;
  }
  const obj = node as Record<string, unknown>;
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === 'string') {
      if (k === 'url') {
        const to = renamed.get(v);
        if (to !== undefined) obj[k] = to;
      } else if (k === 'div' && v.includes('urn:')) {
        obj[k] = v.replace(NARRATIVE_LINK, (link, before: string, quote: string, url: string) => {
          const to = renamed.get(url);
          return to === undefined ? link : `${before}${quote}${to}${quote}`;
        });
      }
    } else if (v && typeof v === 'object') rewriteLinks(v, renamed);
  }
}

const NARRATIVE_LINK = /(\s(?:href|src)\s*=\s*)(["'])(urn:(?:uuid|oid):[^"']*)\2/g;
