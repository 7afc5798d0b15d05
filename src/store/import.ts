import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createHash } from 'node:crypto';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { references } from '../fhir/json.ts';
import { parseFhirJson } from '../fhir/json-decimals.ts';

/**
 * One unit of an import: a Bundle to process whole, resources with ids to upsert (`sources`: where
 * each one is, `file:line` for NDJSON), or a line that could not be read.
 */
export type ImportUnit =
  | { kind: 'bundle'; source: string; bundle: Bundle; resources: number }
  | { kind: 'resources'; source: string; resources: Resource[]; sources?: string[] }
  | { kind: 'unreadable'; source: string; reason: string };

/** Every .json and .ndjson file under the given files and folders, in a stable order. */
export function findImportFiles(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) throw new Error(`No such file or folder: ${p}`);
    if (st.isDirectory()) for (const f of fs.readdirSync(p).sort()) walk(path.join(p, f));
    else if (/\.(nd)?json$/i.test(p)) out.push(p);
  };
  for (const i of inputs) walk(path.resolve(i));
  // Shared master data first: Synthea's patient bundles reference the organisations and practitioners.
  const rank = (f: string) => (/(hospitalInformation|practitionerInformation|Organization|Practitioner|Location)/.test(path.basename(f)) ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** A stable id from a urn:uuid: placeholder, or from the content when there is none. */
function stableId(fullUrl: string | undefined, resource: Resource): string {
  const m = /^urn:uuid:([0-9a-fA-F-]{36})$/.exec(fullUrl ?? '');
  if (m) return m[1].toLowerCase();
  return createHash('sha256').update(JSON.stringify(resource)).digest('hex').slice(0, 32);
}

/**
 * Makes a transaction or batch bundle idempotent: creates of urn:uuid: entries become updates of
 * that uuid, so running an interrupted import again finds what was stored and changes nothing.
 */
export function idempotentBundle(bundle: Bundle): Bundle {
  return {
    ...bundle,
    entry: (bundle.entry ?? []).map((e) => {
      if (e.request?.method !== 'POST' || e.request.ifNoneExist || !e.resource) return e;
      const id = stableId(e.fullUrl, e.resource);
      return { ...e, resource: { ...e.resource, id }, request: { method: 'PUT', url: `${e.resource.resourceType}/${id}` } };
    }),
  };
}

const CHUNK = 500;

/** Reads one file into import units (NDJSON in chunks, so big files stream). */
export async function* readImportFile(file: string): AsyncGenerator<ImportUnit> {
  if (file.toLowerCase().endsWith('.ndjson')) {
    const rl = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
    let chunk: Resource[] = [];
    let sources: string[] = [];
    let line = 0;
    for await (const text of rl) {
      line++;
      if (!text.trim()) continue;
      let r: Resource;
      try {
        r = parseFhirJson(text);
      } catch (err) {
        // One bad line is one failure; the file's other lines are still imported.
        yield { kind: 'unreadable', source: `${file}:${line}`, reason: `not valid JSON (${(err as Error).message})` };
        continue;
      }
      if (!r || typeof r !== 'object' || Array.isArray(r) || typeof r.resourceType !== 'string') {
        yield { kind: 'unreadable', source: `${file}:${line}`, reason: 'not a FHIR resource (a JSON object with a resourceType)' };
        continue;
      }
      chunk.push(r.id ? r : ({ ...r, id: stableId(undefined, r) } as Resource));
      sources.push(`${file}:${line}`);
      if (chunk.length >= CHUNK) {
        yield { kind: 'resources', source: `${file}:${line}`, resources: chunk, sources };
        chunk = [];
        sources = [];
      }
    }
    if (chunk.length) yield { kind: 'resources', source: `${file}:${line}`, resources: chunk, sources };
    return;
  }
  const json = parseFhirJson(await fs.promises.readFile(file, 'utf8'));
  if (json.resourceType === 'Bundle' && (json.type === 'transaction' || json.type === 'batch')) {
    yield { kind: 'bundle', source: file, bundle: idempotentBundle(json), resources: json.entry?.length ?? 0 };
  } else if (json.resourceType === 'Bundle') {
    const entries = (json.entry ?? []).filter((e: any) => e.resource);
    const resources: Resource[] = entries.map((e: any) => ({ ...e.resource, id: e.resource.id ?? stableId(e.fullUrl, e.resource) }));
    // Entries of a collection refer to each other by fullUrl; store them as Type/id references.
    const byFullUrl = new Map<string, string>(entries.map((e: any, i: number) => [e.fullUrl, `${resources[i].resourceType}/${resources[i].id}`]));
    for (const r of resources) for (const ref of references(r)) if (byFullUrl.has(ref.value)) ref.set(byFullUrl.get(ref.value)!);
    for (let i = 0; i < resources.length; i += CHUNK) yield { kind: 'resources', source: file, resources: resources.slice(i, i + CHUNK) };
  } else if (json.resourceType) {
    yield { kind: 'resources', source: file, resources: [json.id ? json : { ...json, id: stableId(undefined, json) }] };
  }
}
