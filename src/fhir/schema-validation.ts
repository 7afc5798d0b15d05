import {
  arrayify,
  createConstraintIssue,
  createOperationOutcomeIssue,
  createProcessingIssue,
  createStructureIssue,
  deepEquals,
  deepIncludes,
  evalFhirPathTyped,
  fhirTypeToJsType,
  getDataType,
  getNestedProperty,
  getTypedPropertyValue,
  isPrimitiveType,
  isReference,
  isResource,
  matchDiscriminant,
  parseFhirPath,
  PropertyType,
  toTypedValue,
  UCUM,
  validationRegexes,
} from '@medplum/core';
import type { Constraint, InternalSchemaElement, InternalTypeSchema, SliceDefinition, SlicingRules, TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

/**
 * @medplum/core's structural validator (`validateResource` / `validateTypedValue` of 4.5.2, ResourceValidator in
 * typeschema/validation.ts), with the same checks, messages, paths and issue order, but without its main cost: its
 * crawler visits every element a schema defines, present or not, resolving each through the choice-type lookup.
 * Here an object visits only the elements one of its JSON keys can belong to, plus the required ones (the only
 * absent elements the library reports on) and a profile's nested-path constraints. Everything else is the
 * library's own code path, called through its exports, so verdicts cannot drift apart on a subtle rule.
 *
 * Throws what the library throws (OperationOutcomeError for an unknown data type); unlike the library it returns
 * error issues instead of throwing them, which is what the caller turns them into anyway.
 */
export function validateTypedValueFast(root: TypedValue): OperationOutcomeIssue[] {
  return new FastValidator(root).validate();
}

type TypedValueWithPath = TypedValue & { path: string };

/** The library's own list; `ele-1` is always true of a value present in JSON, the others it deliberately skips. */
export const SKIPPED_CONSTRAINT_KEYS = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);

interface SchemaPlan {
  /** Element keys in the schema's order (the order the library reports in). */
  keys: string[];
  /** Per key: the JSON names (`valueQuantity`) and type codes the library's property getter tries, in its order. */
  candidates: { name: string; extension: string; type: string }[][];
  /** JSON key (`valueQuantity`, `_birthDate`) -> positions in `keys` of the elements it can belong to. */
  byJsonKey: Map<string, number[]>;
  /** Positions always visited: required elements and a profile's nested paths (`identifier.system`). */
  always: number[];
  /** Every position, for values that are not plain objects; see visitOrder. */
  allPositions: number[];
  /** JSON key -> the choice element (`value[x]`) its name could spell; see isChoiceOfType. */
  choiceNames: Map<string, ChoiceLookup>;
}

const plans = new WeakMap<InternalTypeSchema, SchemaPlan>();

function planFor(schema: InternalTypeSchema): SchemaPlan {
  let plan = plans.get(schema);
  if (!plan) {
    const keys = Object.keys(schema.elements);
    const byJsonKey = new Map<string, number[]>();
    const always: number[] = [];
    const candidates: SchemaPlan['candidates'] = [];
    keys.forEach((key, index) => {
      const element = schema.elements[key];
      // The JSON names the library's getTypedPropertyValueWithSchema tries for this element.
      const lastSegment = element.path.substring(element.path.lastIndexOf('.') + 1);
      candidates.push(
        (element.type ?? []).map((t) => {
          const name = lastSegment.replace('[x]', capitalize(t.code));
          return { name, extension: '_' + name, type: t.code };
        })
      );
      // A name a plain object inherits (`constructor`, `valueOf`) is found by the library's lookup on every object.
      const inherited = candidates[index].some((c) => c.name in Object.prototype || c.extension in Object.prototype);
      if (key.includes('.') || element.min > 0 || inherited) {
        always.push(index);
        return;
      }
      for (const { name } of candidates[index]) {
        for (const jsonKey of [name, '_' + name]) {
          const list = byJsonKey.get(jsonKey) ?? [];
          if (!list.includes(index)) {
            list.push(index);
          }
          byJsonKey.set(jsonKey, list);
        }
      }
    });
    plan = { keys, candidates, byJsonKey, always, allPositions: keys.map((_, i) => i), choiceNames: new Map() };
    plans.set(schema, plan);
  }
  return plan;
}

function capitalize(s: string): string {
  return s ? s.charAt(0).toUpperCase() + s.substring(1) : '';
}

/**
 * Element positions to visit for this object, in schema order. Anything but a plain JSON object (a string where an
 * object belongs, an array in a single-valued element) gets every element visited, as the library does: its lookup
 * finds inherited properties, and `'text'.link` is String.prototype.link.
 */
function visitOrder(plan: SchemaPlan, value: unknown): number[] {
  if (!value || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return plan.allPositions;
  }
  const hits = plan.always.slice();
  for (const key of Object.keys(value)) {
    const found = plan.byJsonKey.get(key);
    if (found) {
      for (const index of found) {
        if (!hits.includes(index)) {
          hits.push(index);
        }
      }
    }
  }
  // Insertion sort in place: a handful of positions per object, and Array#sort allocates.
  for (let i = 1; i < hits.length; i++) {
    const h = hits[i];
    let j = i - 1;
    for (; j >= 0 && hits[j] > h; j--) hits[j + 1] = hits[j];
    hits[j + 1] = h;
  }
  return hits;
}

/**
 * Invariants that hold whenever the context has no value for one element, because every path in them starts at
 * that element and ends in empty() (or sits in an `or` with such a term): decided by that key, evaluated otherwise.
 * These are the ones nearly every resource meets (dom-2/4/5 on each resource, obs-6/7 on each Observation), and
 * they make up most of the FHIRPath evaluations on Synthea data. Keyed by constraint key and expression, so only
 * the R4 invariant (or a profile's unchanged copy of it) qualifies.
 */
const HOLDS_WITHOUT = new Map<string, string>([
  ['dom-2|contained.contained.empty()', 'contained'],
  ['dom-4|contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()', 'contained'],
  ['dom-5|contained.meta.security.empty()', 'contained'],
  ['obs-6|dataAbsentReason.empty() or value.empty()', 'dataAbsentReason'],
  ['obs-7|value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()', 'component'],
  ['cpl-3|detail.empty() or reference.empty()', 'detail'],
  [
    "con-5|verificationStatus.coding.where(system='http://terminology.hl7.org/CodeSystem/condition-ver-status' and code='entered-in-error').empty() or clinicalStatus.empty()",
    'verificationStatus',
  ],
]);

/** Each constraint's entry in HOLDS_WITHOUT (null: none), looked up once: this is asked of every value's invariants. */
const holdsWithout = new WeakMap<Constraint, string | null>();

export function holdsTrivially(constraint: Constraint, context: unknown): boolean {
  let element = holdsWithout.get(constraint);
  if (element === undefined) {
    element = HOLDS_WITHOUT.get(constraint.key + '|' + constraint.expression) ?? null;
    holdsWithout.set(constraint, element);
  }
  // Only for a plain JSON object, and by `in`: anything unusual (an own key holding undefined) is evaluated.
  return (
    element !== null &&
    typeof context === 'object' &&
    context !== null &&
    Object.getPrototypeOf(context) === Object.prototype &&
    !(element in context) &&
    !('_' + element in context)
  );
}

const ucum = toTypedValue(UCUM);
const parsedExpressions = new Map<string, ReturnType<typeof parseFhirPath>>();

class FastValidator {
  private readonly issues: OperationOutcomeIssue[] = [];
  private readonly root: TypedValue;
  private readonly currentResource: Resource[] = [];
  private readonly schema: InternalTypeSchema;

  constructor(root: TypedValue) {
    this.root = root;
    if (isResource(root.value)) {
      this.currentResource.push(root.value);
    }
    this.schema = getDataType(root.type);
  }

  validate(): OperationOutcomeIssue[] {
    // Object.assign, not spread and a new key: on Node 20 a key added after a spread is slow (docs/architecture.md).
    const root = Object.assign({}, this.root, { path: this.schema.path });
    this.constraintsCheck(root, this.schema);
    checkObjectForNull(this.root.value as Record<string, unknown>, this.schema.path, this.issues);
    this.crawlObject(root, this.schema, this.schema.path);
    return this.issues;
  }

  // --- the crawler (typeschema/crawler.ts), visiting present and required elements only ---------------------------

  private crawlObject(obj: TypedValueWithPath, schema: InternalTypeSchema, path: string): void {
    const objIsResource = isResource(obj.value);
    if (objIsResource) {
      this.currentResource.push(obj.value as Resource);
    }
    const plan = planFor(schema);
    for (const index of visitOrder(plan, obj.value)) {
      const key = plan.keys[index];
      this.crawlProperty(obj, key, plan.candidates[index], schema, `${path}.${key}`);
    }
    this.checkAdditionalProperties(obj, schema, obj.path);
    if (objIsResource) {
      this.currentResource.pop();
    }
  }

  private crawlProperty(parent: TypedValueWithPath, key: string, candidates: SchemaPlan['candidates'][number], schema: InternalTypeSchema, path: string): void {
    const propertyValues = key.includes('.')
      ? (getNestedProperty(parent, key, { withPath: true }) as (TypedValueWithPath | TypedValueWithPath[])[])
      : [propertyValue(parent, key, schema.elements[key], candidates)];
    this.visitProperty(key, path, propertyValues, schema);
    for (const propertyValue of propertyValues) {
      if (propertyValue) {
        for (const value of arrayify(propertyValue) as TypedValueWithPath[]) {
          if (!isPrimitiveType(value.type)) {
            this.crawlObject(value, getDataType(value.type), path);
          }
        }
      }
    }
  }

  // --- the validator (typeschema/validation.ts), unchanged apart from caching --------------------------------------

  private visitProperty(key: string, path: string, propertyValues: (TypedValueWithPath | TypedValueWithPath[])[], schema: InternalTypeSchema): void {
    const element = schema.elements[key];
    for (const value of propertyValues) {
      if (!this.checkPresence(value, element, path)) {
        return;
      }
      let values: TypedValueWithPath[];
      if (element.isArray) {
        if (!Array.isArray(value)) {
          this.issues.push(createStructureIssue(path, 'Expected array of values for property'));
          return;
        }
        values = value;
      } else {
        if (Array.isArray(value)) {
          this.issues.push(createStructureIssue(path, 'Expected single value for property'));
          return;
        }
        values = [value];
      }
      if (values.length < element.min || values.length > element.max) {
        this.issues.push(
          createStructureIssue(
            element.path,
            `Invalid number of values: expected ${element.min}..${Number.isFinite(element.max) ? element.max : '*'}, but found ${values.length}`
          )
        );
      }
      if (!matchesSpecifiedValue(value, element)) {
        this.issues.push(createStructureIssue(path, 'Value did not match expected pattern'));
      }
      const sliceCounts: Record<string, number> | undefined = element.slicing
        ? Object.fromEntries(element.slicing.slices.map((s) => [s.name, 0]))
        : undefined;
      for (const v of values) {
        this.constraintsCheck(v, element);
        this.referenceTypeCheck(v, element);
        this.checkPropertyValue(v);
        const sliceName = checkSliceElement(v, element.slicing);
        if (sliceName && sliceCounts) {
          sliceCounts[sliceName] += 1;
        }
      }
      this.validateSlices(element.slicing?.slices, sliceCounts, path);
    }
  }

  private checkPresence(value: TypedValueWithPath | TypedValueWithPath[], field: InternalSchemaElement, path: string): boolean {
    if (!Array.isArray(value) && value.value === undefined) {
      if (field.min > 0) {
        this.issues.push(createStructureIssue(value.path, 'Missing required property'));
      }
      return false;
    }
    if (isEmptyValue(value)) {
      this.issues.push(createStructureIssue(path, 'Invalid empty value'));
      return false;
    }
    return true;
  }

  private checkPropertyValue(value: TypedValueWithPath): void {
    if (isPrimitiveType(value.type)) {
      this.validatePrimitiveType(value);
    } else if (isEmptyValue(value.value)) {
      this.issues.push(createStructureIssue(value.path, `Invalid empty non-primitive value`));
    }
  }

  private validateSlices(slices: SliceDefinition[] | undefined, counts: Record<string, number> | undefined, path: string): void {
    if (!slices || !counts) {
      return;
    }
    for (const slice of slices) {
      const count = counts[slice.name];
      if (count < slice.min || count > slice.max) {
        this.issues.push(
          createStructureIssue(
            path,
            `Incorrect number of values provided for slice '${slice.name}': expected ${slice.min}..${Number.isFinite(slice.max) ? slice.max : '*'}, but found ${count}`
          )
        );
      }
    }
  }

  private checkAdditionalProperties(parent: TypedValueWithPath, schema: InternalTypeSchema, path: string): void {
    const object = parent.value as Record<string, unknown> | undefined;
    if (!object) {
      return;
    }
    const properties = schema.elements;
    const choiceOfTypeElements: Record<string, string> = {};
    for (const key of Object.keys(object)) {
      if (key === 'resourceType') {
        continue;
      }
      const choiceOfTypeElementName = isChoiceOfType(parent, key, schema);
      if (choiceOfTypeElementName) {
        let relatedElementName: string;
        let requiredRelatedElementName: string;
        if (choiceOfTypeElementName.startsWith('_')) {
          relatedElementName = choiceOfTypeElementName.slice(1);
          requiredRelatedElementName = key.slice(1);
        } else {
          relatedElementName = '_' + choiceOfTypeElementName;
          requiredRelatedElementName = '_' + key;
        }
        if (relatedElementName in choiceOfTypeElements && choiceOfTypeElements[relatedElementName] !== requiredRelatedElementName) {
          const name = choiceOfTypeElementName.startsWith('_') ? choiceOfTypeElementName.slice(1) : choiceOfTypeElementName;
          this.issues.push(
            createOperationOutcomeIssue('warning', 'structure', `Type of primitive extension does not match the type of property "${name}"`, choiceOfTypeElementName)
          );
        }
        if (choiceOfTypeElements[choiceOfTypeElementName]) {
          this.issues.push(
            createOperationOutcomeIssue(
              'warning',
              'structure',
              `Conflicting choice of type properties: "${key}", "${choiceOfTypeElements[choiceOfTypeElementName]}"`,
              key
            )
          );
        }
        choiceOfTypeElements[choiceOfTypeElementName] = key;
        continue;
      }
      if (!(key in properties) && !(key.startsWith('_') && key.slice(1) in properties)) {
        this.issues.push(createStructureIssue(`${path}.${key}`, `Invalid additional property "${key}"`));
      }
    }
  }

  private constraintsCheck(value: TypedValueWithPath, field: InternalTypeSchema | InternalSchemaElement): void {
    const constraints = field.constraints;
    if (!constraints) {
      return;
    }
    for (const constraint of constraints) {
      if (constraint.severity === 'error' && !SKIPPED_CONSTRAINT_KEYS.has(constraint.key) && !holdsTrivially(constraint, value.value)) {
        if (!this.isExpressionTrue(constraint.expression, value)) {
          this.issues.push(createConstraintIssue(value.path, constraint));
          return;
        }
      }
    }
  }

  private referenceTypeCheck(value: TypedValueWithPath, field: InternalSchemaElement): void {
    const problem = referenceTypeProblem(value, field);
    if (problem) {
      this.issues.push(createOperationOutcomeIssue('warning', 'structure', problem, value.path));
    }
  }

  private isExpressionTrue(expression: string, value: TypedValueWithPath): boolean {
    const resource = this.currentResource.length > 0 ? this.currentResource[this.currentResource.length - 1] : undefined;
    const result = invariantHolds(expression, value, resource, isResource(this.root.value) ? this.root : undefined);
    if (typeof result === 'object') {
      this.issues.push(createProcessingIssue(value.path, 'Error evaluating invariant expression', result.error as Error, { fhirpath: expression }));
      return false;
    }
    return result;
  }

  private validatePrimitiveType(typedValue: TypedValueWithPath): void {
    const [primitiveValue, extensionElement] = unpackPrimitiveElement(typedValue);
    const path = typedValue.path;
    if (primitiveValue) {
      const { type, value } = primitiveValue;
      if (!(type in fhirTypeToJsType)) {
        this.issues.push(createStructureIssue(path, `Invalid JSON type: ${type} is not a valid FHIR type`));
        return;
      }
      const expectedType = fhirTypeToJsType[type as keyof typeof fhirTypeToJsType];
      if (typeof value !== expectedType) {
        if (value !== null) {
          this.issues.push(createStructureIssue(path, `Invalid JSON type: expected ${expectedType}, but got ${typeof value}`));
        }
        return;
      }
      if (expectedType === 'string') {
        this.validateString(value as string, type, path);
      } else if (expectedType === 'number') {
        this.validateNumber(value as number, type, path);
      }
    }
    if (extensionElement) {
      // The library crawls a primitive's extensions as an Element rooted at the primitive's path.
      const schema = getDataType('Element');
      this.crawlObject(Object.assign({}, extensionElement, { path }), schema, path);
    }
  }

  private validateString(str: string, type: string, path: string): void {
    const problem = stringProblem(str, type);
    if (problem) {
      this.issues.push(createStructureIssue(path, problem));
    }
  }

  private validateNumber(n: number, type: string, path: string): void {
    const problem = numberProblem(n, type);
    if (problem) {
      this.issues.push(createStructureIssue(path, problem));
    }
  }
}

/** What is wrong with a string value of this primitive type, in the library's words, if anything. */
export function stringProblem(str: string, type: string): string | undefined {
  // A first character that is printable ASCII is no white space: the test only for strings that may be blank.
  const first = str.charCodeAt(0);
  if (!(first > 32 && first < 127) && BLANK.test(str)) {
    return 'String must contain non-whitespace content';
  }
  if (str.length > 1024 * 1024) {
    return 'String cannot be larger than 1 MB';
  }
  const regex = validationRegexes[type];
  // test, not exec (as the library has it): the same verdict without a match array per string.
  return regex && !regex.test(str) ? 'Invalid ' + type + ' format' : undefined;
}

/** What is wrong with a number value of this primitive type, in the library's words, if anything. */
export function numberProblem(n: number, type: string): string | undefined {
  const isInteger = type === PropertyType.integer || type === PropertyType.positiveInt || type === PropertyType.unsignedInt;
  if (Number.isNaN(n) || !Number.isFinite(n)) {
    return 'Invalid numeric value';
  } else if (isInteger && !Number.isInteger(n)) {
    return 'Expected number to be an integer';
  } else if (type === PropertyType.positiveInt && n <= 0) {
    return 'Expected number to be positive';
  } else if (type === PropertyType.unsignedInt && n < 0) {
    return 'Expected number to be non-negative';
  }
  return undefined;
}

/** The start of a reference warning validation.ts drops: the library misreads references by URL and urn:uuid. */
export const NOISE_REFERENCE_WARNING = /^Invalid reference: got "[^"]*[:.]/;

/**
 * Whether a reference's target type is one the element allows, as the library judges it: the warning's text, or
 * undefined. Local (`#x`) references and types the library cannot tell (`Patient?identifier=...` is Patient) pass.
 */
export function referenceTypeProblem(value: TypedValue, field: InternalSchemaElement): string | undefined {
  if (value.type !== 'Reference') {
    return undefined;
  }
  const reference = value.value;
  if (!isReference(reference) || reference.reference.startsWith('#')) {
    return undefined;
  }
  const ref = reference.reference;
  const query = ref.indexOf('?');
  const slash = ref.indexOf('/');
  const referenceResourceType = query >= 0 ? ref.slice(0, query) : slash >= 0 ? ref.slice(0, slash) : ref;
  if (!referenceResourceType) {
    return undefined;
  }
  const targets = referenceTargets(field);
  if (!targets || targets.any || targets.types.has(referenceResourceType)) {
    return undefined;
  }
  return `Invalid reference: got "${referenceResourceType}", expected "${targets.profiles.join('", "')}"`;
}

const HL7_BASE_URL = 'http://hl7.org/fhir/StructureDefinition/';
const MEDPLUM_BASE_URL = 'https://medplum.com/fhir/StructureDefinition/';
const targetsOf = new WeakMap<InternalSchemaElement, { profiles: string[]; any: boolean; types: Set<string> } | null>();

/**
 * What an element's Reference type may point at, as the library decides it, worked out once per element: any type
 * when a target is Resource or a profile of neither base URL, else the types the base URLs' targets name.
 */
function referenceTargets(field: InternalSchemaElement): { profiles: string[]; any: boolean; types: Set<string> } | null {
  let targets = targetsOf.get(field);
  if (targets === undefined) {
    const profiles = field.type.find((t) => t.code === 'Reference')?.targetProfile;
    targets = profiles ? { profiles, any: false, types: new Set<string>() } : null;
    for (const p of profiles ?? []) {
      if (p === HL7_BASE_URL + 'Resource' || (!p.startsWith(HL7_BASE_URL) && !p.startsWith(MEDPLUM_BASE_URL))) {
        targets!.any = true;
      } else {
        targets!.types.add(p.slice(p.startsWith(HL7_BASE_URL) ? HL7_BASE_URL.length : MEDPLUM_BASE_URL.length));
      }
    }
    targetsOf.set(field, targets);
  }
  return targets;
}

/**
 * Whether an invariant holds of `value`, evaluated with the variables the library gives it: %resource is the
 * resource the value is in (a contained one inside it), %rootResource the resource validated. What evaluating it
 * threw is returned, for the caller to report.
 */
export function invariantHolds(
  expression: string,
  value: TypedValue,
  resource: Resource | undefined,
  rootResource: TypedValue | undefined
): boolean | { error: unknown } {
  const variables: Record<string, TypedValue> = { '%context': value, '%ucum': ucum };
  if (resource) {
    variables['%resource'] = toTypedValue(resource);
  }
  if (rootResource) {
    variables['%rootResource'] = rootResource;
  }
  try {
    let atom = parsedExpressions.get(expression);
    if (!atom) {
      atom = parseFhirPath(expression);
      parsedExpressions.set(expression, atom);
    }
    const result = evalFhirPathTyped(atom, [value], variables);
    return result.length === 1 && result[0].value === true;
  } catch (error) {
    return { error };
  }
}

/**
 * `getNestedProperty(parent, key, { withPath: true })` for a plain key, as the library computes it through
 * getTypedPropertyValueWithSchema, with the JSON names worked out once per schema instead of per call. A value with
 * a primitive extension (`_birthDate`) goes to the library itself: it merges the two in ways worth not copying.
 */
function propertyValue(
  parent: TypedValueWithPath,
  key: string,
  element: InternalSchemaElement,
  candidates: SchemaPlan['candidates'][number]
): TypedValueWithPath | TypedValueWithPath[] {
  const obj = parent.value as Record<string, unknown> | undefined;
  const path = parent.path ? parent.path + '.' + key : key;
  if (!obj || candidates.length === 0) {
    return { type: 'undefined', value: undefined, path };
  }
  let value: unknown = undefined;
  let type = 'undefined';
  for (const candidate of candidates) {
    value = obj[candidate.name];
    const extension = obj[candidate.extension];
    if (extension !== undefined) {
      return getNestedProperty(parent, key, { withPath: true })[0] as TypedValueWithPath | TypedValueWithPath[];
    }
    if (value !== undefined) {
      type = candidate.type;
      break;
    }
  }
  if (isEmptyValue(value)) {
    return { type: 'undefined', value: undefined, path };
  }
  if (type === 'Element' || type === 'BackboneElement') {
    type = element.type[0].code;
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => ({ type: type === 'Resource' && isResource(v) ? v.resourceType : type, value: v, path: `${path}[${i}]` }));
  }
  return { type: type === 'Resource' && isResource(value) ? value.resourceType : type, value, path };
}

/** The library's isEmpty: null, undefined, '', and objects or arrays without content. */
export function isEmptyValue(v: unknown): boolean {
  if (v === null || v === undefined) {
    return true;
  }
  if (typeof v === 'string') {
    return v === '';
  }
  if (typeof v === 'object') {
    if ('length' in v && (v as { length: number }).length > 0) {
      return false;
    }
    for (const k in v) {
      if (Object.hasOwn(v, k)) {
        return false;
      }
    }
    return true;
  }
  return false;
}

/** Where a JSON key's choice element is found: our lookup by position, or (never in R4) the library's by name. */
type ChoiceLookup = { index: number } | { libraryName: string } | null;

/**
 * The library splits the key before each capital and looks for `<prefix>[x]`; the split depends only on the key
 * and the schema, so it is cached, and only the presence lookup runs per object (through propertyValue, which for
 * Extension.value[x] saves trying fifty type names per extension).
 */
function isChoiceOfType(typedValue: TypedValueWithPath, key: string, schema: InternalTypeSchema): string | undefined {
  const plan = planFor(schema);
  let lookup = plan.choiceNames.get(key);
  if (lookup === undefined) {
    lookup = null;
    const bare = key.startsWith('_') ? key.slice(1) : key;
    let testProperty = '';
    for (const part of bare.split(/(?=[A-Z])/g)) {
      testProperty += part;
      if (schema.elements[testProperty + '[x]']) {
        // The library's lookup of `testProperty` prefers an element of exactly that name: none in R4, but should a
        // schema have one, the library resolves it.
        lookup = schema.elements[testProperty] === undefined ? { index: plan.keys.indexOf(testProperty + '[x]') } : { libraryName: testProperty };
        break;
      }
    }
    plan.choiceNames.set(key, lookup);
  }
  if (lookup === null) {
    return undefined;
  }
  const prefix = key.startsWith('_') ? '_' : '';
  if ('libraryName' in lookup) {
    return getTypedPropertyValue(typedValue, lookup.libraryName) ? prefix + lookup.libraryName + '[x]' : undefined;
  }
  const elementKey = plan.keys[lookup.index];
  const found = propertyValue(typedValue, elementKey, schema.elements[elementKey], plan.candidates[lookup.index]);
  return Array.isArray(found) || found.value !== undefined ? prefix + elementKey : undefined;
}

/** What `!str.trim()` means, without a trimmed copy of every string (\s is trim's whitespace). */
const BLANK = /^\s*$/;

// Paths are made only where there is a problem or something to descend into: most values are
// primitives, and this runs over every element of every stored resource.
function checkObjectForNull(obj: Record<string, unknown>, path: string, issues: OperationOutcomeIssue[]): void {
  for (const key in obj) {
    const value = obj[key];
    if (value === null) {
      issues.push(createStructureIssue(`${path}.${key}`, 'Invalid null value'));
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (item === undefined) {
          issues.push(createStructureIssue(`${path}.${key}[${i}]`, 'Invalid undefined value'));
        } else if (item === null && !(obj[key.startsWith('_') ? key.slice(1) : `_${key}`] as unknown[] | undefined)?.[i]) {
          issues.push(createStructureIssue(`${path}.${key}[${i}]`, 'Invalid null value'));
        } else if (item && typeof item === 'object') {
          checkObjectForNull(item, `${path}.${key}[${i}]`, issues);
        }
      }
    } else if (typeof value === 'object') {
      checkObjectForNull(value as Record<string, unknown>, `${path}.${key}`, issues);
    }
  }
}

function matchesSpecifiedValue(value: TypedValue | TypedValue[], element: InternalSchemaElement): boolean {
  if (!element.pattern && !element.fixed) {
    return true;
  }
  const typeAndValue = Array.isArray(value) ? value.map((v) => ({ type: v.type, value: v.value })) : { type: value.type, value: value.value };
  if (element.pattern && !deepIncludes(typeAndValue, element.pattern)) {
    return false;
  }
  if (element.fixed && !deepEquals(typeAndValue, element.fixed)) {
    return false;
  }
  return true;
}

function checkSliceElement(value: TypedValue, slicingRules: SlicingRules | undefined): string | undefined {
  if (!slicingRules) {
    return undefined;
  }
  for (const slice of slicingRules.slices) {
    if (
      slicingRules.discriminator.every((discriminator) =>
        arrayify(getNestedProperty(value, discriminator.path))?.some((v) => matchDiscriminant(v, discriminator, slice))
      )
    ) {
      return slice.name;
    }
  }
  return undefined;
}

function unpackPrimitiveElement(v: TypedValue): [TypedValue | undefined, TypedValue | undefined] {
  if (typeof v.value !== 'object' || !v.value) {
    return [v, undefined];
  }
  const primitiveValue = v.value.valueOf();
  if (primitiveValue === v.value) {
    return [undefined, { type: 'Element', value: v.value }];
  }
  const primitiveKeys = new Set(Object.keys(primitiveValue));
  const extensionEntries = Object.entries(v.value).filter(([k]) => !primitiveKeys.has(k));
  const extensionElement = extensionEntries.length > 0 ? Object.fromEntries(extensionEntries) : undefined;
  return [
    { type: v.type, value: primitiveValue },
    { type: 'Element', value: extensionElement },
  ];
}

