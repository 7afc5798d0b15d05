import { validationRegexes } from '@medplum/core';
import type { InternalSchemaElement } from '@medplum/core';
import type { Coding, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from './outcome.ts';
import { narrativeIssues } from './narrative.ts';
import { codeInExpansion, type Expansion, type ValueSetIndex } from './profiles.ts';

/**
 * The checks of one value that @medplum/core's validator leaves out: required bindings, the
 * 32-bit range of integers, calendar dates, the format of base64Binary values over 1 MB (which
 * the library skips) and narratives. validation.ts reports them; clean-check.ts asks whether any
 * applies.
 */

const INTEGER_TYPES_LIST = ['integer', 'positiveInt', 'unsignedInt'];
const DATE_TYPES_LIST = ['date', 'dateTime', 'instant'];
const INTEGER_TYPES = new Set(INTEGER_TYPES_LIST);
const DATE_TYPES = new Set(DATE_TYPES_LIST);
const CHECKED_TYPES = new Set(['base64Binary', 'xhtml', ...INTEGER_TYPES_LIST, ...DATE_TYPES_LIST]);

/** Whether valueIssues has anything to check on a value of this element and type. */
export function hasValueChecks(element: InternalSchemaElement, typeCode: string): boolean {
  return CHECKED_TYPES.has(typeCode) || element.binding?.strength === 'required';
}

/** Pushes this value's issues (see above) onto `issues`. */
export function valueIssues(
  element: InternalSchemaElement,
  typeCode: string,
  value: unknown,
  path: string,
  valueSets: ValueSetIndex,
  issues: OperationOutcomeIssue[]
): void {
  const valueSetUrl = element.binding?.strength === 'required' ? element.binding.valueSet : undefined;
  const expansion = valueSetUrl ? valueSets.expand(valueSetUrl) : undefined;
  if (expansion) {
    const problem = bindingProblem(typeCode, value, expansion);
    if (problem) {
      issues.push(issue('code-invalid', 'binding-required', `${problem} is not in the required value set ${valueSetUrl}`, path));
    }
  }
  if (INTEGER_TYPES.has(typeCode) && typeof value === 'number' && (value > 2147483647 || value < -2147483648)) {
    issues.push(issue('value', 'datatype-value', `Invalid ${typeCode}: ${value} is outside the 32-bit range R4 allows`, path));
  }
  if (typeCode === 'base64Binary' && typeof value === 'string' && value.length > 1024 * 1024 && !validationRegexes.base64Binary.test(value)) {
    issues.push(issue('value', 'datatype-value', 'Invalid base64Binary format', path));
  }
  if (DATE_TYPES.has(typeCode) && typeof value === 'string' && !isCalendarDate(value)) {
    issues.push(issue('value', 'datatype-value', `Invalid ${typeCode}: ${value} is not a calendar date`, path));
  }
  if (typeCode === 'xhtml' && typeof value === 'string') issues.push(...narrativeIssues(value, path));
}

/** The offending code as text, or undefined when the value conforms (or cannot be judged). */
function bindingProblem(typeCode: string, value: unknown, expansion: Expansion): string | undefined {
  switch (typeCode) {
    case 'code': {
      const code = String(value);
      return codeInExpansion(expansion, code) ? undefined : `Code '${code}'`;
    }
    case 'Coding': {
      const coding = value as Coding;
      if (coding.code === undefined) {
        return undefined;
      }
      return codeInExpansion(expansion, coding.code, coding.system) ? undefined : `Code '${coding.system ?? ''}#${coding.code}'`;
    }
    case 'CodeableConcept': {
      // Malformed codings (not an array, null entries) are the structural checks' to report, not a reason to throw.
      const list = (value as { coding?: unknown }).coding;
      const codings = (Array.isArray(list) ? list : []).filter((c): c is Coding => typeof c === 'object' && c !== null && c.code !== undefined);
      if (codings.length === 0 || codings.some((c) => codeInExpansion(expansion, c.code as string, c.system))) {
        return undefined;
      }
      return `None of the codes ${codings.map((c) => `'${c.system ?? ''}#${c.code}'`).join(', ')}`;
    }
    default:
      return undefined;
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The format regexes allow e.g. 2021-02-30; only a full date needs this check. */
function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) {
    return true;
  }
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const max = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  return max === undefined || day <= max;
}
