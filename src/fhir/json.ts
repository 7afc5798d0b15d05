import type { Resource } from '@medplum/fhirtypes';

/** JSON with object keys sorted, so equal content gives equal text whatever the key order. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as any)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify((value as any)[k])}`).join(',')}}`;
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

/** Every literal `reference` string in a resource, with a setter to rewrite it in place. */
export function* references(node: unknown): Generator<{ value: string; set(v: string): void }> {
  if (Array.isArray(node)) {
    for (const item of node) yield* references(item);
  } else if (node && typeof node === 'object') {
    const obj = node as Record<string, unknown>;
    if (typeof obj.reference === 'string') {
      yield { value: obj.reference, set: (v) => (obj.reference = v) };
    }
    for (const [k, v] of Object.entries(obj)) {
      // contained resources have their own local references (#id); they are walked like any element
      if (k !== 'reference' && v && typeof v === 'object') yield* references(v);
    }
  }
}

/** `Type/id` or `Type/id/_history/v` (relative, to this server) → its parts. */
export function parseRelativeReference(ref: string): { type: string; id: string; version?: string } | undefined {
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/.exec(ref);
  return m ? { type: m[1], id: m[2], version: m[3] } : undefined;
}
