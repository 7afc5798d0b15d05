import { fhirTypeToJsType, isPrimitiveType, isResource, tryGetDataType } from '@medplum/core';
import type { Constraint, InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isResourceType } from './resource-types.ts';
import {
  holdsTrivially,
  invariantHolds,
  isEmptyValue,
  NOISE_REFERENCE_WARNING,
  numberProblem,
  referenceTypeProblem,
  SKIPPED_CONSTRAINT_KEYS,
  stringProblem,
} from './schema-validation.ts';
import { hasValueChecks, valueIssues } from './value-checks.ts';
import type { ValueSetIndex } from './profiles.ts';

/**
 * Whether a resource is sure to have no issues at all against the R4 base definitions: one pass over its JSON
 * keys, each looked up once. Most writes are of such resources, and for them validation.ts's full path (the
 * library's crawler rebuilt in schema-validation.ts, then a walk for the checks the library leaves out) costs
 * three to four times as much, building a typed value and a path for every element.
 *
 * It answers `false` whenever that path could report anything (an error or a warning), and also for whatever it
 * does not decide itself: primitive extensions (`_birthDate`), values of unusual shape, empty values, unknown
 * keys. The caller then runs the full path, which finds and words the issues; so this check must never say
 * `true` where the full path has an issue, and it evaluates every invariant that path evaluates, on the same
 * values with the same variables. It does not handle profiles: a resource that claims one takes the full path.
 */
export function isCleanResource(resource: Resource, valueSets: ValueSetIndex): boolean {
  if (resource.meta?.profile !== undefined || !isResourceType(resource.resourceType)) {
    return false;
  }
  const schema = tryGetDataType(resource.resourceType);
  if (!schema) {
    return false;
  }
  const check = new CleanCheck(resource, valueSets);
  const root: TypedValue = { type: resource.resourceType, value: resource };
  return check.holds(root, plan(schema).rootConstraints) && check.object(resource as unknown as Record<string, unknown>, schema);
}

/** One JSON key of a type: the element it spells (a choice element has one key per type) and what its values are checked by. */
interface Slot {
  /** The element's position in the schema; a choice element's keys share it. */
  position: number;
  element: InternalSchemaElement;
  /** The type the key spells (`Quantity` for `valueQuantity`). */
  type: string;
  primitive: boolean;
  /** For a primitive type, the JSON type its values have. */
  jsType: string | undefined;
  constraints: Constraint[];
  /** Whether value-checks.ts has something to check on this key's values. */
  valueChecks: boolean;
}

interface Plan {
  /** False when the schema has what this check does not decide (nested paths, slicing, fixed values, ...). */
  usable: boolean;
  slots: Map<string, Slot>;
  /** Positions of required elements. */
  required: number[];
  /** The invariants on the type itself, which the full path evaluates on the resource validated. */
  rootConstraints: Constraint[];
}

const plans = new WeakMap<InternalTypeSchema, Plan>();

/** The invariants the full path evaluates (schema-validation.ts, constraintsCheck). */
function evaluated(constraints: Constraint[] | undefined): Constraint[] {
  return (constraints ?? []).filter((c) => c.severity === 'error' && !SKIPPED_CONSTRAINT_KEYS.has(c.key));
}

function plan(schema: InternalTypeSchema): Plan {
  let p = plans.get(schema);
  if (p) {
    return p;
  }
  p = { usable: true, slots: new Map(), required: [], rootConstraints: evaluated(schema.constraints) };
  const keys = Object.keys(schema.elements);
  keys.forEach((key, position) => {
    const element = schema.elements[key];
    const lastSegment = element.path.substring(element.path.lastIndexOf('.') + 1);
    // What the full path handles in ways this check does not follow; none of it is in the R4 base definitions.
    if (key.includes('.') || key !== lastSegment || element.slicing || element.pattern || element.fixed || !element.type?.length) {
      p!.usable = false;
    }
    if (element.min > 0) {
      p!.required.push(position);
    }
    const constraints = evaluated(element.constraints);
    for (const t of element.type ?? []) {
      const name = lastSegment.replace('[x]', t.code.charAt(0).toUpperCase() + t.code.slice(1));
      // An inherited name (`constructor`) is found on every object by the library's lookup; two elements sharing a
      // key, or a type the library's getter resolves further (Element, BackboneElement), are left to the full path.
      if (name in Object.prototype || p!.slots.has(name) || name.startsWith('_') || t.code === 'Element' || t.code === 'BackboneElement') {
        p!.usable = false;
      }
      const primitive = isPrimitiveType(t.code);
      p!.slots.set(name, {
        position,
        element,
        type: t.code,
        primitive,
        jsType: primitive ? (fhirTypeToJsType as Record<string, string>)[t.code] : undefined,
        constraints,
        valueChecks: hasValueChecks(element, t.code),
      });
    }
  });
  plans.set(schema, p);
  return p;
}

class CleanCheck {
  /** The resources the values checked are in, innermost last: %resource for invariants. */
  private readonly resources: Resource[] = [];
  private readonly root: TypedValue;
  private readonly scratch: OperationOutcomeIssue[] = [];

  constructor(
    resource: Resource,
    private readonly valueSets: ValueSetIndex
  ) {
    this.root = { type: resource.resourceType, value: resource };
    this.resources.push(resource);
  }

  /** Whether every invariant the full path evaluates on this value holds. */
  holds(value: TypedValue, constraints: Constraint[]): boolean {
    for (const c of constraints) {
      if (!holdsTrivially(c, value.value) && invariantHolds(c.expression, value, this.resources[this.resources.length - 1], this.root) !== true) {
        return false;
      }
    }
    return true;
  }

  object(obj: Record<string, unknown>, schema: InternalTypeSchema): boolean {
    const p = plan(schema);
    // Anything but a plain JSON object gets every element looked up by the library, inherited properties too.
    if (!p.usable || Object.getPrototypeOf(obj) !== Object.prototype) {
      return false;
    }
    const resource = isResource(obj);
    if (resource) {
      this.resources.push(obj as unknown as Resource);
    }
    // The positions seen: the first 31 as bits, any later in a list (this runs for every object of every write,
    // and a list per object was a tenth of what the write path allocated). Keys by for-in: the prototype is
    // Object.prototype, checked above, which has no enumerable keys.
    let seenBits = 0;
    let seenMore: number[] | undefined;
    for (const key in obj) {
      if (key === 'resourceType') {
        continue; // never visited by the full path, and never reported
      }
      const slot = p.slots.get(key);
      // Unknown keys, primitive extensions, two types of one choice element.
      if (slot === undefined) {
        return false;
      }
      const position = slot.position;
      if (position < 31) {
        if (seenBits & (1 << position)) {
          return false;
        }
        seenBits |= 1 << position;
      } else {
        seenMore ??= [];
        if (seenMore.includes(position)) {
          return false;
        }
        seenMore.push(position);
      }
      const value = obj[key];
      const element = slot.element;
      if (Array.isArray(value)) {
        if (!element.isArray || value.length === 0 || value.length < element.min || value.length > element.max) {
          return false;
        }
        for (const v of value) {
          if (!this.value(v, slot)) {
            return false;
          }
        }
      } else if (element.isArray || element.min > 1 || element.max < 1 || !this.value(value, slot)) {
        return false;
      }
    }
    for (const position of p.required) {
      if (position < 31 ? (seenBits & (1 << position)) === 0 : !seenMore?.includes(position)) {
        return false;
      }
    }
    if (resource) {
      this.resources.pop();
    }
    return true;
  }

  private value(v: unknown, slot: Slot): boolean {
    if (v === null || v === undefined || isEmptyValue(v)) {
      return false;
    }
    const type = slot.type === 'Resource' && isResource(v) ? v.resourceType : slot.type;
    const typed: TypedValue = { type, value: v };
    if (slot.constraints.length > 0 && !this.holds(typed, slot.constraints)) {
      return false;
    }
    if (type === 'Reference') {
      const problem = referenceTypeProblem(typed, slot.element);
      // The warning for a reference by URL or urn:uuid is one validation.ts drops.
      if (problem !== undefined && !NOISE_REFERENCE_WARNING.test(problem)) {
        return false;
      }
    }
    if (slot.valueChecks) {
      valueIssues(slot.element, slot.type, v, '', this.valueSets, this.scratch);
      if (this.scratch.length > 0) {
        return false;
      }
    }
    if (slot.primitive) {
      if (typeof v !== slot.jsType) {
        return false; // also an object: a primitive with its extensions inline is the library's to unpack
      }
      if (typeof v === 'string') {
        return stringProblem(v, type) === undefined;
      }
      return typeof v !== 'number' || numberProblem(v, type) === undefined;
    }
    if (typeof v !== 'object' || (slot.type === 'Resource' && !isResourceType(type))) {
      return false; // also a contained value that is not a resource of a known type
    }
    const schema = tryGetDataType(type);
    return schema !== undefined && this.object(v as Record<string, unknown>, schema);
  }
}
