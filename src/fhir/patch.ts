import { evalFhirPath, evalFhirPathTyped, getDataType, parseFhirPath, toTypedValue, tryGetDataType } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { applyPatch, Pointer } from 'rfc6902';
import type { Operation } from 'rfc6902';
import { FhirError, issue } from './outcome.ts';
import { cloneFhirJson } from './json-decimals.ts';
import { loadBaseDefinitions } from './profiles.ts';

const malformed = (code: string, message: string, expression?: string) => new FhirError(400, [issue('invalid', code, message, expression)]);
const failed = (code: string, message: string, expression?: string) => new FhirError(422, [issue('processing', code, message, expression)]);

/** The patched resource is a new object; a patch may not change what the resource is (type and id). */
function keepIdentity(before: Resource, after: unknown): Resource {
  if (typeof after !== 'object' || after === null || Array.isArray(after)) {
    throw failed('patch-result-invalid', 'The patch does not leave a resource (a JSON object)');
  }
  const result = after as Resource;
  if (result.resourceType !== before.resourceType) {
    throw failed('patch-changes-type', `A patch may not change resourceType (${before.resourceType} to ${result.resourceType})`, 'resourceType');
  }
  if (result.id !== before.id) {
    throw failed('patch-changes-id', `A patch may not change the id (${before.id} to ${result.id})`, 'id');
  }
  return result;
}

// --- JSON Patch (RFC 6902) ------------------------------------------------------------------------------------------

const JSON_PATCH_OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** RFC 6902 on a copy of the resource; 400 for a malformed patch document, 422 when an operation cannot apply. */
export function applyJsonPatch(resource: Resource, patch: unknown): Resource {
  const operations = checkJsonPatch(patch);
  const doc = cloneFhirJson(resource);
  let copied = 0;
  operations.forEach((op, i) => {
    // Every other operation adds at most what the patch itself carries; a copy adds what the document holds, so
    // twenty copies of a list into itself, in a patch of 1 kB, made a document of a million times its size.
    if (op.op === 'copy') {
      copied += jsonLength(valueAt(doc, op.from));
      if (copied > MAX_COPIED_CHARS) throw failed('patch-too-large', `JSON Patch operation ${i} (copy ${op.from}) would copy more than ${MAX_COPIED_CHARS} characters in all`, `/${i}`);
    }
    const [error] = applyPatch(doc, [op]);
    if (error) {
      const reason = error.name === 'TestError' ? 'test failed' : error.name === 'MissingError' ? 'the path does not exist' : error.message;
      throw failed('patch-failed', `JSON Patch operation ${i} (${op.op} ${op.path}) cannot be applied: ${reason}`, `/${i}`);
    }
  });
  return keepIdentity(resource, doc);
}

/**
 * What one patch may copy within the document, in characters of JSON: far more than copying elements of a resource
 * takes, and copying 32 MB (the default body limit) took 2.5 s of the event loop here.
 */
const MAX_COPIED_CHARS = 4 * 1024 * 1024;

/** The value a JSON Pointer names, or undefined (applyPatch then reports the operation). */
function valueAt(doc: unknown, pointer: string): unknown {
  try {
    return Pointer.fromJSON(pointer).evaluate(doc).value;
  } catch {
    return undefined;
  }
}

const jsonLength = (v: unknown) => (v === undefined ? 0 : JSON.stringify(v).length);

function checkJsonPatch(patch: unknown): Operation[] {
  if (!Array.isArray(patch)) {
    throw malformed('patch-invalid', 'A JSON Patch document is a JSON array of operations');
  }
  patch.forEach((op, i) => {
    const where = `/${i}`;
    if (typeof op !== 'object' || op === null || Array.isArray(op)) {
      throw malformed('patch-invalid', `JSON Patch operation ${i} is not an object`, where);
    }
    const { op: name, path, from } = op as Record<string, unknown>;
    if (typeof name !== 'string' || !JSON_PATCH_OPS.has(name)) {
      throw malformed('patch-invalid', `JSON Patch operation ${i} has an unknown op '${String(name)}'`, `${where}/op`);
    }
    if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) {
      throw malformed('patch-invalid', `JSON Patch operation ${i} needs a JSON Pointer in "path"`, `${where}/path`);
    }
    if ((name === 'move' || name === 'copy') && (typeof from !== 'string' || (from !== '' && !from.startsWith('/')))) {
      throw malformed('patch-invalid', `JSON Patch operation ${i} (${name}) needs a JSON Pointer in "from"`, `${where}/from`);
    }
    if ((name === 'add' || name === 'replace' || name === 'test') && !('value' in (op as object))) {
      throw malformed('patch-invalid', `JSON Patch operation ${i} (${name}) needs a "value"`, `${where}/value`);
    }
  });
  return patch as Operation[];
}

// --- FHIRPath Patch (http://hl7.org/fhir/R4/fhirpatch.html) ----------------------------------------------------------

interface Operation4 {
  type: 'add' | 'insert' | 'delete' | 'replace' | 'move';
  path: string;
  name?: string;
  value?: unknown;
  valueType?: string; // the FHIR type of value[x], e.g. 'Date' for valueDate; undefined for an anonymous value
  index?: number;
  source?: number;
  destination?: number;
}

/** A place in the JSON where a value lives: parent[key], or parent[key][index] for a list. */
interface Location {
  parent: Record<string, unknown>;
  key: string;
  index?: number;
}

export function applyFhirPathPatch(resource: Resource, parameters: Parameters): Resource {
  loadBaseDefinitions(); // FHIRPath needs the schemas to type elements (choice types, lists)
  if (parameters?.resourceType !== 'Parameters') {
    throw malformed('patch-invalid', 'A FHIRPath Patch is a Parameters resource', 'resourceType');
  }
  if (parameters.parameter !== undefined && !Array.isArray(parameters.parameter)) {
    throw malformed('patch-invalid', 'Parameters.parameter must be a list of operations', 'Parameters.parameter');
  }
  const operations = (parameters.parameter ?? []).map(readOperation);
  const doc = cloneFhirJson(resource) as unknown as Record<string, unknown>;
  operations.forEach((op, i) => {
    try {
      applyOperation(doc, op);
    } catch (err) {
      if (err instanceof FhirError) {
        throw err;
      }
      // FHIRPath syntax or evaluation errors from the library.
      throw failed('patch-failed', `FHIRPath Patch operation ${i} (${op.type} ${op.path}): ${(err as Error).message}`, `Parameters.parameter[${i}]`);
    }
  });
  pruneEmpty(doc);
  return keepIdentity(resource, doc);
}

/** Deleting the last child leaves `{}` or `[]` behind, which FHIR JSON does not allow; remove them bottom-up. */
function pruneEmpty(value: unknown): boolean {
  if (Array.isArray(value)) {
    for (let i = value.length - 1; i >= 0; i--) {
      if (pruneEmpty(value[i])) value.splice(i, 1);
    }
    return value.length === 0;
  }
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (pruneEmpty(obj[key])) delete obj[key];
    }
    return Object.keys(obj).length === 0;
  }
  return false;
}

function readOperation(param: ParametersParameter, i: number): Operation4 {
  const where = `Parameters.parameter[${i}]`;
  if (param.name !== 'operation') {
    throw malformed('patch-invalid', `Parameter ${i} is '${param.name}'; a FHIRPath Patch has only 'operation' parameters`, `${where}.name`);
  }
  const part = (name: string) => param.part?.find((p) => p.name === name);
  const type = part('type')?.valueCode;
  const path = part('path')?.valueString;
  if (!type || !['add', 'insert', 'delete', 'replace', 'move'].includes(type)) {
    throw malformed('patch-invalid', `Operation ${i} has no valid type (add, insert, delete, replace, move)`, `${where}.part`);
  }
  if (!path) {
    throw malformed('patch-invalid', `Operation ${i} (${type}) has no path`, `${where}.part`);
  }
  try {
    parseFhirPath(path);
  } catch (err) {
    throw malformed('patch-invalid', `Operation ${i} (${type}): the path is not valid FHIRPath: ${(err as Error).message}`, `${where}.part`);
  }
  const op: Operation4 = { type: type as Operation4['type'], path };
  const integer = (name: string): number => {
    const n = part(name)?.valueInteger;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw malformed('patch-invalid', `Operation ${i} (${type}) needs a non-negative integer '${name}'`, `${where}.part`);
    }
    return n;
  };
  if (type === 'add') {
    op.name = part('name')?.valueString;
    if (!op.name) {
      throw malformed('patch-invalid', `Operation ${i} (add) needs a name`, `${where}.part`);
    }
  }
  if (type === 'insert') {
    op.index = integer('index');
  }
  if (type === 'move') {
    op.source = integer('source');
    op.destination = integer('destination');
  }
  if (type === 'add' || type === 'insert' || type === 'replace') {
    const valuePart = part('value');
    if (!valuePart) {
      throw malformed('patch-invalid', `Operation ${i} (${type}) needs a value`, `${where}.part`);
    }
    [op.value, op.valueType] = readValue(valuePart);
    if (op.value === undefined) {
      throw malformed('patch-invalid', `Operation ${i} (${type}) has an empty value`, `${where}.part`);
    }
  }
  return op;
}

/** value[x] of a part, or, for an anonymous (backbone) value, an object made from its parts. */
function readValue(part: ParametersParameter): [unknown, string | undefined] {
  for (const [key, value] of Object.entries(part)) {
    if (key.startsWith('value') && key.length > 5) {
      return [value, key.slice(5)];
    }
    if (key === 'resource') {
      return [value, 'Resource'];
    }
  }
  if (!part.part?.length) {
    return [undefined, undefined];
  }
  const obj: Record<string, unknown[]> = {};
  for (const child of part.part) {
    const [value] = readValue(child);
    if (child.name && value !== undefined) {
      (obj[child.name] ??= []).push(value);
    }
  }
  // Single values stay single until the schema says the element is a list (see shape()).
  return [Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, v.length === 1 ? v[0] : v])), undefined];
}

function applyOperation(doc: Record<string, unknown>, op: Operation4): void {
  switch (op.type) {
    case 'add': {
      const targets = evalFhirPathTyped(op.path, [toTypedValue(doc)]);
      if (targets.length > 1) {
        throw failed('patch-path-ambiguous', `${op.path} matches ${targets.length} elements; add takes one`, op.path);
      }
      if (targets.length === 0 || typeof targets[0].value !== 'object') {
        throw failed('patch-path-not-found', `No content found at ${op.path} when adding`, op.path);
      }
      const container = targets[0].value as Record<string, unknown>;
      const schema = tryGetDataType(targets[0].type === 'BackboneElement' ? '' : targets[0].type);
      const { key, isArray, typeName } = elementKey(schema, op.name as string, op.valueType, container);
      const value = shape(op.value, typeName);
      if (isArray) {
        const list = (container[key] as unknown[] | undefined) ?? [];
        list.push(value);
        container[key] = list;
      } else {
        if (container[key] !== undefined) {
          throw failed('patch-failed', `Cannot add ${op.name} at ${op.path}: it already has a value (use replace)`, op.path);
        }
        container[key] = value;
      }
      return;
    }
    case 'insert': {
      const list = listAt(doc, op.path, true);
      if ((op.index as number) > list.items.length) {
        throw failed('patch-index-invalid', `Index ${op.index} is outside the list at ${op.path} (${list.items.length} items)`, op.path);
      }
      list.items.splice(op.index as number, 0, shape(op.value, list.typeName));
      list.parent[list.key] = list.items;
      return;
    }
    case 'delete': {
      const locations = locate(doc, op.path);
      if (locations.length === 0) {
        return; // R4: deleting what is not there is not an error
      }
      if (locations.length > 1) {
        throw failed('patch-path-ambiguous', `${op.path} matches ${locations.length} elements; delete takes one`, op.path);
      }
      remove(locations[0]);
      return;
    }
    case 'replace': {
      const locations = locate(doc, op.path);
      if (locations.length !== 1) {
        throw failed(
          locations.length ? 'patch-path-ambiguous' : 'patch-path-not-found',
          `${op.path} matches ${locations.length} elements; replace takes one`,
          op.path
        );
      }
      const { parent, key, index } = locations[0];
      const typed = evalFhirPathTyped(op.path, [toTypedValue(doc)])[0];
      const value = shape(op.value, typed?.type);
      if (index === undefined) {
        parent[key] = value;
      } else {
        (parent[key] as unknown[])[index] = value;
      }
      return;
    }
    case 'move': {
      const list = listAt(doc, op.path, false);
      const [source, destination] = [op.source as number, op.destination as number];
      if (source >= list.items.length || destination >= list.items.length) {
        throw failed('patch-index-invalid', `Move ${source} -> ${destination} is outside the list at ${op.path} (${list.items.length} items)`, op.path);
      }
      const [item] = list.items.splice(source, 1);
      list.items.splice(destination, 0, item);
      return;
    }
  }
}

function remove({ parent, key, index }: Location): void {
  if (index === undefined) {
    delete parent[key];
    delete parent['_' + key];
    return;
  }
  const list = parent[key] as unknown[];
  list.splice(index, 1);
  const extensions = parent['_' + key];
  if (Array.isArray(extensions)) {
    extensions.splice(index, 1);
  }
  if (list.length === 0) {
    delete parent[key];
    delete parent['_' + key];
  }
}

/** The list a path names (insert, move): the path must name the list element itself. */
function listAt(doc: Record<string, unknown>, path: string, mayBeEmpty: boolean): { parent: Record<string, unknown>; key: string; items: unknown[]; typeName?: string } {
  const { parents, name, filtered } = splitPath(doc, path);
  if (filtered || parents.length !== 1) {
    throw failed('patch-path-not-list', `${path} must name one list element`, path);
  }
  const parent = parents[0];
  const found = jsonKey(parent.value, name);
  const key = found ?? name;
  const current = found ? parent.value[found] : undefined;
  if (current !== undefined && !Array.isArray(current)) {
    throw failed('patch-path-not-list', `${path} is not a list`, path);
  }
  if (current === undefined && !mayBeEmpty) {
    throw failed('patch-path-not-found', `No list found at ${path}`, path);
  }
  const element = tryGetDataType(parent.type)?.elements[name];
  return { parent: parent.value, key, items: (current as unknown[] | undefined) ?? [], typeName: element?.type[0]?.code };
}

interface SplitPath {
  parents: { value: Record<string, unknown>; type: string }[];
  name: string;
  index?: number;
  filtered: boolean; // the path goes on after the element name (where(), first(), ...)
}

/**
 * Splits a path at its last element name: `Patient.identifier.where(use = 'official')` has parents `Patient`,
 * name `identifier`, and a filter. Locating values through their parent is what lets us change them in place;
 * FHIRPath itself only hands back values.
 */
function splitPath(doc: Record<string, unknown>, path: string): SplitPath {
  const steps = topLevelSteps(path);
  let k = steps.length - 1;
  while (k > 0 && !/^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?$/.test(steps[k])) {
    k--;
  }
  if (k === 0) {
    throw failed('patch-path-invalid', `${path} does not name an element inside the resource`, path);
  }
  const [, name, index] = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?$/.exec(steps[k]) as RegExpExecArray;
  const parents = evalFhirPathTyped(steps.slice(0, k).join('.'), [toTypedValue(doc)])
    .filter((t) => typeof t.value === 'object' && t.value !== null)
    .map((t) => ({ value: t.value as Record<string, unknown>, type: t.type }));
  return { parents, name, index: index === undefined ? undefined : Number(index), filtered: k < steps.length - 1 };
}

/** Every place in the JSON that the path selects. */
function locate(doc: Record<string, unknown>, path: string): Location[] {
  const { parents, name, index, filtered } = splitPath(doc, path);
  let candidates: Location[] = [];
  for (const { value: parent } of parents) {
    const key = jsonKey(parent, name);
    if (!key) {
      continue;
    }
    const current = parent[key];
    if (Array.isArray(current)) {
      current.forEach((_, i) => candidates.push({ parent, key, index: i }));
    } else {
      candidates.push({ parent, key });
    }
  }
  if (index !== undefined) {
    candidates = candidates.filter((_, i) => i === index);
  }
  if (!filtered) {
    return candidates;
  }
  // Keep the candidates the full path selects: complex values by identity, primitives by value, in order.
  // Counted in a map (an object is its own key, a primitive or its wrapper its value): a list searched and spliced
  // per candidate took 4 s for a resource of 100,000 identifiers.
  const remaining = new Map<unknown, number>();
  for (const s of evalFhirPath(path, doc) as unknown[]) {
    const key = s === null || s === undefined ? s : (s as object).valueOf();
    remaining.set(key, (remaining.get(key) ?? 0) + 1);
  }
  return candidates.filter((c) => {
    const value = c.index === undefined ? c.parent[c.key] : (c.parent[c.key] as unknown[])[c.index];
    const left = remaining.get(value);
    if (!left) {
      return false;
    }
    remaining.set(value, left - 1);
    return true;
  });
}

/** Splits a FHIRPath at the dots that are not inside parentheses, brackets or quotes. */
function topLevelSteps(path: string): string[] {
  const steps: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '.' && depth === 0) {
      steps.push(path.slice(start, i).trim());
      start = i + 1;
    }
  }
  steps.push(path.slice(start).trim());
  return steps;
}

/** The JSON key an element name has in this object: the name itself, or name + Type for a choice element. */
function jsonKey(obj: Record<string, unknown>, name: string): string | undefined {
  if (name in obj) {
    return name;
  }
  return Object.keys(obj).find((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length)));
}

/** Where `add` puts a value: the JSON key (choice elements take the value's type), whether it is a list, its type. */
function elementKey(schema: InternalTypeSchema | undefined, name: string, valueType: string | undefined, container: Record<string, unknown>): { key: string; isArray: boolean; typeName?: string } {
  const plain = schema?.elements[name];
  if (plain) {
    return { key: name, isArray: !!plain.isArray, typeName: plain.type[0]?.code };
  }
  if (schema?.elements[name + '[x]']) {
    if (!valueType) {
      throw failed('patch-value-invalid', `${name} is a choice element; the value needs a type (value[x])`);
    }
    const typeCode = schema.elements[name + '[x]'].type.find((t) => t.code.toLowerCase() === valueType.toLowerCase())?.code;
    if (!typeCode) {
      throw failed('patch-value-invalid', `${name} cannot hold a ${valueType}`);
    }
    return { key: name + valueType, isArray: false, typeName: typeCode };
  }
  if (schema) {
    throw failed('patch-path-invalid', `${schema.name} has no element '${name}'`);
  }
  // Without a schema (should not happen for resources), follow what the JSON already has.
  return { key: name, isArray: Array.isArray(container[name]) };
}

/** Makes an anonymous value built from parts match the element's type: single values of list elements in arrays. */
function shape(value: unknown, typeName: string | undefined): unknown {
  if (!typeName || typeof value !== 'object' || value === null || Array.isArray(value)) {
    return value;
  }
  let schema: InternalTypeSchema | undefined;
  try {
    schema = getDataType(typeName);
  } catch {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const element = schema.elements[k];
    const childType = element?.type[0]?.code;
    const shaped = Array.isArray(v) ? v.map((x) => shape(x, childType)) : shape(v, childType);
    out[k] = element?.isArray && !Array.isArray(shaped) ? [shaped] : shaped;
  }
  return out;
}
