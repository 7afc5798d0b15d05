import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JSONWebKeySet, type JWK } from 'jose';
import { ATTESTATION_TYPE, CLAIM } from './claims.ts';
import { AUTHORISATION_SYSTEM, NIN_SYSTEM, ORGNR_SYSTEM, RESH_SYSTEM } from './principal.ts';

/**
 * The development authority's signing key and token minting, shared by the built-in OIDC server
 * (dev-auth-server.ts), `npm run token` and tests. The key lives in `<dataDir>/dev-auth/` so
 * tokens survive restarts; without a data folder it lives in memory.
 */
export interface DevAuthority {
  issuer: string;
  audience: string;
  privateJwk: JWK;
  jwks: JSONWebKeySet;
  sign(claims: Record<string, unknown>, opts?: { expiresIn?: number; notBefore?: number; issuedAt?: number }): Promise<string>;
}

export const DEV_AUDIENCE = 'samhandling';
/** Where the built-in development authorization server is mounted. */
export const DEV_AUTH_PREFIX = '/oidc';

/** The dev server's issuer for a server at `baseUrl`. */
export function devIssuer(baseUrl: string): string {
  return `${baseUrl.replace(/\/$/, '')}${DEV_AUTH_PREFIX}`;
}

async function loadOrCreateKey(dataDir?: string): Promise<JWK> {
  const file = dataDir ? path.join(dataDir, 'dev-auth', 'signing-key.json') : undefined;
  if (file && fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: `dev-${randomUUID().slice(0, 8)}`, alg: 'RS256', use: 'sig' };
  if (file) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  }
  return jwk;
}

const authorities = new Map<string, Promise<DevAuthority>>();

/** One authority per (issuer, data folder) in this process. */
export function devAuthority(issuer: string, dataDir?: string): Promise<DevAuthority> {
  const key = `${issuer}|${dataDir ?? ''}`;
  let a = authorities.get(key);
  if (!a) {
    a = (async () => {
      const privateJwk = await loadOrCreateKey(dataDir);
      const { d, p, q, dp, dq, qi, ...pub } = privateJwk;
      const signingKey = await importJWK(privateJwk, 'RS256');
      return {
        issuer,
        audience: DEV_AUDIENCE,
        privateJwk,
        jwks: { keys: [pub] },
        async sign(claims, opts = {}) {
          const now = opts.issuedAt ?? Math.floor(Date.now() / 1000);
          return new SignJWT({ jti: randomUUID(), ...claims })
            .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid, typ: 'at+jwt' })
            .setIssuer(issuer)
            .setIssuedAt(now)
            .setNotBefore(opts.notBefore ?? now)
            .setExpirationTime(now + (opts.expiresIn ?? 3600))
            .sign(signingKey);
        },
      };
    })();
    authorities.set(key, a);
  }
  return a;
}

export interface PractitionerTokenOptions {
  hpr: string;
  org: string;
  /** Point of care (child organisation); defaults to org. */
  childOrg?: string;
  department?: string;
  /** The practitioner's own national id. */
  nin?: string;
  /** 9060 code claimed in the attestation. */
  authorisation?: string;
  /** TREAT, ETREAT, COC, BTG; null leaves it out. */
  purpose?: string | null;
  purposeDetails?: string | null;
  healthcareService?: string | null;
  /** Patient national id put in the attestation. */
  patient?: string;
  /** Spec v1.1 says care_relation; clients send care_relationship. */
  careKey?: 'care_relationship' | 'care_relation';
  securityLevel?: number;
  scope?: string;
  audience?: string;
  clientId?: string;
  /** Bind to a DPoP key (its JWK thumbprint). */
  jkt?: string;
  /** Leave out the attestation entirely. */
  noAttestation?: boolean;
  expiresIn?: number;
  issuedAt?: number;
}

/** The HelseID-like claims of a health professional's token, attestation included. */
export function practitionerClaims(o: PractitionerTokenOptions, audience = DEV_AUDIENCE): Record<string, unknown> {
  const care: Record<string, unknown> = {};
  if (o.healthcareService !== null) care.healthcare_service = { code: o.healthcareService ?? '01', system: 'urn:oid:2.16.578.1.12.4.1.1.8666' };
  if (o.purpose !== null) care.purpose_of_use = { code: o.purpose ?? 'TREAT', system: 'urn:oid:2.16.840.1.113883.1.11.20448' };
  if (o.purposeDetails !== null)
    care.purpose_of_use_details = { code: o.purposeDetails ?? 'BEHANDLER', system: 'urn:AuditEventHL7Norway/CodeSystem/carerelation' };
  care.decision_ref = { id: randomUUID(), user_selected: true };
  const attestation = {
    type: ATTESTATION_TYPE,
    practitioner: {
      identifier: { id: o.nin ?? '00000000000', system: NIN_SYSTEM },
      authorization: { code: o.authorisation ?? 'LE', system: AUTHORISATION_SYSTEM },
      legal_entity: { id: o.org, system: ORGNR_SYSTEM },
      point_of_care: { id: o.childOrg ?? o.org, system: ORGNR_SYSTEM },
      ...(o.department ? { department: { id: o.department, system: RESH_SYSTEM } } : {}),
    },
    [o.careKey ?? 'care_relationship']: care,
    patients: o.patient ? [{ identifier: { id: o.patient, system: NIN_SYSTEM } }] : [],
  };
  return {
    aud: o.audience ?? audience,
    sub: `hpr:${o.hpr}`,
    client_id: o.clientId ?? 'dev-ehr',
    scope: o.scope ?? 'openid nhn:samhandling/api user/*.cruds',
    ...(o.nin ? { [CLAIM.pid]: o.nin } : {}),
    [CLAIM.securityLevel]: String(o.securityLevel ?? 4),
    [CLAIM.hpr]: o.hpr,
    [CLAIM.orgParent]: o.org,
    [CLAIM.orgChild]: o.childOrg ?? o.org,
    ...(o.noAttestation ? {} : { authorization_details: [attestation] }),
    ...(o.jkt ? { cnf: { jkt: o.jkt } } : {}),
  };
}

export function citizenClaims(nin: string, o: { acr?: string; scope?: string; audience?: string; jkt?: string } = {}): Record<string, unknown> {
  return {
    aud: o.audience ?? DEV_AUDIENCE,
    sub: `pid:${nin}`,
    client_id: 'dev-helsenorge',
    pid: nin,
    acr: o.acr ?? 'idporten-loa-high',
    scope: o.scope ?? 'openid patient/*.cruds',
    ...(o.jkt ? { cnf: { jkt: o.jkt } } : {}),
  };
}

export function systemClaims(o: { clientId: string; org: string; childOrg?: string; scope: string; audience?: string; jkt?: string }): Record<string, unknown> {
  return {
    aud: o.audience ?? DEV_AUDIENCE,
    sub: o.clientId,
    client_id: o.clientId,
    scope: o.scope,
    [CLAIM.orgParent]: o.org,
    ...(o.childOrg ? { [CLAIM.orgChild]: o.childOrg } : {}),
    ...(o.jkt ? { cnf: { jkt: o.jkt } } : {}),
  };
}
