import type { Resource } from '@medplum/fhirtypes';
import { EXT } from './terms.ts';

/**
 * Whether a critical-information entry counts as active at a given time. One function, used by the
 * $critical-information operation and the status call, so the two always agree.
 *
 * `validUntil` (extension kj-valid-until) ends an entry: a dateTime ends it at that instant, a plain
 * date (or a dateTime written as YYYY-MM-DD) at the end of that day in UTC. A withdrawn entry
 * (entered-in-error) is neither active nor inactive: it was never true.
 */
export type EntryState = 'active' | 'inactive' | 'entered-in-error';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The instant from which the entry is inactive, if it has a validUntil. */
export function expiryOf(resource: Resource): Date | undefined {
  const value = (resource as { extension?: { url?: string; valueDateTime?: string }[] }).extension?.find((e) => e.url === EXT.validUntil)?.valueDateTime;
  if (!value) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(Date.parse(`${value}T00:00:00Z`) + DAY_MS);
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

const codeOf = (cc: unknown): string | undefined => (cc as { coding?: { code?: string }[] } | undefined)?.coding?.[0]?.code;

/** Inactive by the clinician's own statuses, regardless of validUntil. */
function recordedState(r: Resource): EntryState {
  switch (r.resourceType) {
    case 'AllergyIntolerance':
    case 'Condition': {
      const verification = codeOf(r.verificationStatus);
      if (verification === 'entered-in-error') return 'entered-in-error';
      if (verification === 'refuted') return 'inactive';
      const clinical = codeOf(r.clinicalStatus);
      return clinical && clinical !== 'active' && clinical !== 'recurrence' && clinical !== 'relapse' ? 'inactive' : 'active';
    }
    case 'Procedure':
      if (r.status === 'entered-in-error') return 'entered-in-error';
      return ['completed', 'stopped', 'not-done'].includes(r.status as string) ? 'inactive' : 'active';
    case 'Flag':
      if (r.status === 'entered-in-error') return 'entered-in-error';
      return r.status === 'inactive' ? 'inactive' : 'active';
    default:
      return 'active';
  }
}

export function entryState(resource: Resource, now: Date): EntryState {
  const recorded = recordedState(resource);
  if (recorded !== 'active') return recorded;
  const expiry = expiryOf(resource);
  return expiry && expiry.getTime() <= now.getTime() ? 'inactive' : 'active';
}
