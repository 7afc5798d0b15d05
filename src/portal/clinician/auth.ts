import { createAuth } from '../shared/auth.ts';

/**
 * The clinician logs in through HelseID (here: the dev server's practitioner picker) as the public
 * client dev-kjernejournal; the token carries the HPR number and the trust-framework attestation
 * (organisation, purpose of use) chosen at login.
 */
export const clinicianAuth = createAuth({
  clientId: 'dev-kjernejournal',
  redirectPath: '/clinician/callback',
  scope: 'openid user/*.cruds',
  storageKey: 'samhandling:clinician',
});

export interface Clinician {
  hpr: string;
  organisation?: string;
  authorisation?: string;
  purposeOfUse?: string;
}

/** Who is logged in, from the token's claims (for display only: the server decides everything). */
export function clinicianOf(claims: Record<string, unknown>): Clinician {
  const details = (claims.authorization_details as any[] | undefined)?.find((d) => d?.type === 'nhn:tillitsrammeverk:parameters');
  const care = details?.care_relationship ?? details?.care_relation;
  return {
    hpr: String(claims['helseid://claims/hpr/hpr_number'] ?? ''),
    organisation: details?.practitioner?.legal_entity?.id ?? (claims['helseid://claims/client/claims/orgnr_parent'] as string | undefined),
    authorisation: details?.practitioner?.authorization?.code,
    purposeOfUse: care?.purpose_of_use?.code,
  };
}
