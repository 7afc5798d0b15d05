import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { SHARED_DATA } from './paths.ts';

/** The shared test data sits beside the repository (CI clones the repo next to shared/). */
export const sharedData = SHARED_DATA;
export const syntheaDir = path.join(sharedData, 'synthea');

/**
 * The Synthea set as it is stored for search tests: every resource keeps the uuid of its
 * bundle entry as id, and every `urn:uuid:` reference becomes `<Type>/<uuid>`, so the test
 * oracle and the database see the same JSON and expected ids need no translation.
 *
 * Files are read in name order and a later copy of a resource replaces an earlier one
 * (patient bundles repeat their Organization/Practitioner, sometimes with extra extensions),
 * exactly as upserting them in that order does.
 *
 * `maxPatients` limits the patient bundles (in name order); the region's Organization and
 * Practitioner bundles are always read.
 */
export function readSynthea(opts: { maxPatients?: number } = {}): Resource[] {
  const files = fs.readdirSync(syntheaDir).filter((f) => f.endsWith('.json')).sort();
  const shared = files.filter((f) => /^(hospital|practitioner)Information/.test(f));
  const patients = files.filter((f) => !shared.includes(f)).slice(0, opts.maxPatients ?? Infinity);
  const bundles = [...shared, ...patients].map((f) => JSON.parse(fs.readFileSync(path.join(syntheaDir, f), 'utf8')));

  // First pass: the type of every urn:uuid in the whole set, since a bundle may point at
  // resources that only another bundle of the set defines.
  const typeOf = new Map<string, string>();
  for (const b of bundles) for (const e of b.entry ?? []) typeOf.set(e.fullUrl, e.resource.resourceType);

  const byKey = new Map<string, Resource>();
  for (const b of bundles) {
    for (const e of b.entry ?? []) {
      const uuid = String(e.fullUrl).replace(/^urn:uuid:/, '');
      if (e.resource.id && e.resource.id !== uuid) throw new Error(`entry ${e.fullUrl} has id ${e.resource.id}`);
      const r = rewriteReferences({ ...e.resource, id: uuid }, typeOf) as Resource;
      const key = `${r.resourceType}/${uuid}`;
      byKey.delete(key); // keep the order of the last write
      byKey.set(key, r);
    }
  }
  return [...byKey.values()];
}

function rewriteReferences(value: unknown, typeOf: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, typeOf));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:')) {
        const type = typeOf.get(v);
        if (!type) throw new Error(`unresolvable reference ${v}`);
        out[k] = `${type}/${v.slice('urn:uuid:'.length)}`;
      } else out[k] = rewriteReferences(v, typeOf);
    }
    return out;
  }
  return value;
}

/**
 * Stores the resources through the repository's bulk path in one call (one transaction), so
 * references between resources resolve whatever order they come in.
 */
export async function storeAll(
  repo: { putMany(resources: Resource[]): Promise<{ created: number; updated: number; unchanged: number }> },
  resources: Resource[],
): Promise<{ created: number; updated: number; unchanged: number }> {
  return repo.putMany(resources);
}
