import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * Every error the platform reports is a FhirError: an HTTP status and an OperationOutcome whose
 * issues carry a stable `code` (FHIR issue type), a machine-readable `details.coding` code of
 * ours, and the FHIRPath (`expression`) of the offending element where there is one.
 */
export class FhirError extends Error {
  constructor(
    readonly status: number,
    readonly issues: OperationOutcomeIssue[],
    readonly headers: Record<string, string> = {}
  ) {
    super(issues.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; '));
  }

  get outcome(): OperationOutcome {
    return { resourceType: 'OperationOutcome', issue: this.issues };
  }
}

export const SAMHANDLING_ERROR_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/error';

/** One issue: `type` is the FHIR issue type, `code` our stable error code, `expression` the FHIRPath. */
export function issue(
  type: OperationOutcomeIssue['code'],
  code: string,
  diagnostics: string,
  expression?: string | string[],
  severity: OperationOutcomeIssue['severity'] = 'error'
): OperationOutcomeIssue {
  return {
    severity,
    code: type,
    details: { coding: [{ system: SAMHANDLING_ERROR_SYSTEM, code }], text: diagnostics },
    diagnostics,
    ...(expression ? { expression: Array.isArray(expression) ? expression : [expression] } : {}),
  };
}

export const badRequest = (code: string, message: string, expression?: string | string[]) =>
  new FhirError(400, [issue('invalid', code, message, expression)]);
export const notFound = (message: string) => new FhirError(404, [issue('not-found', 'not-found', message)]);
export const gone = (message: string) => new FhirError(410, [issue('deleted', 'deleted', message)]);
export const conflict = (code: string, message: string) => new FhirError(409, [issue('conflict', code, message)]);
export const preconditionFailed = (code: string, message: string) =>
  new FhirError(412, [issue('conflict', code, message)]);
export const unprocessable = (issues: OperationOutcomeIssue[]) => new FhirError(422, issues);

export function informational(message: string, code = 'informational'): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [issue('informational', code, message, undefined, 'information')] };
}
