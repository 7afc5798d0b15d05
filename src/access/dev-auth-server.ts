import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import Provider, { interactionPolicy, type Configuration } from 'oidc-provider';
import { decodeJwt, type JWK } from 'jose';
import type { Queryable } from '../store/db.ts';
import { ATTESTATION_TYPE, CLAIM } from './claims.ts';
import { citizenClaims, DEV_AUDIENCE, DEV_AUTH_PREFIX, devAuthority, devIssuer, practitionerClaims, systemClaims, type DevAuthority, type PractitionerTokenOptions } from './dev-authority.ts';
import {
  clinicianTokenOptions,
  decodeClinicianAccount,
  DEV_CLINICIAN_CLIENT,
  encodeClinicianAccount,
  esc,
  LOGIN_PURPOSES,
  practitionerLoginPage,
  workplaceValue,
  type ClinicianChoice,
  type LoginPurpose,
} from './dev-practitioner-login.ts';

/**
 * The built-in development authorization server (embedded mode only), built on `oidc-provider`:
 *  - HelseID-like system tokens: client_credentials, client authentication private_key_jwt only,
 *    assertion header typ `client-authentication+jwt`, lifetime at most 60 s. The trust-framework
 *    attestation (`authorization_details` of type nhn:tillitsrammeverk:parameters) and
 *    `helseid://claims/hpr/hpr_number` are taken from the client assertion, as HelseID does, and the
 *    organisation claims from the client's registration.
 *  - ID-porten-like citizen tokens: authorization code + PKCE through a login page where one picks
 *    a synthetic person; the token carries `pid` and acr `idporten-loa-high`.
 *  - HelseID-like practitioner tokens for the clinician view (client `dev-kjernejournal`,
 *    authorization code + PKCE): one picks a health professional, the organisation and the purpose
 *    of use (dev-practitioner-login.ts); the token carries the HPR number, security level 4, the
 *    organisation claims and the trust-framework attestation for that choice.
 *  - SMART v2 scopes (patient/ user/ system/ with cruds), JWT access tokens, DPoP binding.
 * Everything is signed with the dev authority's key (dev-authority.ts), kept in the data folder.
 */
export interface DevClient {
  client_id: string;
  /** Public keys for private_key_jwt (system clients). */
  jwks?: { keys: JWK[] };
  redirect_uris?: string[];
  /** Organisation claims put into its tokens. */
  orgnr_parent?: string;
  orgnr_child?: string;
  /** Space-separated scopes the client may be granted. */
  scope?: string;
}

export interface DevAuthServerOptions {
  /** Public base URL of the server; the issuer is `${baseUrl}/oidc`. */
  baseUrl: string;
  dataDir?: string;
  clients?: DevClient[];
  /** Synthetic people offered on the login page. */
  people?: () => Promise<{ nin: string; name: string }[]>;
  /** Health professionals offered on the practitioner login page (search by HPR number or name). */
  practitioners?: (query: string, limit?: number) => Promise<ClinicianChoice[]>;
}

export { DEV_AUTH_PREFIX, devIssuer };
export const MAX_ASSERTION_LIFETIME_SECONDS = 60;
export const DEV_CITIZEN_CLIENT = 'dev-helsenorge';
export { DEV_CLINICIAN_CLIENT };

/** The resource indicator of the FHIR API; tokens for it carry aud `samhandling` (DEV_AUDIENCE). */
const resourceOf = (baseUrl: string) => `${baseUrl.replace(/\/$/, '')}/fhir`;
const OPS = ['r', 's', 'rs', 'c', 'u', 'd', 'cud', 'cruds', 'read', 'write', '*'];

/** Every SMART v2 (and v1) scope the dev server can grant, for the given resource types. */
export function smartScopes(types: string[]): string[] {
  const out: string[] = [];
  for (const ctx of ['patient', 'user', 'system']) for (const t of ['*', ...types]) for (const op of OPS) out.push(`${ctx}/${t}.${op}`);
  return out;
}


const KNOWN_TYPES = [
  'Patient', 'Observation', 'Condition', 'AllergyIntolerance', 'Flag', 'Procedure', 'MedicationRequest', 'MedicationDispense',
  'MedicationStatement', 'DocumentReference', 'Binary', 'DiagnosticReport', 'Encounter', 'Appointment', 'Immunization',
  'Practitioner', 'PractitionerRole', 'Organization', 'RelatedPerson', 'Consent', 'List', 'Composition', 'Bundle',
  'QuestionnaireResponse', 'Questionnaire', 'ServiceRequest', 'Specimen', 'CarePlan', 'AuditEvent',
];

export async function createDevAuthServer(opts: DevAuthServerOptions): Promise<{ provider: Provider; authority: DevAuthority }> {
  const issuer = devIssuer(opts.baseUrl);
  const authority = await devAuthority(issuer, opts.dataDir);
  const scopes = smartScopes(KNOWN_TYPES);
  const resource = resourceOf(opts.baseUrl);
  const clients = [
    { client_id: DEV_CITIZEN_CLIENT, token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: [`${opts.baseUrl}/callback`, 'http://localhost/callback'] },
    { client_id: DEV_CLINICIAN_CLIENT, token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: [`${opts.baseUrl}/clinician/callback`, 'http://localhost/clinician/callback'] },
    ...(opts.clients ?? []).map((c) =>
      c.jwks
        ? { client_id: c.client_id, token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: undefined, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], jwks: c.jwks, authorization_details_types: [ATTESTATION_TYPE], scope: c.scope, orgnr_parent: c.orgnr_parent, orgnr_child: c.orgnr_child }
        : { client_id: c.client_id, token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: c.redirect_uris ?? [], scope: c.scope }
    ),
  ];
  // The attestation a client sent in its assertion, carried to the token it obtains.
  const assertions = new WeakMap<object, Record<string, unknown>>();

  const configuration: Configuration = {
    clients: clients as any,
    jwks: { keys: [authority.privateJwk as any] },
    scopes: ['openid', 'offline_access', ...scopes],
    claims: { openid: ['sub'], pid: ['pid'] },
    extraClientMetadata: { properties: ['orgnr_parent', 'orgnr_child'] },
    clientAuthMethods: ['private_key_jwt', 'none'],
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    ttl: { AccessToken: 3600, ClientCredentials: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true },
      richAuthorizationRequests: {
        enabled: true,
        types: {
          [ATTESTATION_TYPE]: {
            async validate(_ctx: any, detail: any) {
              const { errors } = await import('oidc-provider');
              const care = detail.care_relationship ?? detail.care_relation;
              if (!care || typeof care !== 'object') throw new errors.InvalidAuthorizationDetails('the attestation needs care_relationship');
            },
          },
        },
        authorizationDetailsForGrantSource: (_ctx: any, source: any) => source?.rar,
        authorizationDetailsForAccessToken: (ctx: any) => {
          const details = JSON.parse(ctx.oidc.params.authorization_details ?? '[]');
          return (Array.isArray(details) ? details : [details]).filter((d: any) => d?.type === ATTESTATION_TYPE);
        },
        authorizationDetailsForIntrospection: (_ctx: any, token: any) => token.rar,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: scopes.join(' '), audience: DEV_AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    async assertJwtClientAuthClaimsAndHeader(ctx: any, claims: any, header: any) {
      const { InvalidClientAuth } = (await import('oidc-provider')).errors;
      if (header.typ !== 'client-authentication+jwt') throw new InvalidClientAuth('the client assertion must have typ client-authentication+jwt');
      const iat = typeof claims.iat === 'number' ? claims.iat : typeof claims.nbf === 'number' ? claims.nbf : undefined;
      if (iat === undefined || claims.exp - iat > MAX_ASSERTION_LIFETIME_SECONDS)
        throw new InvalidClientAuth(`the client assertion may live at most ${MAX_ASSERTION_LIFETIME_SECONDS} s (iat to exp)`);
      // HelseID takes the attestation from the client assertion; hand it to the RAR machinery as if
      // it had been sent as the authorization_details parameter.
      if (claims.authorization_details !== undefined && ctx.oidc.params.authorization_details === undefined)
        ctx.oidc.params.authorization_details = JSON.stringify(claims.authorization_details);
      assertions.set(ctx, claims);
    },
    async extraTokenClaims(ctx: any, token: any) {
      if (token.kind === 'ClientCredentials') {
        const client = await ctx.oidc.provider.Client.find(token.clientId);
        const assertion = assertions.get(ctx) ?? (ctx.oidc.params?.client_assertion ? decodeJwt(ctx.oidc.params.client_assertion) : {});
        const hpr = (assertion as any)[CLAIM.hpr];
        return {
          client_id: token.clientId,
          ...(client?.orgnr_parent ? { [CLAIM.orgParent]: client.orgnr_parent } : {}),
          ...(client?.orgnr_child ? { [CLAIM.orgChild]: client.orgnr_child } : {}),
          ...(hpr ? { [CLAIM.hpr]: String(hpr), [CLAIM.securityLevel]: String((assertion as any)[CLAIM.securityLevel] ?? 4) } : {}),
        };
      }
      // A practitioner's claims are put in by the JWT customizer below.
      if (token.accountId && !decodeClinicianAccount(token.accountId)) return { pid: token.accountId, acr: 'idporten-loa-high', client_id: token.clientId };
      return undefined;
    },
    formats: {
      customizers: {
        // A practitioner's access token is HelseID-like: sub `hpr:<n>`, HPR, security level,
        // organisation claims and the attestation (which oidc-provider would otherwise overwrite
        // with the RAR details of the request, none in the code flow).
        async jwt(_ctx: any, token: any, jwt: any) {
          const account = decodeClinicianAccount(token.accountId);
          if (!account) return;
          const { aud: _aud, scope: _scope, client_id: _client, ...claims } = practitionerClaims(clinicianTokenOptions(account, token.clientId));
          Object.assign(jwt.payload, claims);
        },
      },
    },
    async findAccount(_ctx: any, sub: string) {
      if (decodeClinicianAccount(sub)) return { accountId: sub, claims: async () => ({ sub }) };
      return { accountId: sub, claims: async () => ({ sub, pid: sub, acr: 'idporten-loa-high' }) };
    },
    interactions: { url: (_ctx: any, interaction: any) => `${DEV_AUTH_PREFIX}/interaction/${interaction.uid}`, policy: loginPolicy() },
    acrValues: ['idporten-loa-high'],
    renderError: async (ctx: any, out: any) => {
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(out);
    },
  } as any;

  const provider = new Provider(issuer, configuration);
  provider.proxy = true;
  return { provider, authority };
}

/**
 * Mounts the dev server under /oidc on a Fastify app: discovery, JWKS, token and authorization
 * endpoints from oidc-provider, plus the login page (pick a synthetic person).
 */
export async function mountDevAuthServer(app: FastifyInstance, opts: DevAuthServerOptions): Promise<DevAuthority> {
  const { provider, authority } = await createDevAuthServer(opts);
  const callback = provider.callback();
  const people = opts.people ?? (async () => []);
  const practitioners = opts.practitioners ?? (async () => []);
  await app.register(
    async (scope) => {
      // oidc-provider reads the bodies itself.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

      scope.get('/interaction/:uid', async (request, reply) => {
        reply.hijack();
        const details = await provider.interactionDetails(request.raw, reply.raw);
        const uid = String((request.params as any).uid);
        if (details.prompt.name === 'login' && details.params.client_id === DEV_CLINICIAN_CLIENT) {
          const query = String((request.query as any)?.q ?? '');
          send(reply.raw, 200, 'text/html; charset=utf-8', practitionerLoginPage({ action: `${DEV_AUTH_PREFIX}/interaction/${uid}/login`, searchAction: `${DEV_AUTH_PREFIX}/interaction/${uid}`, query, choices: await practitioners(query) }));
          return;
        }
        if (details.prompt.name === 'login') {
          const list = await people();
          const options = list.map((p) => `<li><button name="nin" value="${esc(p.nin)}">${esc(p.name)} (${esc(p.nin)})</button></li>`).join('');
          send(reply.raw, 200, 'text/html; charset=utf-8', loginPage(String((request.params as any).uid), options));
          return;
        }
        await finishConsent(provider, resourceOf(opts.baseUrl), request.raw, reply.raw, details);
      });
      scope.post('/interaction/:uid/login', async (request, reply) => {
        reply.hijack();
        const form = new URLSearchParams(await readRaw(request.raw));
        const details = await provider.interactionDetails(request.raw, reply.raw);
        if (details.params.client_id === DEV_CLINICIAN_CLIENT) {
          const accountId = await clinicianAccountFrom(form, practitioners);
          if (!accountId) return send(reply.raw, 400, 'text/plain; charset=utf-8', 'Velg helsepersonell, virksomhet og formål / Choose a health professional at an organisation and a purpose of use');
          await endOtherAccountsSession(provider, details, accountId);
          await provider.interactionFinished(request.raw, reply.raw, { login: { accountId } }, { mergeWithLastSubmission: false });
          return;
        }
        const nin = form.get('nin') ?? '';
        if (!/^\d{11}$/.test(nin)) return send(reply.raw, 400, 'text/plain', 'Choose a person (11-digit national identity number)');
        await endOtherAccountsSession(provider, details, nin);
        await provider.interactionFinished(request.raw, reply.raw, { login: { accountId: nin, acr: 'idporten-loa-high' } }, { mergeWithLastSubmission: false });
      });
      const forward = async (request: any, reply: any) => {
        reply.hijack();
        // As a mounted app: oidc-provider derives its own URLs (DPoP htu, redirects) from originalUrl.
        request.raw.originalUrl = request.raw.url;
        request.raw.url = request.raw.url.slice(DEV_AUTH_PREFIX.length) || '/';
        callback(request.raw, reply.raw);
      };
      scope.all('/', forward);
      scope.all('/*', forward);
    },
    { prefix: DEV_AUTH_PREFIX }
  );
  return authority;
}

async function finishConsent(provider: Provider, resource: string, req: IncomingMessage, res: ServerResponse, details: any): Promise<void> {
  const { params, session, grantId } = details;
  const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  // Development only: everything the client asked for is granted (SMART scopes are both OIDC and resource scopes here).
  grant!.addOIDCScope(String(params.scope ?? 'openid'));
  const requested = String(params.scope ?? '').split(' ').filter((s: string) => s && s !== 'openid');
  if (requested.length) grant!.addResourceScope(resource, requested.join(' '));
  const id = await grant!.save();
  await provider.interactionFinished(req, res, { consent: { grantId: id } }, { mergeWithLastSubmission: true });
}

function loginPage(uid: string, options: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Samhandling dev login</title></head>
<body><h1>Log in as a synthetic person (development only)</h1>
<form method="post" action="${DEV_AUTH_PREFIX}/interaction/${esc(uid)}/login">
<ul>${options}</ul>
<p><label>Or national identity number <input name="nin" pattern="\\d{11}"></label> <button>Log in</button></p>
</form></body></html>`;
}

/** The account of the practitioner chosen on the login page, checked against the registry (the workplace must be one of theirs). */
async function clinicianAccountFrom(form: URLSearchParams, practitioners: NonNullable<DevAuthServerOptions['practitioners']>): Promise<string | undefined> {
  const [hpr, orgnr] = (form.get('workplace') ?? '').split('|');
  const purpose = form.get('purpose') as LoginPurpose;
  if (!/^\d+$/.test(hpr ?? '') || !orgnr || !LOGIN_PURPOSES.includes(purpose)) return undefined;
  const person = (await practitioners(hpr, 1)).find((c) => c.hpr === hpr);
  const place = person?.workplaces.find((w) => workplaceValue(hpr, w) === form.get('workplace'));
  if (!person || !place) return undefined;
  return encodeClinicianAccount({ hpr, nin: person.nin, orgnr: place.orgnr, resh: place.department?.resh, category: place.category, purpose });
}

/**
 * Logging in as someone else than the browser session's account: end that session here.
 * oidc-provider would otherwise answer with a self-submitting logout form whose inline script the
 * server's Content-Security-Policy blocks, leaving the user on a blank page.
 */
async function endOtherAccountsSession(provider: Provider, details: any, accountId: string): Promise<void> {
  const uid = details.session?.uid;
  if (!uid || details.session.accountId === accountId) return;
  const session = await provider.Session.findByUid(uid);
  await session?.destroy();
  // The interaction no longer belongs to that session; the login result starts a new one.
  delete details.session.uid;
  await details.save(details.exp - Math.floor(Date.now() / 1000));
}

/**
 * One browser session may hold a citizen or a practitioner: when a client asks for the other
 * kind of account than the session holds, the login page is shown again (the clinician view must
 * never get a citizen's session, nor the citizen portal a practitioner's).
 */
function loginPolicy() {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.push(
    new interactionPolicy.Check('account_kind', 'The session belongs to another kind of account than this client needs', (ctx: any) => {
      // While a login is being resumed the session still holds the previous account.
      const accountId = ctx.oidc.result?.login?.accountId ?? ctx.oidc.session?.accountId;
      if (!accountId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const practitioner = !!decodeClinicianAccount(accountId);
      return practitioner === (ctx.oidc.client?.clientId === DEV_CLINICIAN_CLIENT) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    })
  );
  return policy;
}

function send(res: ServerResponse, status: number, type: string, body: string) {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.end(body);
}

async function readRaw(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Synthetic people from the stored Patient resources, for the login page. */
export function peopleFromDb(db: Queryable, limit = 200): () => Promise<{ nin: string; name: string }[]> {
  return async () => {
    const rows = await db.query<{ content: string }>(`select content from resource where type = 'Patient' and not deleted order by id limit ${Number(limit)}`);
    return rows.flatMap((r) => {
      const p = JSON.parse(r.content);
      const nin = p.identifier?.find((i: any) => /^urn:oid:2\.16\.578\.1\.12\.4\.1\.4\.[12]$/.test(i.system))?.value;
      const n = p.name?.[0];
      return nin ? [{ nin, name: [...(n?.given ?? []), n?.family].filter(Boolean).join(' ') || nin }] : [];
    });
  };
}

// --- in-process minting for tests and scripts, signed with the same key as the dev server

let defaultIssuer = devIssuer(process.env.BASE_URL ?? 'http://localhost:8080');
let defaultDataDir: string | undefined;
/** Chooses the issuer and data folder the mint helpers use (the server's, normally). */
export function configureDevMinting(o: { baseUrl: string; dataDir?: string }): void {
  defaultIssuer = devIssuer(o.baseUrl);
  defaultDataDir = o.dataDir;
}
const current = () => devAuthority(defaultIssuer, defaultDataDir);

export async function mintPractitionerToken(o: PractitionerTokenOptions & { expiresIn?: number }): Promise<string> {
  const a = await current();
  return a.sign(practitionerClaims(o), { expiresIn: o.expiresIn, issuedAt: o.issuedAt });
}
export async function mintCitizenToken(nin: string, o: { acr?: string; scope?: string; jkt?: string } = {}): Promise<string> {
  return (await current()).sign(citizenClaims(nin, o));
}
export async function mintSystemToken(o: { clientId: string; org: string; childOrg?: string; scope: string; jkt?: string }): Promise<string> {
  return (await current()).sign(systemClaims(o));
}
