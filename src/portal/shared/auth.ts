/**
 * OAuth 2.0 authorization code flow with PKCE, done by the single-page app itself against the
 * built-in development authorization server (/oidc). The access token lives in sessionStorage
 * (per tab, gone when the tab closes); nothing is kept in localStorage or cookies by the app.
 * Used by both front ends with their own client, redirect path and storage key.
 */
export interface AuthOptions {
  /** Registered public client (e.g. dev-helsenorge). */
  clientId: string;
  /** Path of the redirect URI on this origin (e.g. /callback). */
  redirectPath: string;
  scope: string;
  /** sessionStorage key prefix, so the two apps do not share a session. */
  storageKey: string;
  /** Authorization server base path. */
  issuerPath?: string;
  /** Extra authorization request parameters. */
  extraParams?: Record<string, string>;
}

export interface Session {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  /** The token's claims (decoded, not verified: the server verifies every request). */
  claims: Record<string, unknown>;
}

const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

function randomString(bytes = 32): string {
  return b64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function challengeOf(verifier: string): Promise<string> {
  if (!crypto.subtle) throw new Error('PKCE needs a secure context (https, or http://localhost / 127.0.0.1)');
  return b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

export function decodeClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  const json = decodeURIComponent(
    Array.from(atob(part.replace(/-/g, '+').replace(/_/g, '/')), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join('')
  );
  return JSON.parse(json);
}

export function createAuth(o: AuthOptions) {
  const issuer = o.issuerPath ?? '/oidc';
  const redirectUri = () => `${location.origin}${o.redirectPath}`;
  const key = (k: string) => `${o.storageKey}:${k}`;

  function session(): Session | undefined {
    const raw = sessionStorage.getItem(key('session'));
    if (!raw) return undefined;
    const s = JSON.parse(raw) as Session;
    if (s.expiresAt <= Date.now()) {
      sessionStorage.removeItem(key('session'));
      return undefined;
    }
    return s;
  }

  /** Sends the browser to the login page; comes back to the redirect path. */
  async function login(returnTo = location.pathname + location.search): Promise<void> {
    const verifier = randomString(48);
    const state = randomString(16);
    sessionStorage.setItem(key('pkce'), JSON.stringify({ verifier, state, returnTo }));
    const q = new URLSearchParams({
      client_id: o.clientId,
      response_type: 'code',
      redirect_uri: redirectUri(),
      scope: o.scope,
      code_challenge: await challengeOf(verifier),
      code_challenge_method: 'S256',
      state,
      // Always show the person picker, so logging out and in again can change who you are.
      prompt: 'login',
      ...o.extraParams,
    });
    location.assign(`${issuer}/auth?${q}`);
  }

  /** Completes the flow on the redirect path; returns where the user was going. */
  async function completeLogin(): Promise<string> {
    const params = new URLSearchParams(location.search);
    const saved = JSON.parse(sessionStorage.getItem(key('pkce')) ?? 'null') as { verifier: string; state: string; returnTo: string } | null;
    sessionStorage.removeItem(key('pkce'));
    const error = params.get('error');
    if (error) throw new Error(params.get('error_description') ?? error);
    const code = params.get('code');
    if (!saved || !code || params.get('state') !== saved.state) throw new Error('The login response does not match a login started here');
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(), client_id: o.clientId, code_verifier: saved.verifier }),
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.access_token) throw new Error(body.error_description ?? body.error ?? `Token request failed (${res.status})`);
    const s: Session = { accessToken: body.access_token, expiresAt: Date.now() + Number(body.expires_in ?? 3600) * 1000, claims: decodeClaims(body.access_token) };
    sessionStorage.setItem(key('session'), JSON.stringify(s));
    return saved.returnTo && saved.returnTo !== o.redirectPath ? saved.returnTo : '/';
  }

  function logout(): void {
    sessionStorage.removeItem(key('session'));
  }

  return { session, login, completeLogin, logout, redirectPath: o.redirectPath };
}

export type Auth = ReturnType<typeof createAuth>;
