import { PHARMACIST_CATEGORIES } from './principal.ts';
/**
 * Access configuration: everything about identity and policy that a deployment chooses, read from
 * the environment in one place (documented in docs/access-rules.md). Rules that no public
 * specification fixes are here with their defaults, not hidden in code.
 */
export interface TrustedIssuer {
  issuer: string;
  /** JWKS URL; for the built-in development server the key set is passed in-process instead. */
  jwksUri?: string;
  /** 'helseid' issues health-personnel and system tokens, 'idporten' citizen tokens. */
  kind: 'helseid' | 'idporten' | 'dev';
}

export interface AccessConfig {
  /** 'on' (default) or 'off' (tests only: every request is a local administrator). */
  auth: 'on' | 'off';
  issuers: TrustedIssuer[];
  /** Accepted `aud` values of access tokens. */
  audiences: string[];
  /** Clock skew tolerated on exp/nbf/iat, seconds. */
  clockToleranceSeconds: number;
  /** Require DPoP-bound tokens (HelseID's convention); bearer tokens are refused when true. */
  requireDpop: boolean;
  /** Maximum age of a DPoP proof (`iat`), seconds. */
  dpopMaxAgeSeconds: number;
  /** Demand a server nonce in DPoP proofs. */
  dpopNonce: boolean;
  /** HelseID security level needed for clinical data. */
  requiredSecurityLevel: number;
  /** ID-porten levels accepted for citizens' health data. */
  citizenAcceptedAcr: string[];
  /** Purposes of use a health professional's attestation may carry. */
  purposesOfUse: string[];
  /** Address protection levels that exclude representation. */
  confidentialAddressLevels: string[];
  /** Age limits (domain.md §0, representation). */
  ages: { parentFullAccessUnder: number; parentPartialAccessUnder: number; powerGiverMin: number; powerHolderMin: number };
  /** UNNTAK (no consent needed) applies to the patient's own GP; other practitioners need consent or emergency. */
  unntakOnlyForGp: boolean;
  /** Resource types citizens may create/update for themselves and those they represent. */
  citizenWritableTypes: string[];
  /**
   * The services health personnel of an authorisation category (kodeverk 9060) see at all, for
   * categories whose work needs only part of the record; categories not listed see every service.
   * Default: pharmacists (FA1, FA2) see prescriptions and the medication list, critical information
   * (where the critical-information rule leaves them drug reactions only) and personal details.
   */
  servicesByAuthorisation: Record<string, string[]>;
}

export const ACCESS_BASES = ['UNNTAK', 'SAMTYKKE', 'AKUTT', 'FORHOYET_SAMTYKKE', 'FORHOYET_AKUTT'] as const;
export type AccessBasis = (typeof ACCESS_BASES)[number];

const list = (v: string | undefined, dflt: string[]) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : dflt);

export function loadAccessConfig(env: NodeJS.ProcessEnv = process.env, baseUrl = 'http://localhost:8080'): AccessConfig {
  const issuers: TrustedIssuer[] = [];
  if (env.HELSEID_ISSUER) issuers.push({ issuer: env.HELSEID_ISSUER, jwksUri: env.HELSEID_JWKS_URI, kind: 'helseid' });
  if (env.IDPORTEN_ISSUER) issuers.push({ issuer: env.IDPORTEN_ISSUER, jwksUri: env.IDPORTEN_JWKS_URI, kind: 'idporten' });
  const pharmacy = ['medication', 'critical-information', 'person'];
  return {
    servicesByAuthorisation: env.AUTH_SERVICES_BY_AUTHORISATION
      ? JSON.parse(env.AUTH_SERVICES_BY_AUTHORISATION)
      : Object.fromEntries(PHARMACIST_CATEGORIES.map((c) => [c, pharmacy])),
    auth: env.AUTH === 'off' ? 'off' : 'on',
    issuers,
    audiences: list(env.AUTH_AUDIENCE, ['samhandling', `${baseUrl}/fhir`]),
    clockToleranceSeconds: Number(env.AUTH_CLOCK_TOLERANCE ?? 30),
    requireDpop: env.AUTH_REQUIRE_DPOP === 'true',
    dpopMaxAgeSeconds: Number(env.DPOP_MAX_AGE ?? 60),
    dpopNonce: env.DPOP_NONCE !== 'false',
    requiredSecurityLevel: Number(env.AUTH_REQUIRED_SECURITY_LEVEL ?? 4),
    citizenAcceptedAcr: list(env.AUTH_CITIZEN_ACR, ['idporten-loa-high', 'Level4', 'high']),
    purposesOfUse: list(env.AUTH_PURPOSES_OF_USE, ['TREAT', 'ETREAT', 'COC', 'BTG']),
    confidentialAddressLevels: list(env.AUTH_CONFIDENTIAL_ADDRESS, ['fortrolig', 'strengt_fortrolig', 'strengt_fortrolig_utland']),
    ages: { parentFullAccessUnder: 12, parentPartialAccessUnder: 16, powerGiverMin: 16, powerHolderMin: 18 },
    unntakOnlyForGp: env.AUTH_UNNTAK_ONLY_GP !== 'false',
    citizenWritableTypes: list(env.AUTH_CITIZEN_WRITABLE, ['QuestionnaireResponse', 'Observation', 'Communication']),
  };
}
