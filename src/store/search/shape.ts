import { definitions } from '../../fhir/definitions.ts';
import type { Bundle, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { carryLiterals } from '../../fhir/json-decimals.ts';
import { badRequest } from '../../fhir/outcome.ts';

/** _summary and _elements: subsetting of returned resources, marked SUBSETTED as the spec asks. */

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };

let elements: Map<string, { summary: Set<string>; required: Set<string> }> | undefined;

/** Top-level elements of each resource type that are in its summary, and those that are mandatory. */
function elementInfo(type: string): { summary: Set<string>; required: Set<string> } {
  if (!elements) {
    elements = new Map();
    const bundle = definitions('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
    for (const e of bundle.entry ?? []) {
      const sd = e.resource;
      if (sd?.kind !== 'resource' || !sd.type) continue;
      const summary = new Set<string>();
      const required = new Set<string>();
      for (const el of sd.snapshot?.element ?? []) {
        const parts = el.path!.split('.');
        if (parts.length !== 2) continue;
        const name = parts[1].replace('[x]', '');
        if (el.isSummary) summary.add(name);
        if ((el.min ?? 0) > 0) required.add(name);
      }
      elements.set(sd.type, { summary, required });
    }
  }
  return elements.get(type) ?? { summary: new Set(), required: new Set() };
}

function keep(resource: Resource, wanted: (key: string) => boolean): Resource {
  const out: any = {};
  for (const [k, v] of Object.entries(resource)) {
    // choice elements appear as valueQuantity etc.; their base name is what definitions list
    const base = k.replace(/^_/, '').replace(/[A-Z].*$/, '');
    if (k === 'resourceType' || k === 'id' || k === 'meta' || wanted(k.replace(/^_/, '')) || wanted(base)) out[k] = v;
  }
  out.meta = { ...(out.meta ?? {}), tag: [...((out.meta?.tag as any[]) ?? []), SUBSETTED] };
  return carryLiterals(resource, out) as Resource;
}

export type Summary = 'true' | 'text' | 'data' | 'count' | 'false';

/** `_summary`'s value; `count` only where there is a total to give (a search). */
export function parseSummary(value: string, countAllowed = true): Summary {
  const allowed = countAllowed ? ['true', 'false', 'text', 'data', 'count'] : ['true', 'false', 'text', 'data'];
  if (!allowed.includes(value)) throw badRequest('invalid-summary', `_summary must be ${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`, '_summary');
  return value as Summary;
}

/** `_elements` (each value a comma-separated list; `Patient.name` means `name`). */
export function parseElements(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((s) => s.trim().replace(/^[A-Z][A-Za-z]+\./, '')).filter(Boolean);
}

export function shapeResource(resource: Resource, summary: Summary | undefined, elementsParam: string[] | undefined): Resource {
  if (summary === 'true') {
    const { summary: s } = elementInfo(resource.resourceType);
    return keep(resource, (k) => s.has(k));
  }
  if (summary === 'text') {
    const { required } = elementInfo(resource.resourceType);
    return keep(resource, (k) => k === 'text' || required.has(k));
  }
  if (summary === 'data') {
    const { text: _text, ...rest } = resource as any;
    return keep(rest, () => true);
  }
  if (elementsParam?.length) {
    const wanted = new Set(elementsParam);
    const { required } = elementInfo(resource.resourceType);
    return keep(resource, (k) => wanted.has(k) || required.has(k));
  }
  return resource;
}
