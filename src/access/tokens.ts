import { createHash, createHmac, randomBytes } from 'node:crypto';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  EmbeddedJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { FhirError, issue } from '../fhir/outcome.ts';
import type { AccessConfig, TrustedIssuer } from './config.ts';

/** A verified access token. */
export interface VerifiedToken {
  claims: JWTPayload;
  issuer: TrustedIssuer;
  token: string;
  /** Present when the token is DPoP-bound and the proof checked out. */
  dpopJkt?: string;
  scheme: 'Bearer' | 'DPoP';
}

export interface TokenRequest {
  method: string;
  /** The full request URL as the client addressed it (scheme, host, path; query ignored). */
  url: string;
  authorization?: string;
  dpop?: string;
}

const DPOP_ALGS = ['ES256', 'ES384', 'RS256', 'PS256', 'EdDSA'];

/**
 * 401 with the WWW-Authenticate challenge RFC 6750 / RFC 9449 prescribe. The scheme offered
 * follows what the client tried (or both when it sent nothing).
 */
export function unauthorized(
  error: 'invalid_token' | 'invalid_request' | 'invalid_dpop_proof' | 'use_dpop_nonce' | undefined,
  description: string,
  scheme: 'Bearer' | 'DPoP' | 'both' = 'both',
  extraHeaders: Record<string, string> = {}
): FhirError {
  const params = (s: string) =>
    [`${s} realm="samhandling"`, ...(error ? [`error="${error}"`, `error_description="${description.replace(/"/g, "'")}"`] : [])].join(', ');
  const challenges: string[] = [];
  if (scheme !== 'DPoP') challenges.push(params('Bearer'));
  if (scheme !== 'Bearer') challenges.push(`${params('DPoP')}, algs="${DPOP_ALGS.join(' ')}"`);
  return new FhirError(401, [issue('login', error ?? 'unauthenticated', description)], {
    'WWW-Authenticate': challenges.join(', '),
    ...extraHeaders,
  });
}

/**
 * Server-issued DPoP nonces (RFC 9449 §8): an HMAC over a time window, so any instance holding
 * the secret accepts them and nothing needs storing. A nonce is valid in its window and the next.
 */
export class DpopNonces {
  private readonly secret: Buffer;
  constructor(secret = randomBytes(32), private readonly windowSeconds = 300) {
    this.secret = secret;
  }
  private forWindow(w: number): string {
    return `${w.toString(36)}.${createHmac('sha256', this.secret).update(String(w)).digest('base64url').slice(0, 22)}`;
  }
  current(now = Date.now()): string {
    return this.forWindow(Math.floor(now / 1000 / this.windowSeconds));
  }
  valid(nonce: string | undefined, now = Date.now()): boolean {
    if (!nonce) return false;
    const w = Math.floor(now / 1000 / this.windowSeconds);
    return nonce === this.forWindow(w) || nonce === this.forWindow(w - 1);
  }
}

/** Remembers DPoP proof ids until they are too old to be accepted anyway (per process). */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly ttlMs: number) {}
  /** False when the id was already used. */
  use(id: string, now = Date.now()): boolean {
    if (this.seen.size > 10000) for (const [k, exp] of this.seen) if (exp < now) this.seen.delete(k);
    const exp = this.seen.get(id);
    if (exp !== undefined && exp >= now) return false;
    this.seen.set(id, now + this.ttlMs);
    return true;
  }
}

export interface TokenVerifierOptions {
  config: AccessConfig;
  /** Extra issuers with in-process key sets (the built-in development server). */
  localIssuers?: { issuer: TrustedIssuer; jwks: JSONWebKeySet }[];
  nonces?: DpopNonces;
}

/**
 * Tokens whose signature and claims checked out, by their exact text, so a client presenting the
 * same token again costs no signature check. An entry lives until the token expires (same
 * leeway as jwtVerify) and at most `maxAgeMs`, so a key withdrawn from an issuer's JWKS stops
 * being honoured within that time. Only successes are kept; DPoP proofs are never cached.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, { claims: JWTPayload; issuer: TrustedIssuer; until: number }>();
  constructor(private readonly toleranceSeconds: number, private readonly maxAgeMs = 300_000, private readonly maxEntries = 20_000) {}

  get(token: string, now = Date.now()): { claims: JWTPayload; issuer: TrustedIssuer } | undefined {
    const hit = this.entries.get(token);
    if (!hit) return undefined;
    if (hit.until <= now) {
      this.entries.delete(token);
      return undefined;
    }
    return hit;
  }

  set(token: string, claims: JWTPayload, issuer: TrustedIssuer, now = Date.now()): void {
    // jwtVerify accepts a token while now < exp + tolerance.
    const until = Math.min(Number(claims.exp) * 1000 + this.toleranceSeconds * 1000, now + this.maxAgeMs);
    if (!(until > now)) return;
    if (this.entries.size >= this.maxEntries) {
      for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
      if (this.entries.size >= this.maxEntries) this.entries.clear();
    }
    this.entries.set(token, { claims, issuer, until });
  }
}

export class TokenVerifier {
  readonly nonces: DpopNonces;
  private readonly replay: ReplayCache;
  private readonly keys = new Map<string, { issuer: TrustedIssuer; getKey: JWTVerifyGetKey }>();
  private readonly verified: VerifiedTokenCache;

  constructor(private readonly opts: TokenVerifierOptions) {
    this.nonces = opts.nonces ?? new DpopNonces();
    this.replay = new ReplayCache((opts.config.dpopMaxAgeSeconds + opts.config.clockToleranceSeconds) * 2000);
    this.verified = new VerifiedTokenCache(opts.config.clockToleranceSeconds);
    for (const iss of opts.config.issuers) {
      const uri = iss.jwksUri ?? `${iss.issuer.replace(/\/$/, '')}/.well-known/jwks.json`;
      this.keys.set(iss.issuer, { issuer: iss, getKey: createRemoteJWKSet(new URL(uri)) });
    }
    for (const { issuer, jwks } of opts.localIssuers ?? []) this.keys.set(issuer.issuer, { issuer, getKey: createLocalJWKSet(jwks) });
  }

  async verify(req: TokenRequest): Promise<VerifiedToken> {
    const cfg = this.opts.config;
    const m = /^(Bearer|DPoP)\s+([A-Za-z0-9\-_.~+/]+=*)$/i.exec(req.authorization?.trim() ?? '');
    if (!req.authorization) throw unauthorized(undefined, 'Authentication required', cfg.requireDpop ? 'DPoP' : 'both');
    if (!m) throw unauthorized('invalid_request', 'Malformed Authorization header', 'both');
    const scheme = m[1].toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    const token = m[2];
    if (scheme === 'Bearer' && cfg.requireDpop) throw unauthorized('invalid_token', 'This server requires DPoP-bound tokens', 'DPoP');

    const { claims, issuer } = this.verified.get(token) ?? (await this.verifySigned(token, scheme));
    const jkt = (claims.cnf as any)?.jkt as string | undefined;
    if (scheme === 'Bearer') {
      if (jkt) throw unauthorized('invalid_token', 'The token is DPoP-bound: send it with the DPoP scheme and a proof', 'DPoP');
      return { claims, issuer, token, scheme };
    }
    if (!jkt) throw unauthorized('invalid_token', 'The DPoP scheme needs a DPoP-bound token (cnf.jkt)', 'DPoP');
    await this.checkProof(req, token, jkt);
    return { claims, issuer, token, dpopJkt: jkt, scheme };
  }

  /** Signature, issuer, audience and times of a token not seen before; remembered when it passes. */
  private async verifySigned(token: string, scheme: 'Bearer' | 'DPoP'): Promise<{ claims: JWTPayload; issuer: TrustedIssuer }> {
    const cfg = this.opts.config;
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw unauthorized('invalid_token', 'The access token is not a JWT', scheme);
    }
    const entry = iss ? this.keys.get(iss) : undefined;
    if (!entry) throw unauthorized('invalid_token', 'The token was not issued by a trusted issuer', scheme);
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, entry.getKey, {
        issuer: entry.issuer.issuer,
        audience: cfg.audiences,
        clockTolerance: cfg.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (err: any) {
      const why =
        err?.code === 'ERR_JWT_EXPIRED' ? 'The access token has expired'
        : err?.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' ? `The access token's ${err.claim} claim is not acceptable`
        : err?.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || err?.code === 'ERR_JWKS_NO_MATCHING_KEY' ? 'The access token signature is invalid'
        : 'The access token is invalid';
      throw unauthorized('invalid_token', why, scheme);
    }
    this.verified.set(token, claims, entry.issuer);
    return { claims, issuer: entry.issuer };
  }

  private async checkProof(req: TokenRequest, token: string, jkt: string): Promise<void> {
    const cfg = this.opts.config;
    const fail = (error: 'invalid_dpop_proof' | 'use_dpop_nonce', why: string) =>
      unauthorized(error, why, 'DPoP', { 'DPoP-Nonce': this.nonces.current() });
    if (!req.dpop) throw fail('invalid_dpop_proof', 'The DPoP header with a proof is missing');
    let payload: JWTPayload;
    let header: any;
    try {
      ({ payload, protectedHeader: header } = await jwtVerify(req.dpop, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGS }));
    } catch {
      throw fail('invalid_dpop_proof', 'The DPoP proof is not a valid dpop+jwt signed by its embedded key');
    }
    if ((await calculateJwkThumbprint(header.jwk)) !== jkt) throw fail('invalid_dpop_proof', 'The DPoP proof key does not match the token binding (cnf.jkt)');
    if (String(payload.htm).toUpperCase() !== req.method.toUpperCase()) throw fail('invalid_dpop_proof', 'DPoP htm does not match the request method');
    if (stripUrl(String(payload.htu ?? '')) !== stripUrl(req.url)) throw fail('invalid_dpop_proof', 'DPoP htu does not match the request URL');
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > cfg.dpopMaxAgeSeconds + cfg.clockToleranceSeconds)
      throw fail('invalid_dpop_proof', 'DPoP iat is too old or in the future');
    if (payload.ath !== createHash('sha256').update(token).digest('base64url')) throw fail('invalid_dpop_proof', 'DPoP ath does not match the access token');
    if (cfg.dpopNonce && !this.nonces.valid(payload.nonce as string | undefined))
      throw fail('use_dpop_nonce', 'Use the server-provided DPoP nonce');
    if (!payload.jti || !this.replay.use(`${jkt}:${payload.jti}`)) throw fail('invalid_dpop_proof', 'The DPoP proof was already used (jti replay)');
  }
}

function stripUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host.toLowerCase()}${url.pathname}`;
  } catch {
    return u;
  }
}
