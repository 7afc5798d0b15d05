import { badRequest } from './outcome.ts';

/** The most entries one page of a search, a history or $everything holds. */
export const MAX_COUNT = 1000;

/**
 * `_count` as FHIR defines it for searches, and so for history and $everything: a non-negative
 * integer, capped at MAX_COUNT; 0 asks for the total alone, with no entries and no paging links.
 * Anything else is a 400, not a silent default: a client that asked for 0 or -3 gets what it
 * asked for or is told why not.
 */
export function parseCount(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw badRequest('invalid-count', `_count must be a non-negative integer`, '_count');
  return Math.min(Number(value), MAX_COUNT);
}

/** `_since` and `_at` (history, $everything): an instant, else a 400 naming the parameter. */
export function parseInstant(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && Number.isNaN(Date.parse(value))) throw badRequest('invalid-date', `${name} must be an instant, got ${JSON.stringify(value)}`, name);
  return value;
}
