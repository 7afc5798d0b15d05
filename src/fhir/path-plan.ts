import { tryGetDataType, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { balanced, splitUnion } from './search-parameters.ts';

/**
 * FHIRPath without an interpreter for the expressions most search parameters are (index
 * extraction, the patient compartment): unions of plain paths (`Observation.code`,
 * `Patient.name.given`, the resource itself as a composite's base), with `.ofType(T)` at any step
 * (`(Observation.value.ofType(CodeableConcept)).text`), optionally ending in
 * `.where(resolve() is T)` or `.where(field='value')`. The path is resolved against the type
 * definitions once, at compile time, into property steps per element type; evaluating it is then
 * a walk over the JSON. It gives exactly the typed values FHIRPath gives (tests hold it to that on
 * the official examples and Synthea); anything else stays with FHIRPath.
 */
export type PathPlan = (resource: Resource) => TypedValue[];

/** Per element type: the JSON keys to follow and the type each yields (several for a choice element). */
type Step = Map<string, { key: string; type: string }[]>;
/** A step that keeps the values of one type (`.ofType(T)` inside a path). */
type TypeStep = { ofType: string };

interface PartPlan {
  steps: (Step | TypeStep)[];
  filter?: (tv: TypedValue) => boolean;
}

const PART = /^([A-Z][A-Za-z]*)((?:\.(?:[a-z][A-Za-z0-9]*|ofType\([A-Za-z]+\)))*)(?:\.where\((?:resolve\(\) is ([A-Z][A-Za-z]+)|([a-z][A-Za-z]*)\s*=\s*'([^'\\]*)')\))?$/;
const SEGMENT = /ofType\(([A-Za-z]+)\)|[a-z][A-Za-z0-9]*/g;

/** Drops parentheses around the whole part and around a leading path: `(A.b).c` is `A.b.c`. */
function unwrap(part: string): string {
  let p = part.trim();
  while (p.startsWith('(') && p.endsWith(')') && balanced(p.slice(1, -1))) p = p.slice(1, -1).trim();
  const lead = /^\(([^()|]*(?:\([A-Za-z]+\))?[^()|]*)\)\./.exec(p);
  return lead ? unwrap(lead[1] + p.slice(lead[0].length - 1)) : p;
}

const capitalise = (s: string) => s[0].toUpperCase() + s.slice(1);

/** The property steps of `seg` from each of `types`, or undefined when a type or element is unknown. */
function stepFrom(types: string[], seg: string): Step | undefined {
  const step: Step = new Map();
  for (const t of types) {
    const schema = tryGetDataType(t);
    if (!schema) return undefined;
    const plain = schema.elements[seg];
    const choice = schema.elements[`${seg}[x]`];
    if (plain) {
      if (plain.type.length !== 1) return undefined;
      const code = plain.type[0].code;
      // Contained resources and untyped elements: their type is only known from the instance.
      if (code === 'Resource' || code === 'Element' || code === 'BackboneElement') return undefined;
      step.set(t, [{ key: seg, type: code }]);
    } else if (choice) {
      step.set(t, choice.type.map((x) => ({ key: seg + capitalise(x.code), type: x.code })));
    }
    // An element a type does not have yields nothing from that type, as in FHIRPath.
  }
  return step;
}

/**
 * The type FHIRPath's resolve() gives a reference, as @medplum/core computes it without a server:
 * a contained `resource`, else the part of `reference` before `?` or the first `/`
 * (so `Patient/1` is a Patient and an absolute URL is not), else `type` with an identifier.
 */
function resolvedType(tv: TypedValue): string | undefined {
  const v = tv.value as any;
  let ref: string | undefined;
  if (typeof v === 'string') ref = v;
  else if (v && typeof v === 'object') {
    if (v.resource) return v.resource.resourceType;
    if (v.reference) ref = v.reference;
    else if (v.type && v.identifier) return v.type;
  }
  if (typeof ref !== 'string') return undefined;
  if (ref.includes('?')) return ref.split('?')[0];
  if (ref.includes('/')) return ref.split('/')[0];
  return undefined;
}

function compilePart(part: string, rootType: string, relative = false): PartPlan | undefined {
  // A relative path (a composite's component, `value.ofType(Quantity)`) starts at its base.
  const m = PART.exec(relative ? `${rootType}.${unwrap(part)}` : unwrap(part));
  if (!m || m[1] !== rootType) return undefined;
  const [, , path, resolveIs, whereField, whereValue] = m;
  const steps: PartPlan['steps'] = [];
  let types = [rootType];
  for (const [seg, ofType] of path.matchAll(SEGMENT)) {
    if (ofType) {
      steps.push({ ofType });
      types = types.filter((t) => t === ofType);
      continue;
    }
    const step = stepFrom(types, seg);
    if (!step) return undefined;
    steps.push(step);
    types = [...new Set([...step.values()].flat().map((s) => s.type))];
  }
  let filter: PartPlan['filter'];
  if (resolveIs) {
    if (!types.every((t) => t === 'Reference')) return undefined;
    filter = (tv) => resolvedType(tv) === resolveIs;
  }
  if (whereField) {
    const previous = filter;
    filter = (tv) => (!previous || previous(tv)) && (tv.value as any)?.[whereField] === whereValue;
  }
  return { steps, filter };
}

/** A plan for the expression, or undefined when it is not one of the plain forms above. */
export function compilePathPlan(expression: string, resourceType: string): PathPlan | undefined {
  const parts = compileParts(expression, resourceType, false);
  return parts && ((resource) => run(parts, { type: resource.resourceType, value: resource }));
}

/**
 * A plan for an expression relative to a base value (a composite's components), compiled per base
 * type on first use; undefined from the returned function means "use FHIRPath for this base".
 */
export function compileRelativePlan(expression: string): (base: TypedValue) => TypedValue[] | undefined {
  const byType = new Map<string, PartPlan[] | null>();
  return (base) => {
    let parts = byType.get(base.type);
    if (parts === undefined) {
      parts = compileParts(expression, base.type, true) ?? null;
      byType.set(base.type, parts);
    }
    return parts ? run(parts, base) : undefined;
  };
}

function compileParts(expression: string, rootType: string, relative: boolean): PartPlan[] | undefined {
  const parts: PartPlan[] = [];
  for (const part of splitUnion(expression)) {
    const plan = compilePart(part, rootType, relative);
    if (!plan) return undefined;
    parts.push(plan);
  }
  return parts;
}

function run(parts: PartPlan[], root: TypedValue): TypedValue[] {
  const out: TypedValue[] = [];
  for (const part of parts) descend(part, 0, root.type, root.value, root, out);
  // A FHIRPath union drops duplicates; one path keeps them. Most unions yield one value or none,
  // which need no comparing: a comparison serialises both values.
  if (parts.length === 1 || out.length < 2) return out;
  const seen = new Set<string>();
  return out.filter((n) => {
    const key = `${n.type}:${JSON.stringify(n.value)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Follows `part` from step `i` down from one value, adding what it reaches to `out`: depth first,
 * which yields the values in the order FHIRPath's step-by-step evaluation gives them, without a
 * list and a typed value for every intermediate step (this runs for every search parameter of
 * every resource written). `node` is the value's own typed value when there is one (the root).
 */
function descend(part: PartPlan, i: number, type: string, value: unknown, node: TypedValue | undefined, out: TypedValue[]): void {
  if (i === part.steps.length) {
    const reached = node ?? { type, value };
    if (!part.filter || part.filter(reached)) out.push(reached);
    return;
  }
  const step = part.steps[i];
  if (!(step instanceof Map)) {
    if (type === step.ofType) descend(part, i + 1, type, value, node, out);
    return;
  }
  if (value == null || typeof value !== 'object') return;
  const children = step.get(type);
  if (!children) return;
  for (const { key, type: childType } of children) {
    const child = (value as Record<string, unknown>)[key];
    if (child === undefined || child === null) continue;
    if (Array.isArray(child)) {
      for (const c of child) if (c !== undefined && c !== null) descend(part, i + 1, childType, c, undefined, out);
    } else descend(part, i + 1, childType, child, undefined, out);
  }
}
