import { makeNationalId } from '../../src/registry/identifiers.ts';
import { MUNICIPALITIES } from '../../src/registry/municipalities.ts';

/**
 * The small hand-made registries of the HTTP suites share these: ages relative to today, valid
 * synthetic national ids for those ages, and an Oslo home address.
 */

/** A birth date that makes the person `years` old today (birthday 40 days ago). */
export function bornYearsAgo(years: number): string {
  const today = new Date();
  const d = new Date(Date.UTC(today.getUTCFullYear() - years, today.getUTCMonth(), today.getUTCDate()) - 40 * 86400000);
  return d.toISOString().slice(0, 10);
}

/**
 * A valid synthetic (Tenor, month + 80) national id for someone `age` years old: the first
 * individual number from `individual` on, in steps of 10 (same gender digit), whose check digits
 * exist for that birth date — some dates have none for a given number.
 */
export function ninAged(age: number, individual: number): string {
  for (let i = individual; i < 1000; i += 10) {
    const id = makeNationalId({ birthDate: bornYearsAgo(age), individual: i, synthetic: 'tenor' });
    if (id) return id;
  }
  throw new Error(`no national id for age ${age} from ${individual}`);
}

export const OSLO = MUNICIPALITIES.find((m) => m.number === '0301')!;

/** A home address in Oslo, as the registry's homeAddress() takes it. */
export const osloHome = (line: string) => ({ municipality: OSLO, line, cadastralUnit: 1, propertyUnit: 2 });
