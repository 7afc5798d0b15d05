import { evalFhirPath, parseFhirPath, tryGetDataType, type FhirPathAtom } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { compilePathPlan } from './path-plan.ts';
import { definitions } from './definitions.ts';

/** The parts of a (possibly shared) search parameter expression that apply to this type. */
const partsFor = (resourceType: string, expression: string | undefined): string[] =>
  expression?.split('|').map((s) => s.trim()).filter((s) => s.startsWith(`${resourceType}.`)) ?? [];

/** Per type: the expression parts of its first compartment parameter, the one checked first. */
const firstCompartmentParts = new Map<string, string[]>();

/**
 * The Patient compartment (CompartmentDefinition "patient"): for each resource type, the search
 * parameters whose references put a resource in a patient's compartment, compiled once.
 */
const compartmentPaths: Map<string, { part: string; atom: FhirPathAtom }[]> = (() => {
  const definition = definitions('fhir/r4/compartmentdefinition-patient.json');
  const expressions = new Map<string, string>();
  for (const entry of definitions('fhir/r4/search-parameters.json').entry) {
    const sp = entry.resource;
    for (const base of sp.base ?? []) expressions.set(`${base}.${sp.code}`, sp.expression);
  }
  const result = new Map<string, { part: string; atom: FhirPathAtom }[]>();
  for (const { code, param } of definition.resource) {
    if (!param) continue;
    const atoms: { part: string; atom: FhirPathAtom }[] = [];
    for (const p of param as string[]) {
      const parts = partsFor(code, expressions.get(`${code}.${p}`));
      if (!firstCompartmentParts.has(code)) firstCompartmentParts.set(code, parts);
      for (const part of parts) atoms.push({ part, atom: parseFhirPath(part) });
    }
    result.set(code, atoms);
  }
  return result;
})();

/**
 * Per type, the compartment paths as functions returning the referencing values: path plans (a
 * walk over the JSON, a tenth of FHIRPath's cost on every write), FHIRPath for any part that is
 * not a plain path. Made once the type's definition is loaded.
 */
const compartmentEvaluators = new Map<string, ((resource: Resource) => unknown[])[]>();

/** Whether the compartment may use path plans; a test switches it off to compare against FHIRPath. */
export const compartmentPlans = { enabled: true };

function evaluatorsFor(resourceType: string): ((resource: Resource) => unknown[])[] | undefined {
  let evaluators = compartmentEvaluators.get(resourceType);
  if (evaluators || !tryGetDataType(resourceType)) return evaluators;
  evaluators = (compartmentPaths.get(resourceType) ?? []).map(({ part, atom }) => {
    const plan = compilePathPlan(part, resourceType);
    return plan ? (r: Resource) => plan(r).map(valueOf) : (r: Resource) => evalFhirPath(atom, r);
  });
  compartmentEvaluators.set(resourceType, evaluators);
  return evaluators;
}

function valueOf(tv: { value: unknown }): unknown {
  return tv.value;
}

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
  const paths = compartmentPaths.get(resource.resourceType) ?? [];
  const evaluators = compartmentPlans.enabled ? evaluatorsFor(resource.resourceType) : undefined;
  for (let i = 0; i < paths.length; i++) {
    let values: unknown[];
    try {
      values = evaluators ? evaluators[i](resource) : evalFhirPath(paths[i].atom, resource);
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

const PATIENT_ONLY = /\.where\(resolve\(\) is Patient\)$/;
const compartmentKeys = new Map<string, boolean>();

/**
 * True when a reference search parameter of `resourceType` names the element that decides the
 * resource's compartment: the first compartment parameter, single-valued (Observation.subject,
 * Condition.subject, …). Then a resource whose parameter points at Patient/x is always in x's
 * compartment, so `compartment = x` is a necessary condition that index rows can check without
 * a join (it is not sufficient: the reference itself is still checked).
 */
export function isCompartmentReference(resourceType: string, paramExpression: string | undefined): boolean {
  const key = `${resourceType}|${paramExpression}`;
  let known = compartmentKeys.get(key);
  if (known === undefined) {
    const decided = decideCompartmentReference(resourceType, paramExpression);
    if (decided === undefined) return false; // definitions not loaded yet: decide again later
    compartmentKeys.set(key, (known = decided));
  }
  return known;
}

function decideCompartmentReference(resourceType: string, paramExpression: string | undefined): boolean | undefined {
  const firstParts = (firstCompartmentParts.get(resourceType) ?? []).map((s) => s.replace(PATIENT_ONLY, ''));
  const paramParts = partsFor(resourceType, paramExpression).map((s) => s.replace(PATIENT_ONLY, ''));
  if (firstParts.length !== 1 || paramParts.length !== 1 || paramParts[0] !== firstParts[0]) return false;
  // One element directly under the resource, at most one value: its first Patient is the compartment.
  const path = firstParts[0].slice(resourceType.length + 1);
  if (!/^[a-zA-Z]+$/.test(path)) return false;
  const element = tryGetDataType(resourceType)?.elements?.[path];
  return element ? element.max === 1 : undefined;
}
