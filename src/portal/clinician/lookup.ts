/** One patient lookup: whose data, on which access basis, and (for emergencies) why. */
export const ACCESS_BASES = ['SAMTYKKE', 'UNNTAK', 'AKUTT', 'FORHOYET_SAMTYKKE', 'FORHOYET_AKUTT'] as const;
export type AccessBasis = (typeof ACCESS_BASES)[number];
export const EMERGENCY_BASES: readonly AccessBasis[] = ['AKUTT', 'FORHOYET_AKUTT'];

export interface Lookup {
  nin: string;
  basis: AccessBasis;
  /** Required for emergency access; recorded in the audit trail. */
  reason?: string;
}

/** Purposes of use (chosen at login) that make every lookup an emergency access, whatever the basis. */
export const EMERGENCY_PURPOSES = ['ETREAT', 'BTG'];

/** As the server decides it (src/access/policy.ts): an emergency basis, or an emergency purpose of use. */
export const isEmergency = (basis: AccessBasis, purposeOfUse?: string) => EMERGENCY_BASES.includes(basis) || EMERGENCY_PURPOSES.includes(purposeOfUse ?? '');

/**
 * The NHN headers of every request made for this lookup. The reason is percent-encoded UTF-8
 * (header values are Latin-1 on the wire; Norwegian text is not).
 */
export function lookupHeaders(l: Lookup): Record<string, string | undefined> {
  return {
    'nhn-patient-nin': l.nin,
    'nhn-access-basis': l.basis,
    'nhn-access-reason': l.reason ? encodeURIComponent(l.reason) : undefined,
  };
}

/** Eleven digits; the server checks the rest (check digits, synthetic numbers). */
export const looksLikeNin = (s: string) => /^\d{11}$/.test(s.trim());
