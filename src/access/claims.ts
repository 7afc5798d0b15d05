import type { JWTPayload } from 'jose';
import { FhirError, issue } from '../fhir/outcome.ts';
import type { Attestation, Principal } from './principal.ts';
import { parseSmartScopes } from './principal.ts';
import type { RegistryLookup } from './registry-port.ts';

/** HelseID claim names (NHN developer portal). */
export const CLAIM = {
  pid: 'helseid://claims/identity/pid',
  securityLevel: 'helseid://claims/identity/security_level',
  hpr: 'helseid://claims/hpr/hpr_number',
  orgParent: 'helseid://claims/client/claims/orgnr_parent',
  orgChild: 'helseid://claims/client/claims/orgnr_child',
} as const;

export const ATTESTATION_TYPE = 'nhn:tillitsrammeverk:parameters';

/** Request headers of NHN's APIs that take part in access decisions. */
export interface AccessHeaders {
  accessBasis?: string;
  patientNin?: string;
  /** `nhn-user-role`: {"system":"urn:oid:2.16.578.1.12.4.1.1.9060","code":"LE"} */
  userRole?: string;
}

const refused = (code: string, message: string, expression: string) => new FhirError(403, [issue('forbidden', code, message, expression)]);

/** The trust-framework attestation, accepting both `care_relation` (spec v1.1) and `care_relationship`. */
export function parseAttestation(claims: JWTPayload): Attestation | undefined {
  let details: unknown = claims.authorization_details;
  if (typeof details === 'string') {
    try {
      details = JSON.parse(details);
    } catch {
      return undefined;
    }
  }
  const list = Array.isArray(details) ? details : details ? [details] : [];
  const d: any = list.find((x: any) => x?.type === ATTESTATION_TYPE);
  if (!d) return undefined;
  const care = d.care_relationship ?? d.care_relation ?? {};
  const pr = d.practitioner ?? {};
  return {
    purposeOfUse: care.purpose_of_use?.code,
    purposeOfUseDetails: care.purpose_of_use_details?.code,
    healthcareService: care.healthcare_service?.code,
    decisionRef: care.decision_ref?.id,
    accessBasis: care.access_basis?.code ?? care.access_basis ?? d.access_basis,
    legalEntity: pr.legal_entity?.id,
    pointOfCare: pr.point_of_care?.id,
    department: pr.department?.id,
    authorisation: pr.authorization?.code,
    practitionerNin: pr.identifier?.id,
    patients: (d.patients ?? []).map((p: any) => p?.identifier?.id).filter(Boolean),
  };
}

function roleFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    return JSON.parse(header)?.code;
  } catch {
    throw new FhirError(400, [issue('invalid', 'bad-user-role', 'nhn-user-role must be JSON {"system":…,"code":…}', 'nhn-user-role')]);
  }
}

/**
 * Scopes and attestation of a verified token. The verifier hands out the same claims object for
 * every request with the same token, so they are read once per token, not once per request.
 */
const parsed = new WeakMap<JWTPayload, { scopes: ReturnType<typeof parseSmartScopes>; attestation: Attestation | undefined }>();
function parsedClaims(claims: JWTPayload) {
  let p = parsed.get(claims);
  if (!p) parsed.set(claims, (p = { scopes: parseSmartScopes((claims as Record<string, any>).scope), attestation: parseAttestation(claims) }));
  return p;
}

/**
 * Builds the principal from a verified token. The kind follows the claims: an HPR number or a
 * practitioner attestation makes a health professional, a bare `pid` (ID-porten) a citizen, and
 * anything else a system. Authorisations are taken from HPR, never from the token alone.
 */
export async function principalFromClaims(
  claims: JWTPayload,
  headers: AccessHeaders,
  registry: RegistryLookup,
  issuerKind: 'helseid' | 'idporten' | 'dev',
  citizenAcceptedAcr: string[] = ['idporten-loa-high', 'Level4', 'high']
): Promise<Principal> {
  const c = claims as Record<string, any>;
  const { scopes, attestation } = parsedClaims(claims);
  // Spread last in the objects below: on Node 20 a key added after a spread is slow (docs/architecture.md).
  const base = {
    clientId: c.client_id ?? c.azp,
    scopes,
    tokenId: c.jti,
    issuer: c.iss,
  };
  const hpr = c[CLAIM.hpr] ? String(c[CLAIM.hpr]) : undefined;
  if (hpr || attestation?.practitionerNin) {
    if (!hpr) throw refused('hpr-missing', 'A health professional token must carry the HPR number', CLAIM.hpr);
    const facts = await registry.practitioner(hpr);
    if (!facts) throw refused('hpr-unknown', `HPR number ${hpr} is not in the health personnel registry`, CLAIM.hpr);
    const claimed = roleFromHeader(headers.userRole) ?? attestation?.authorisation;
    if (claimed && !facts.authorisations.includes(claimed))
      throw refused('authorisation-not-held', `HPR ${hpr} holds no authorisation '${claimed}' in the health personnel registry`, 'authorization_details.practitioner.authorization');
    return {
      kind: 'practitioner',
      hpr,
      nin: c[CLAIM.pid] ?? attestation?.practitionerNin,
      securityLevel: c[CLAIM.securityLevel] !== undefined ? Number(c[CLAIM.securityLevel]) : undefined,
      registry: facts,
      role: claimed ?? facts.authorisations[0],
      organisation: attestation?.legalEntity ?? c[CLAIM.orgParent],
      childOrganisation: attestation?.pointOfCare ?? c[CLAIM.orgChild],
      attestation,
      accessBasis: headers.accessBasis,
      patientNin: headers.patientNin ?? attestation?.patients[0],
      ...base,
    };
  }
  const pid = c.pid ?? c[CLAIM.pid];
  if (pid && issuerKind !== 'helseid') {
    const acr = String(c.acr ?? '');
    const assurance = citizenAcceptedAcr.includes(acr) ? 'high' : acr.includes('substantial') || acr === 'Level3' ? 'substantial' : 'low';
    return { kind: 'citizen', nin: String(pid), assurance, onBehalfOf: headers.patientNin, ...base };
  }
  return {
    kind: 'system',
    organisation: c[CLAIM.orgParent],
    childOrganisation: c[CLAIM.orgChild],
    attestation,
    patientNin: headers.patientNin,
    ...base,
  };
}
