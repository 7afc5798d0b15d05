import type { PractitionerFacts } from './registry-port.ts';

/** Who is calling, established from a verified token plus the registries. */
export type Principal = CitizenPrincipal | PractitionerPrincipal | SystemPrincipal | AdminPrincipal;

interface PrincipalBase {
  /** OAuth client that obtained the token. */
  clientId?: string;
  /** SMART v2 scopes granted to the token (empty: the token carries none, no SMART limits apply). */
  scopes: SmartScope[];
  /** The token's `jti`, recorded in the audit trail. */
  tokenId?: string;
  issuer?: string;
}

export interface CitizenPrincipal extends PrincipalBase {
  kind: 'citizen';
  /** The citizen's own national identity number (ID-porten `pid`). */
  nin: string;
  /** Level of assurance: 'high' (ID-porten idporten-loa-high / Level4) or lower. */
  assurance: 'high' | 'substantial' | 'low';
  /** Whose data this request is about (`nhn-patient-nin`); undefined: self and everyone represented. */
  onBehalfOf?: string;
}

export interface Attestation {
  purposeOfUse?: string;
  purposeOfUseDetails?: string;
  healthcareService?: string;
  decisionRef?: string;
  legalEntity?: string;
  pointOfCare?: string;
  department?: string;
  authorisation?: string;
  practitionerNin?: string;
  patients: string[];
  /** An access basis carried in the attestation instead of the header. */
  accessBasis?: string;
}

export interface PractitionerPrincipal extends PrincipalBase {
  kind: 'practitioner';
  hpr: string;
  nin?: string;
  securityLevel?: number;
  /** Registry facts, looked up when the principal was built; authorisations come from here. */
  registry: PractitionerFacts;
  /** Authorisation category used for this request (9060 code), claimed and confirmed by HPR. */
  role?: string;
  organisation?: string;
  childOrganisation?: string;
  attestation?: Attestation;
  accessBasis?: string;
  /** The patient named by `nhn-patient-nin` or the attestation. */
  patientNin?: string;
}

export interface SystemPrincipal extends PrincipalBase {
  kind: 'system';
  organisation?: string;
  childOrganisation?: string;
  attestation?: Attestation;
  patientNin?: string;
}

/** Pharmacists in kodeverk 9060 (provisorfarmasøyt, reseptarfarmasøyt): the pharmacies' personnel. */
export const PHARMACIST_CATEGORIES = ['FA1', 'FA2'];

/**
 * The authorisation category (kodeverk 9060) the caller acts under in this request: a health
 * professional's confirmed role, or the practitioner a system's attestation names.
 */
export function actingAuthorisation(p: Principal): string | undefined {
  if (p.kind === 'practitioner') return p.role ?? p.attestation?.authorisation;
  if (p.kind === 'system') return p.attestation?.authorisation;
  return undefined;
}

/** The local administrator used when auth is switched off for tests. Never in production. */
export interface AdminPrincipal extends PrincipalBase {
  kind: 'admin';
}

export interface SmartScope {
  context: 'patient' | 'user' | 'system';
  /** Resource type or '*'. */
  type: string;
  /** Subset of c r u d s. */
  ops: Set<'c' | 'r' | 'u' | 'd' | 's'>;
}

/**
 * Parses SMART v2 scopes (`patient/Observation.rs`) and the v1 forms (`.read`, `.write`, `.*`);
 * other scopes (openid, HelseID API scopes) are ignored here.
 */
export function parseSmartScopes(scope: string | string[] | undefined): SmartScope[] {
  const list = Array.isArray(scope) ? scope : (scope ?? '').split(/\s+/);
  const out: SmartScope[] = [];
  for (const s of list) {
    const m = /^(patient|user|system)\/([A-Za-z]+|\*)\.([cruds]+|read|write|\*)(\?.*)?$/.exec(s);
    if (!m) continue;
    const perms = m[3] === 'read' ? 'rs' : m[3] === 'write' ? 'cud' : m[3] === '*' ? 'cruds' : m[3];
    out.push({ context: m[1] as SmartScope['context'], type: m[2], ops: new Set(perms.split('') as any) });
  }
  return out;
}

export type Operation = 'c' | 'r' | 'u' | 'd' | 's';

/** Whether the scopes allow `op` on `type`; a token without SMART scopes is not limited by them. */
export function scopesAllow(principal: Principal, type: string, op: Operation): boolean {
  if (principal.kind === 'admin') return true;
  if (principal.scopes.length === 0) return principal.kind !== 'system';
  return principal.scopes.some((s) => (s.type === '*' || s.type === type) && s.ops.has(op));
}

/** The HPR-number identifier system and others used in principals and audit. */
export const NIN_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.1';
export const HPR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4';
export const ORGNR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.101';
export const RESH_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.102';
export const AUTHORISATION_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9060';

/** A short human label, for logs and the citizen's access log. */
export function describePrincipal(p: Principal): string {
  switch (p.kind) {
    case 'citizen':
      return `citizen ${p.nin}`;
    case 'practitioner':
      return `HPR ${p.hpr} (${p.role ?? '?'}) at ${p.organisation ?? '?'}`;
    case 'system':
      return `system ${p.clientId ?? '?'} of ${p.organisation ?? '?'}`;
    case 'admin':
      return 'local administrator (auth off)';
  }
}
