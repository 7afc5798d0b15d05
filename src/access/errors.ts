import { FhirError, issue } from '../fhir/outcome.ts';

/** A 403 with a stable code and the claim, header or FHIRPath it is about. */
export function forbidden(code: string, message: string, expression?: string): FhirError {
  return new FhirError(403, [issue('forbidden', code, message, expression)]);
}
