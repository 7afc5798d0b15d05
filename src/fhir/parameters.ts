import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { badRequest } from './outcome.ts';
import { isJsonObject } from './json.ts';

/** The JSON type each value[x] the operations read must have. */
const VALUE_TYPES: Record<string, 'string' | 'number' | 'boolean' | 'object'> = {
  valueString: 'string',
  valueCode: 'string',
  valueUri: 'string',
  valueId: 'string',
  valueDate: 'string',
  valueDateTime: 'string',
  valueInstant: 'string',
  valueInteger: 'number',
  valueDecimal: 'number',
  valueBoolean: 'boolean',
  valueReference: 'object',
  valueCoding: 'object',
  valueCodeableConcept: 'object',
};

/**
 * An operation's input Parameters (an empty body is no parameters), their JSON shape checked before
 * an operation reads them: a list of named parameters whose values have their R4 JSON types and
 * whose resources are objects. Anything else is a 400 naming the parameter.
 */
export function operationParameters(body: unknown): ParametersParameter[] {
  if (body === undefined || body === null || body === '') return [];
  if (typeof body !== 'object' || (body as Parameters).resourceType !== 'Parameters')
    throw badRequest('not-parameters', 'The operation takes a Parameters resource as body', 'resourceType');
  const list = (body as Parameters).parameter;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw badRequest('invalid-parameters', 'Parameters.parameter must be a list', 'Parameters.parameter');
  list.forEach((p: unknown, i) => {
    const at = `Parameters.parameter[${i}]`;
    if (!isJsonObject(p) || typeof p.name !== 'string')
      throw badRequest('invalid-parameters', 'Each parameter is an object with a name', at);
    for (const [key, type] of Object.entries(VALUE_TYPES)) {
      const v = p[key];
      if (v !== undefined && (type === 'object' ? !isJsonObject(v) : typeof v !== type))
        throw badRequest('invalid-parameters', `${key} must be a JSON ${type}`, `${at}.${key}`);
    }
    if (p.resource !== undefined && !isJsonObject(p.resource)) throw badRequest('invalid-parameters', 'A parameter resource must be a resource (an object)', `${at}.resource`);
  });
  return list;
}
