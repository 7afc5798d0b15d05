import { getAllDataTypes, getDataType, loadDataType, OperationOutcomeError, tryGetDataType, tryGetProfile, validateTypedValue } from '@medplum/core';
import type { InternalSchemaElement, InternalTypeSchema, TypedValue } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { FhirError, issue } from './outcome.ts';
import { isResourceType } from './resource-types.ts';
import { NOISE_REFERENCE_WARNING, validateTypedValueFast } from './schema-validation.ts';
import { isCleanResource } from './clean-check.ts';
import { loadBaseDefinitions, prepareProfile, ValueSetIndex } from './profiles.ts';
import { hasValueChecks, valueIssues } from './value-checks.ts';

export interface Validator {
  /**
   * Issues for this resource against the R4 base definitions and every profile in meta.profile that this validator
   * holds. Errors make a write fail (422); warnings are kept. Never throws for bad input.
   */
  validate(resource: Resource): OperationOutcomeIssue[];
  /**
   * Makes a StructureDefinition (profile) available. Never throws: returns a warning when the profile cannot be used
   * (no snapshot, not a constraint, a base URL, a slicing the library does not support); empty when loaded.
   */
  addProfile(sd: StructureDefinition): OperationOutcomeIssue[];
  removeProfile(url: string): void;
}

/** Whether the issues hold an error (a loop, not a closure: it runs for every stored resource). */
export function hasErrors(issues: OperationOutcomeIssue[]): boolean {
  for (const i of issues) if (i.severity === 'error' || i.severity === 'fatal') return true;
  return false;
}

/** Throws FhirError 422 when `issues` holds an error; the write path's single gate. */
export function assertValid(issues: OperationOutcomeIssue[]): void {
  if (hasErrors(issues)) {
    throw new FhirError(422, issues);
  }
}

export interface ValidatorOptions {
  /**
   * `library` runs @medplum/core's own validateResource; the default runs the same checks through
   * schema-validation.ts, several times faster. Kept for the benchmark and the equivalence test.
   */
  engine?: 'fast' | 'library';
}

let r4ValueSets: ValueSetIndex | undefined;

export function createValidator(options: ValidatorOptions = {}): Validator {
  const library = options.engine === 'library';
  const structural = library ? libraryValidate : validateTypedValueFast;
  loadBaseDefinitions();
  r4ValueSets ??= ValueSetIndex.r4();
  const valueSets = r4ValueSets;
  const profiles = new Map<string, StructureDefinition>();

  return {
    validate(resource) {
      loadBaseDefinitions();
      const notAResource = checkResourceType(resource);
      if (notAResource) {
        return [notAResource];
      }
      // Most resources have no issue at all; the full path below runs for the rest, and finds and words what is wrong.
      if (!library && isCleanResource(resource, valueSets)) {
        return [];
      }
      const largeBinaries = new Set<string>();
      const issues = [...bindingAndValueIssues(resource, undefined, valueSets, largeBinaries), ...libraryIssues(structural, resource, undefined, largeBinaries)];
      const claimed: unknown[] = Array.isArray(resource.meta?.profile) ? resource.meta.profile : [];
      for (const [i, url] of claimed.entries()) {
        if (typeof url !== 'string') {
          continue; // a malformed meta.profile is reported by the structural checks
        }
        const where = `${resource.resourceType}.meta.profile[${i}]`;
        const profile = profiles.get(url.split('|')[0]); // a canonical may name a version; we hold one
        if (!profile) {
          // R4 lets a server ignore profiles it does not know (http://hl7.org/fhir/R4/validation.html#profiles).
          issues.push(
            issue('not-supported', 'profile-unknown', `Profile ${url} is not known to this server; not validated against it`, where, 'warning')
          );
          continue;
        }
        if (profile.type !== resource.resourceType) {
          issues.push(issue('invalid', 'profile-type-mismatch', `Profile ${url} constrains ${profile.type}, not ${resource.resourceType}`, where));
          continue;
        }
        issues.push(...bindingAndValueIssues(resource, url, valueSets, largeBinaries), ...libraryIssues(structural, resource, profile, largeBinaries));
      }
      return dedupe(issues);
    },

    addProfile(sd) {
      // Storing a StructureDefinition never fails because of this: one the library cannot use is simply not used,
      // and the warning says why (resources claiming it then get a profile-unknown warning).
      const url = sd?.url ?? '(no url)';
      const problem = unusableProfile(sd);
      if (problem) {
        return [issue('not-supported', 'profile-unusable', `StructureDefinition ${url} is not used for validation: ${problem}`, 'StructureDefinition', 'warning')];
      }
      const prepared = prepareProfile(sd);
      try {
        loadDataType(prepared);
      } catch (err) {
        return [issue('not-supported', 'profile-unusable', `StructureDefinition ${url} is not used for validation: ${(err as Error).message}`, 'StructureDefinition', 'warning')];
      }
      profiles.set(sd.url as string, prepared);
      registerParsedProfile(sd.url as string);
      return [];
    },

    removeProfile(url) {
      // The library has no way to unload a schema; forgetting it here is enough, since only held profiles are used.
      profiles.delete(url);
      delete getAllDataTypes()[url];
    },
  };
}

function checkResourceType(resource: unknown): OperationOutcomeIssue | undefined {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    return issue('structure', 'resource-not-object', 'A resource must be a JSON object', undefined);
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !type) {
    return issue('required', 'resource-type-missing', 'The resource has no resourceType', 'resourceType');
  }
  if (!isResourceType(type)) {
    return issue('not-supported', 'resource-type-unknown', `Unknown resource type '${type}'`, 'resourceType');
  }
  return undefined;
}

/** A profile the library can load: a constraint on a type, with a snapshot, that would not replace a base type. */
function unusableProfile(sd: StructureDefinition): string | undefined {
  if (sd?.resourceType !== 'StructureDefinition' || !sd.url || !sd.name || !sd.type) {
    return 'a profile needs url, name and type';
  }
  if (sd.derivation !== 'constraint') {
    return 'only constraint profiles (derivation = constraint) are used for validation';
  }
  if (sd.url.startsWith('http://hl7.org/fhir/StructureDefinition/') && !sd.url.includes('/', 40)) {
    // Would overwrite a base definition in the library's global registry.
    const name = sd.url.slice('http://hl7.org/fhir/StructureDefinition/'.length);
    if (isResourceType(name) || name === sd.type || name === 'MoneyQuantity' || name === 'SimpleQuantity') {
      return 'the URL of a base definition cannot be redefined';
    }
  }
  if (!sd.snapshot?.element?.length) {
    return 'a snapshot is required (the server does not generate snapshots from differentials)';
  }
  return undefined;
}

// --- the library's structural validation, mapped to our stable codes -----------------------------------------------

/**
 * `validateResource(r, { profile })` parses the profile's StructureDefinition on every call (20+ ms for a no-basis
 * profile). The parsed schema that loadDataType keeps is registered as a data type named by the profile URL, and the
 * resource is validated as a value of that type: the same schema, the same checks, parsed once. (Nested values are
 * checked against base types either way; the library looks profile types up only at the root.)
 */
function registerParsedProfile(url: string): void {
  const schema = tryGetProfile(url);
  if (schema) {
    getAllDataTypes()[url] = schema;
  }
}

/** `largeBinaries`: paths of base64Binary values over 1 MB, which the library wrongly holds to the string limit. */
function libraryIssues(
  structural: (value: TypedValue) => OperationOutcomeIssue[],
  resource: Resource,
  profile: StructureDefinition | undefined,
  largeBinaries: Set<string>
): OperationOutcomeIssue[] {
  let raw: OperationOutcomeIssue[];
  try {
    raw = structural({ type: profile ? (profile.url as string) : resource.resourceType, value: resource });
  } catch (err) {
    if (!(err instanceof OperationOutcomeError)) {
      return [issue('exception', 'validation-failed', `Validation could not complete: ${(err as Error).message}`, resource.resourceType)];
    }
    raw = err.outcome.issue ?? [];
  }
  const wrongStringLimit = (i: OperationOutcomeIssue) =>
    largeBinaries.has(i.expression?.[0] ?? '') && /^String cannot be larger/.test(i.details?.text ?? '');
  return raw
    .filter((i) => !isNoiseIssue(i) && !wrongStringLimit(i))
    .map((i) => mapLibraryIssue(i, profile?.url, resource))
    .map((i) => judgeableSlice(i, profile?.url));
}

/** The library's entry point; it throws its issues when one is an error. */
function libraryValidate(value: TypedValue): OperationOutcomeIssue[] {
  return validateTypedValue(value);
}

/**
 * For a slice told apart only by a value set binding, the library counts every value into the first such slice
 * ("permissive" in its words), so a valid instance with one coding per slice fails the slice cardinality. We
 * cannot tell which slice a value belongs to either, so such a count is reported as a warning, not an error.
 */
function judgeableSlice(i: OperationOutcomeIssue, profileUrl: string | undefined): OperationOutcomeIssue {
  const sliceName = /slice '([^']+)'/.exec(i.diagnostics ?? '')?.[1];
  if (!profileUrl || i.details?.coding?.[0]?.code !== 'slice-cardinality' || !sliceName) {
    return i;
  }
  const schema = tryGetProfile(profileUrl);
  const elementKey = (i.expression?.[0] ?? '').replace(/\[\d+\]/g, '').split('.').slice(1).join('.');
  const slicing = schema?.elements[elementKey]?.slicing;
  const slice = slicing?.slices.find((s) => s.name === sliceName);
  const byBindingOnly = slicing?.discriminator.some((d) => {
    const element = d.path === '$this' ? slice : slice?.elements[d.path];
    return (d.type === 'value' || d.type === 'pattern') && element && !element.pattern && !element.fixed;
  });
  if (!byBindingOnly) {
    return i;
  }
  const why = '(slice membership is decided by a value set binding, which is not checked)';
  return issue('not-supported', 'slice-unchecked', `${i.diagnostics} ${why}`, i.expression, 'warning');
}

/**
 * The library reads the target type of any reference as the text before the first `/`, so `urn:uuid:...` and
 * absolute URLs (both valid R4 references, and what transaction bundles use) come out as wrong-type warnings.
 */
function isNoiseIssue(raw: OperationOutcomeIssue): boolean {
  return raw.severity === 'warning' && NOISE_REFERENCE_WARNING.test(raw.details?.text ?? '');
}

const LIBRARY_MESSAGES: [RegExp, OperationOutcomeIssue['code'], string, OperationOutcomeIssue['severity']?][] = [
  [/^Missing required property/, 'required', 'element-required'],
  [/^Invalid number of values/, 'structure', 'cardinality'],
  [/^Expected (array of values|single value)/, 'structure', 'cardinality'],
  [/^Invalid additional property/, 'structure', 'element-unknown'],
  [/^Invalid JSON type/, 'structure', 'datatype-json'],
  [/^Invalid \w+ format|^Expected number|^Invalid numeric value|^String must contain|^String cannot be larger/, 'value', 'datatype-value'],
  [/^Invalid (empty|null|undefined)|^Invalid empty non-primitive/, 'structure', 'empty-value'],
  [/^Value did not match expected pattern/, 'value', 'fixed-value'],
  [/^Incorrect number of values provided for slice/, 'structure', 'slice-cardinality'],
  [/^Constraint \S+ not met/, 'invariant', 'invariant'],
  [/^Error evaluating invariant/, 'processing', 'invariant-error'],
  // R4 allows one value of a choice element; the library only warns.
  [/^Conflicting choice of type properties/, 'structure', 'choice-multiple', 'error'],
  [/^Type of primitive extension does not match/, 'structure', 'choice-multiple', 'error'],
  [/^Invalid reference/, 'structure', 'reference-target-type'],
];

function mapLibraryIssue(raw: OperationOutcomeIssue, profileUrl: string | undefined, resource: Resource): OperationOutcomeIssue {
  const message = raw.details?.text ?? raw.diagnostics ?? 'Invalid resource';
  const rule = LIBRARY_MESSAGES.find(([pattern]) => pattern.test(message));
  const [, type, code, severity] = rule ?? [undefined, 'invalid' as const, 'invalid', undefined];
  const detail = raw.diagnostics && code.startsWith('invariant') ? ` (${raw.diagnostics})` : '';
  const diagnostics = message + detail + (profileUrl ? ` [profile ${profileUrl}]` : '');
  return issue(type, code, diagnostics, raw.expression?.map((e) => fhirPathOf(e, resource)), severity ?? raw.severity);
}

/**
 * The library writes choice elements as `value[x]`, where a FHIRPath names them `value`; and for a choice conflict
 * it gives the bare JSON key, which we anchor at the resource when the key is one of its own.
 */
function fhirPathOf(path: string, resource?: Resource): string {
  if (resource && !path.includes('.') && path in resource) {
    return `${resource.resourceType}.${path}`;
  }
  return path.replaceAll('[x]', '');
}

function dedupe(issues: OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    // One empty value is one problem, whichever check found it (the library reports some `{}` in its own words).
    const code = i.details?.coding?.[0]?.code;
    const text = code === 'empty-value' ? '' : i.details?.text?.replace(/ \[profile .*\]$/, '');
    const key = `${i.severity}|${code}|${i.expression?.join(',')}|${text}`;
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

// --- what the library leaves out: required bindings, calendar dates, integer range, large binaries, narratives ------

/**
 * Also checks base64Binary values over 1 MB: R4's 1 MB limit is for `string`, but the library applies it to every
 * string-like type and then skips the format check, so those are collected in `largeBinaries` and checked here.
 */
function bindingAndValueIssues(resource: Resource, profileUrl: string | undefined, valueSets: ValueSetIndex, largeBinaries: Set<string>): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const schema = profileUrl ? tryGetProfile(profileUrl) : tryGetDataType(resource.resourceType);
  if (schema) {
    walk(resource as unknown as Record<string, unknown>, schema, resource.resourceType, profileUrl, (element, typeCode, value, path) => {
      if (typeCode === 'base64Binary' && typeof value === 'string' && value.length > 1024 * 1024) largeBinaries.add(path);
      valueIssues(element, typeCode, value, path, valueSets, issues);
    }, (path) => {
      // http://hl7.org/fhir/R4/json.html: an element without values is left out; the library lets `[]` and most `{}` through.
      issues.push(issue('structure', 'empty-value', `${path} is empty; an element without a value or children is left out`, path));
    });
  }
  return issues;
}

type ElementVisit = (element: InternalSchemaElement, typeCode: string, value: unknown, path: string) => void;

/**
 * Visits every value present in the resource with its element definition and type, and tells of empty arrays and
 * objects. The library's crawler visits every element the schema defines, present or not, which costs as much as the
 * whole validation; this walks only the keys the JSON has.
 */
function walk(obj: Record<string, unknown>, schema: InternalTypeSchema, path: string, profileUrl: string | undefined, visit: ElementVisit, empty: (path: string) => void): void {
  const keys = keyIndex(schema);
  for (const key of Object.keys(obj)) {
    // `_birthDate` holds the id and extensions of the primitive `birthDate`: an Element, at its path.
    const primitiveElement = key.charCodeAt(0) === 95; /* _ */
    const hit = keys.get(primitiveElement ? key.slice(1) : key);
    if (!hit) {
      continue; // resourceType and unknown keys (reported by the library)
    }
    const raw = obj[key];
    if (Array.isArray(raw) && raw.length === 0) empty(`${path}.${hit.name}`);
    const values = Array.isArray(raw) ? raw : [raw];
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === null || value === undefined || (!hit.checked && typeof value !== 'object')) {
        continue;
      }
      const valuePath = Array.isArray(raw) ? `${path}.${hit.name}[${i}]` : `${path}.${hit.name}`;
      if (typeof value === 'object' && !Array.isArray(value) && isEmptyObject(value)) {
        empty(valuePath);
        continue;
      }
      if (primitiveElement) {
        if (typeof value === 'object') walk(value as Record<string, unknown>, ELEMENT(), valuePath, profileUrl, visit, empty);
        continue; // a wrong JSON type there is the library's to report
      }
      if (hit.checked) {
        visit(hit.element, hit.typeCode, value, valuePath);
      }
      if (typeof value === 'object') {
        const typeName = hit.typeCode === 'Resource' ? (value as Resource).resourceType : hit.typeCode;
        const inner = typeName ? tryGetDataType(typeName, profileUrl) : undefined;
        if (inner) {
          walk(value as Record<string, unknown>, inner, valuePath, profileUrl, visit, empty);
        }
      }
    }
  }
}

const ELEMENT = () => getDataType('Element');

function isEmptyObject(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

interface KeyHit {
  name: string; // the FHIRPath name: `value` for `valueQuantity`
  element: InternalSchemaElement;
  typeCode: string;
  /** Whether bindingAndValueIssues has anything to check on such a value; the walk still descends into objects. */
  checked: boolean;
}

function keyHit(name: string, element: InternalSchemaElement, typeCode: string): KeyHit {
  return { name, element, typeCode, checked: hasValueChecks(element, typeCode) };
}

const keyIndexes = new WeakMap<InternalTypeSchema, Map<string, KeyHit>>();

/** JSON key -> element and type, with choice elements spelled out per type (`value[x]` -> `valueQuantity`, ...). */
function keyIndex(schema: InternalTypeSchema): Map<string, KeyHit> {
  let index = keyIndexes.get(schema);
  if (!index) {
    index = new Map();
    for (const [name, element] of Object.entries(schema.elements)) {
      if (name.includes('.')) {
        continue; // a profile's constraint on a nested path; the walk follows types, not these
      }
      if (name.endsWith('[x]')) {
        const base = name.slice(0, -3);
        for (const t of element.type) {
          index.set(base + t.code.charAt(0).toUpperCase() + t.code.slice(1), keyHit(base, element, t.code));
        }
      } else {
        index.set(name, keyHit(name, element, element.type[0]?.code ?? ''));
      }
    }
    keyIndexes.set(schema, index);
  }
  return index;
}
