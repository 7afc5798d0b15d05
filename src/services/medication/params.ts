import type { Parameters, ParametersParameter, Resource } from '@medplum/fhirtypes';
import { badRequest } from '../../fhir/outcome.ts';

export function resourceParam<T extends Resource>(params: ParametersParameter[], name: string, type: string, required: boolean): T | undefined {
  const i = params.findIndex((p) => p.name === name);
  if (i < 0) {
    if (required) throw badRequest('missing-parameter', `The operation needs the parameter "${name}" (a ${type})`, 'Parameters.parameter');
    return undefined;
  }
  const r = params[i].resource;
  if (r?.resourceType !== type) throw badRequest('invalid-parameter', `Parameter "${name}" must carry a ${type} resource`, `Parameters.parameter[${i}].resource`);
  return r as T;
}

export const stringParam = (params: ParametersParameter[], name: string) => params.find((p) => p.name === name)?.valueString;

export function outputParameters(parts: ParametersParameter[]): Parameters {
  return { resourceType: 'Parameters', parameter: parts };
}
