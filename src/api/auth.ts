import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { loadAccessConfig, type AccessConfig } from '../access/config.ts';
import { principalFromClaims } from '../access/claims.ts';
import type { DevAuthority } from '../access/dev-authority.ts';
import type { DevClient } from '../access/dev-auth-server.ts';
import fs from 'node:fs';
import {
  patientNamedIn,
  seesEverything,
  accessFilterSql,
  checkRead,
  checkWrite,
  filterFor,
  resolveAccess,
  restrictedHiddenCount,
  type AccessContext,
  type WriteAction,
} from '../access/policy.ts';
import type { Principal } from '../access/principal.ts';
import type { RegistryLookup } from '../access/registry-port.ts';
import { TokenVerifier } from '../access/tokens.ts';
import { auditRow, type AuditInput, type AuditRow, type Interaction } from '../audit/audit-event.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { patientCompartmentOf } from '../fhir/compartment.ts';
import { FhirError, issue } from '../fhir/outcome.ts';
import type { Db, Queryable } from '../store/db.ts';
import { serviceOf } from '../access/services.ts';
import type { WriteGuard } from '../store/repository.ts';
import type { Sql } from '../store/sql.ts';

/**
 * Authentication, the access policy and the audit trail for the FHIR API, as one Fastify plugin
 * (applied to the whole server; see docs/access-rules.md). Route handlers use `request.access`:
 *   filterFor(type)            → (alias) => Sql, for every search/include/$everything/history query
 *   checkRead(resource, comp)  → throws 403/404 unless the caller may see it
 *   checkWrite(resource, action, comp) → the resource to store (owner-tagged), or throws 403
 * Audit needs no calls: every response is recorded (resources returned, written, or the refusal)
 * and committed before the response leaves.
 */
export interface AuthOptions {
  db: Db;
  registry: RegistryLookup;
  /** Public base URL (DPoP htu and audiences are checked against it). */
  baseUrl: string;
  config?: AccessConfig;
  /** 'off': every request is a local administrator. Tests only; refused when NODE_ENV=production. */
  auth?: 'on' | 'off';
  /** Trust this development authority (tests minting tokens in-process). */
  devAuthority?: DevAuthority;
  /**
   * Run the built-in development authorization server under /oidc and trust it (embedded mode;
   * never in production). Clients for client_credentials come from here or from the JSON file
   * named by DEV_AUTH_CLIENTS.
   */
  devAuth?: { dataDir?: string; clients?: DevClient[]; people?: () => Promise<{ nin: string; name: string }[]> } | false;
  /** The server's clock (tests inject one to move time); policy decisions that depend on time use it. */
  clock?: () => Date;
  /** Record audit events (default: on when auth is on). */
  audit?: boolean;
  /** Requests per minute per client; 0 switches rate limiting off (Config.rateLimitPerMinute). Default 6000. */
  rateLimitPerMinute?: number;
  /** Allowed CORS origins (default CORS_ORIGINS, comma separated; none: no CORS). */
  corsOrigins?: string[];
}

export interface RequestAccess {
  readonly principal: Principal;
  /** The resolved policy context (throws when the route skipped policy resolution). */
  readonly context: AccessContext;
  filterFor(resourceType?: string): (alias: string) => Sql;
  /** As filterFor, but undefined when the caller sees every row (no predicate to add). */
  searchFilter(resourceType?: string): ((alias: string) => Sql) | undefined;
  /** The caller's row filter without the search-scope check: what conditional matching may see. */
  visibleRows(): (alias: string) => Sql;
  /**
   * `via`: the open transaction when called inside one. The policy's own queries (privacy
   * settings, a service's rules) then use its connection instead of waiting for a second one,
   * which a full pool of such transactions would never give.
   */
  checkRead(resource: Resource, compartment?: string | null, via?: Queryable): Promise<void>;
  checkWrite<T extends Resource>(resource: T, action: WriteAction, compartment?: string | null, previous?: { resource: Resource; compartment: string | null }): T;
  /** checkWrite as the repository's WriteGuard, for every write of this request. */
  readonly guard: WriteGuard;
  /** Resources of this type hidden only by the patient's restriction (NHN-SecurityLabel-Nors-Count). */
  restrictedCount(resourceType: string): Promise<number>;
  /** Extra audit events beyond what the response shows (e.g. an operation's side effects). */
  audit(input: Omit<AuditInput, 'principal' | 'access' | 'requestId'>): void;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    access: RequestAccess;
    auditRows?: AuditRow[];
    /**
     * The resources the response carries, set by handlers that have them so the audit need not
     * parse the payload; a function when they are only worth parsing if the audit is on.
     */
    returnedResources?: Resource[] | (() => Resource[]);
    auditDenial?: string;
    deniedPatient?: { id: string; nin?: string };
  }
  interface FastifyContextConfig {
    /** 'public': no authentication; 'principal': authenticate but resolve no clinical access (status calls). */
    access?: 'public' | 'principal';
    /** false: the route is not clinical access and leaves no automatic audit record. */
    audit?: boolean;
  }
}

const PUBLIC_PATHS = [/^\/fhir\/metadata(\?|$)/, /^\/\.well-known\//, /^\/fhir\/\.well-known\//, /^\/oidc(\/|$)/, /^\/health(\?|$)/];

const ADMIN: Principal = { kind: 'admin', scopes: [] };

function compartmentOf(resource: Resource): string | null {
  try {
    return patientCompartmentOf(resource);
  } catch {
    return null;
  }
}

/** Compartments the read check found, so the audit of the same (unchanged, read-only) resource need not compute them again. */
const checkedCompartments = new WeakMap<Resource, string | null>();

/** Which REST interaction a request is, from its route pattern and method. */
function interactionOf(request: FastifyRequest): Interaction {
  const url = request.routeOptions?.url ?? request.url;
  const m = request.method;
  if (url.includes('$everything') || /\/\$[a-z-]+/.test(url)) return 'operation';
  if (m === 'DELETE') return 'delete';
  if (m === 'PATCH') return 'patch';
  if (m === 'PUT') return 'update';
  if (url.endsWith('/_history/:vid')) return 'vread';
  if (url.endsWith('/:id/_history')) return 'history-instance';
  if (url.endsWith('/:type/_history')) return 'history-type';
  if (url.endsWith('/_history')) return 'history-system';
  if (url.endsWith('/_search')) return 'search-type';
  if (m === 'POST') return url.endsWith('/fhir') || url.endsWith('/fhir/') ? 'transaction' : 'create';
  if (url.endsWith('/:type/:id') || url.endsWith('/:id')) return 'read';
  if (url.endsWith('/fhir') || url.endsWith('/fhir/')) return 'search-system';
  return 'search-type';
}

function returnedResources(payload: unknown): Resource[] {
  if (typeof payload !== 'string' || payload.length === 0 || payload[0] !== '{') return [];
  let body: any;
  try {
    body = JSON.parse(payload);
  } catch {
    return [];
  }
  if (body?.resourceType === 'Bundle')
    return ((body as Bundle).entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r && r.resourceType !== 'OperationOutcome');
  if (!body?.resourceType || ['OperationOutcome', 'CapabilityStatement', 'Parameters'].includes(body.resourceType)) return [];
  return [body];
}

/** What AccessOfRequest needs from the plugin. */
interface AccessEnv {
  db: Queryable;
  record(request: FastifyRequest, input: Omit<AuditInput, 'requestId'>): void;
}

/**
 * One request's RequestAccess. A class rather than an object of closures: tsx names every
 * closure it creates (`__name`), which cost ~9 µs per request for the dozen this made.
 */
class AccessOfRequest implements RequestAccess {
  constructor(
    private readonly request: FastifyRequest,
    readonly principal: Principal,
    private readonly ctx: AccessContext | undefined,
    private readonly env: AccessEnv
  ) {}

  private need(): AccessContext {
    if (!this.ctx) throw new Error('This route resolved no access context');
    return this.ctx;
  }

  get context(): AccessContext {
    return this.need();
  }

  filterFor(type?: string): (alias: string) => Sql {
    return type ? filterFor(this.need(), type) : (alias: string) => filterFor(this.need(), '*')(alias);
  }

  searchFilter(type?: string): ((alias: string) => Sql) | undefined {
    const filter = this.filterFor(type);
    return seesEverything(this.need()) ? undefined : filter;
  }

  visibleRows(): (alias: string) => Sql {
    const ctx = this.need();
    return (alias: string) => accessFilterSql(ctx, alias);
  }

  async checkRead(resource: Resource, compartment?: string | null, via?: Queryable): Promise<void> {
    const comp = compartment === undefined ? compartmentOf(resource) : compartment;
    checkedCompartments.set(resource, comp);
    try {
      await checkRead(this.need(), resource, comp, via ?? this.env.db);
    } catch (err) {
      if (err instanceof FhirError) this.request.auditDenial = `${resource.resourceType}/${resource.id}: ${err.message}`;
      throw err;
    }
  }

  checkWrite<T extends Resource>(resource: T, action: WriteAction, compartment?: string | null, previous?: { resource: Resource; compartment: string | null }): T {
    const comp = compartment === undefined ? compartmentOf(resource) : compartment;
    return checkWrite(this.need(), resource, action, comp, previous);
  }

  get guard(): WriteGuard {
    return (resource, action, compartment, previous) => this.checkWrite(resource, action, compartment, previous);
  }

  restrictedCount(type: string): Promise<number> {
    return restrictedHiddenCount(this.need(), this.env.db, type);
  }

  audit(input: Omit<AuditInput, 'principal' | 'access' | 'requestId'>): void {
    this.env.record(this.request, Object.assign({}, input, { principal: this.principal, access: this.ctx }));
  }
}

/** The plugin; registered with skip-override so its hooks cover the whole server. */
export async function authPlugin(app: FastifyInstance, opts: AuthOptions): Promise<void> {
  const config = opts.config ?? loadAccessConfig(process.env, opts.baseUrl);
  const mode = opts.auth ?? config.auth;
  if (mode === 'off' && process.env.NODE_ENV === 'production') throw new Error('AUTH=off is refused when NODE_ENV=production');
  if (mode === 'off') app.log.warn('AUTHENTICATION IS OFF: every request acts as a local administrator. Never run like this with real data.');
  const auditOn = opts.audit ?? mode === 'on';
  let devAuthority = opts.devAuthority;
  if (opts.devAuth) {
    if (process.env.NODE_ENV === 'production') throw new Error('The development authorization server is refused when NODE_ENV=production');
    const { mountDevAuthServer, peopleFromDb } = await import('../access/dev-auth-server.ts');
    const { practitionerDirectoryFromDb } = await import('../access/dev-practitioner-login.ts');
    const fromFile: DevClient[] = process.env.DEV_AUTH_CLIENTS ? JSON.parse(fs.readFileSync(process.env.DEV_AUTH_CLIENTS, 'utf8')) : [];
    devAuthority = await mountDevAuthServer(app, {
      baseUrl: opts.baseUrl,
      dataDir: opts.devAuth.dataDir,
      clients: [...(opts.devAuth.clients ?? []), ...fromFile],
      people: opts.devAuth.people ?? peopleFromDb(opts.db),
      practitioners: practitionerDirectoryFromDb(opts.db),
    });
    app.log.warn(`Development authorization server at ${devAuthority.issuer}: tokens from it are trusted. Not for production.`);
  }
  const auditLog = new AuditLog(opts.db);
  const verifier = new TokenVerifier({
    config,
    localIssuers: devAuthority ? [{ issuer: { issuer: devAuthority.issuer, kind: 'dev' }, jwks: devAuthority.jwks }] : [],
  });
  const deps = { db: opts.db, registry: opts.registry, config };

  await registerHttpProtections(app, opts);

  app.decorateRequest('principal', undefined);
  app.decorateRequest('access', undefined as unknown as RequestAccess);
  app.decorateRequest('auditRows', undefined);
  app.decorateRequest('returnedResources', undefined);
  app.decorateRequest('auditDenial', undefined);
  app.decorateRequest('deniedPatient', undefined);

  const record = (request: FastifyRequest, input: Omit<AuditInput, 'requestId'>) => {
    if (!auditOn) return;
    // Object.assign, not spread and new keys: on Node 20 a key added after a spread is slow (docs/architecture.md).
    (request.auditRows ??= []).push(auditRow(Object.assign({}, input, { reason: input.reason ?? accessReason(request), requestId: request.id })));
  };
  const accessEnv: AccessEnv = { db: opts.db, record };

  app.addHook('onRequest', async (request, reply) => {
    const routeAccess = request.routeOptions?.config?.access;
    if (routeAccess === 'public' || PUBLIC_PATHS.some((p) => p.test(request.url))) return;
    if (!request.url.startsWith('/fhir')) return;
    let principal: Principal;
    if (mode === 'off') principal = ADMIN;
    else {
      const verified = await verifier.verify({
        method: request.method,
        url: `${opts.baseUrl}${request.url}`,
        authorization: request.headers.authorization,
        dpop: request.headers.dpop as string | undefined,
      });
      if (verified.scheme === 'DPoP') reply.header('DPoP-Nonce', verifier.nonces.current());
      principal = await principalFromClaims(
        verified.claims,
        {
          accessBasis: header(request, 'nhn-access-basis'),
          patientNin: header(request, 'nhn-patient-nin'),
          userRole: header(request, 'nhn-user-role'),
        },
        opts.registry,
        verified.issuer.kind,
        config.citizenAcceptedAcr
      );
    }
    request.principal = principal;
    let ctx: AccessContext | undefined;
    try {
      ctx = routeAccess === 'principal' ? undefined : await resolveAccess(principal, Object.assign({}, deps, { now: (opts.clock ?? (() => new Date()))() }));
    } catch (err) {
      // The refusal goes into the log of the patient it was about.
      const nin = principal.kind === 'citizen' ? principal.onBehalfOf : principal.kind === 'admin' ? undefined : principal.patientNin;
      const person = nin ? await opts.registry.person(nin).catch(() => undefined) : undefined;
      if (person?.patientId) request.deniedPatient = { id: person.patientId, nin };
      throw err;
    }
    request.access = new AccessOfRequest(request, principal, ctx, accessEnv);
  });

  // The audit records of a request are committed before its response is sent.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!auditOn || !request.url.startsWith('/fhir') || PUBLIC_PATHS.some((p) => p.test(request.url))) return payload;
    if (request.routeOptions?.config?.access === 'public') return payload;
    if (request.routeOptions?.config?.audit !== false) collectAuditRows(request, reply, payload);
    const rows = request.auditRows ?? [];
    request.auditRows = [];
    if (!rows.length) return payload;
    try {
      await auditLog.append(rows);
    } catch (err) {
      // No record, no data: a response whose audit could not be stored is not sent.
      request.log.error({ err }, 'audit write failed');
      reply.code(503).header('content-type', 'application/fhir+json');
      return JSON.stringify(new FhirError(503, [issue('transient', 'audit-unavailable', 'The audit log is unavailable; the request was not answered')]).outcome);
    }
    return payload;
  });

  function collectAuditRows(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const principal = request.principal;
    const ctx = request.access && safeContext(request.access);
    const status = reply.statusCode;
    const interaction = interactionOf(request);
    if (status === 401 || status === 403 || request.auditDenial) {
      const desc = request.auditDenial ?? outcomeText(payload) ?? `HTTP ${status}`;
      const patient = request.deniedPatient ?? deniedPatient(ctx);
      record(request, { interaction, outcome: 'denied', outcomeDescription: desc, principal, access: ctx, patient });
      return;
    }
    // A refused change or operation (a stale version, an exhausted prescription, invalid content)
    // is an attempt on the patient's record too: their log shows it.
    if (status >= 400 && status < 500 && (request.method !== 'GET' || interaction === 'operation')) {
      const patient = deniedPatient(ctx);
      if (patient) record(request, { interaction, outcome: 'error', outcomeDescription: outcomeText(payload) ?? `HTTP ${status}`, principal, access: ctx, patient });
      return;
    }
    if (status >= 400 || !principal) return;
    const params = request.params as Record<string, string> | undefined;
    const returned = request.returnedResources;
    const resources = typeof returned === 'function' ? returned() : returned ?? returnedResources(payload);
    const entities = new Map<string | null, (string | { reference: string; service: string })[]>();
    if (!resources.length && request.method === 'DELETE' && params?.type && params?.id) entities.set(null, [`${params.type}/${params.id}`]);
    if (!resources.length && reply.getHeader('location')) {
      const loc = String(reply.getHeader('location')).replace(/^.*\/fhir\//, '');
      entities.set(null, [loc]);
    }
    for (const r of resources) {
      const comp = checkedCompartments.has(r) ? checkedCompartments.get(r)! : compartmentOf(r);
      const reference = `${r.resourceType}/${r.id}${r.meta?.versionId ? `/_history/${r.meta.versionId}` : ''}`;
      const list = entities.get(comp) ?? [];
      list.push({ reference, service: serviceOf(r) });
      entities.set(comp, list);
    }
    if (entities.size === 0) entities.set(null, []);
    const query = interaction.startsWith('search') ? request.url.split('?')[1] ?? (Array.isArray(request.body) ? new URLSearchParams(request.body as any).toString() : undefined) : undefined;
    for (const [comp, refs] of entities) {
      const grant = ctx && ctx.patients !== 'any' ? ctx.patients.find((g) => g.patientId === comp) : undefined;
      record(request, {
        interaction,
        outcome: 'success',
        principal,
        access: ctx,
        patient: comp ? { id: comp, nin: grant?.nin } : undefined,
        entities: refs,
        query,
      });
    }
  }

  function deniedPatient(ctx: AccessContext | undefined): AuditInput['patient'] {
    const grant = ctx && patientNamedIn(ctx);
    return grant && { id: grant.patientId, nin: grant.nin };
  }
}
(authPlugin as any)[Symbol.for('skip-override')] = true;

function safeContext(access: RequestAccess): AccessContext | undefined {
  try {
    return access.context;
  } catch {
    return undefined;
  }
}

function outcomeText(payload: unknown): string | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    const o = JSON.parse(payload);
    return o?.issue?.map((i: any) => i.diagnostics).join('; ');
  } catch {
    return undefined;
  }
}

/**
 * The reason a health professional gives for this access (`nhn-access-reason`, percent-encoded
 * UTF-8, at most 500 characters), e.g. why an emergency lookup was needed; recorded in the audit.
 */
function accessReason(request: FastifyRequest): string | undefined {
  const raw = header(request, 'nhn-access-reason');
  if (!raw) return undefined;
  let text = raw;
  try {
    text = decodeURIComponent(raw);
  } catch {
    /* not percent-encoded: keep it as sent */
  }
  return text.trim().slice(0, 500) || undefined;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * helmet's options: the security headers of every page. `upgrade-insecure-requests` only
 * when the server is reached over https (BASE_URL): on a page served over plain http the browser
 * would rewrite every later request to https, which the server does not speak, and the portal
 * would load without its scripts (a laptop or LAN setup reached by address rather than localhost).
 */
export function helmetOptions(baseUrl: string) {
  const https = baseUrl.startsWith('https:');
  return { contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], formAction: ["'self'"], ...(https ? {} : { upgradeInsecureRequests: null }) } } };
}

/**
 * The headers helmet sets with helmetOptions, taken from one run of its middleware. They are the
 * same for every request, and running helmet per request (it builds the policy strings anew each
 * time) cost a read about as much as its access policy.
 */
async function securityHeaders(baseUrl: string): Promise<Record<string, string>> {
  const helmet = (await import('helmet')).default;
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  let finished = false;
  helmet(helmetOptions(baseUrl) as any)({} as any, recorder as any, () => void (finished = true));
  if (!finished) throw new Error('helmet did not set its headers in one synchronous pass');
  return headers;
}

/**
 * The security headers of the FHIR API's responses. They are data, never documents: nothing may
 * render, frame or load from them, and no browser or proxy may store a patient's data
 * (`no-store`). helmet's other headers govern what a document may do, so they stay with the
 * pages (the portal, the development authorization server's login). The portal reads the API
 * with fetch and shows documents as blob URLs under its own policy.
 */
function apiSecurityHeaders(documentHeaders: Record<string, string>): Record<string, string> {
  return {
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cross-origin-resource-policy': documentHeaders['cross-origin-resource-policy'],
    'strict-transport-security': documentHeaders['strict-transport-security'],
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };
}

/** Security headers, CORS and per-client rate limits. */
async function registerHttpProtections(app: FastifyInstance, opts: AuthOptions): Promise<void> {
  const pageHeaders = await securityHeaders(opts.baseUrl);
  const forPages = Object.entries(pageHeaders);
  const forApi = Object.entries(apiSecurityHeaders(pageHeaders));
  app.addHook('onRequest', (request, reply, done) => {
    // On the raw response, as helmet does: routes that answer on it themselves (the development
    // authorization server's pages) carry them too.
    for (const [name, value] of request.url.startsWith('/fhir') ? forApi : forPages) reply.raw.setHeader(name, value);
    done();
  });
  const origins = opts.corsOrigins ?? (process.env.CORS_ORIGINS ? process.env.CORS_ORIGINS.split(',').map((s) => s.trim()) : []);
  if (origins.length) {
    const cors = (await import('@fastify/cors')).default;
    await app.register(cors, {
      origin: origins.includes('*') ? true : origins,
      allowedHeaders: ['Authorization', 'DPoP', 'Content-Type', 'If-Match', 'If-None-Exist', 'Prefer', 'nhn-access-basis', 'nhn-patient-nin', 'nhn-user-role', 'nhn-access-reason'],
      exposedHeaders: ['ETag', 'Location', 'Content-Location', 'DPoP-Nonce', 'WWW-Authenticate', 'NHN-SecurityLabel-Nors-Count'],
    });
  }
  const perMinute = opts.rateLimitPerMinute ?? 6000;
  if (perMinute > 0) {
    const rateLimit = (await import('@fastify/rate-limit')).default;
    await app.register(rateLimit, {
      max: perMinute,
      timeWindow: '1 minute',
      // Per client: the token's client_id (unverified here; a forged one only spends its own budget), else the address.
      keyGenerator: (request) => clientKey(request),
    });
  }
}

function clientKey(request: FastifyRequest): string {
  const auth = request.headers.authorization;
  const token = auth?.split(' ')[1];
  if (token) {
    try {
      const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
      if (payload.client_id || payload.azp) return `client:${payload.client_id ?? payload.azp}:${payload.sub ?? ''}`;
    } catch {
      /* fall back to the address */
    }
  }
  return `ip:${request.ip}`;
}
