import type { Resource } from '@medplum/fhirtypes';
import { FhirError, issue } from '../fhir/outcome.ts';
import type { Queryable } from '../store/db.ts';
import { and, or, raw, sql, type Sql } from '../store/sql.ts';
import type { AccessConfig } from './config.ts';
import { ACCESS_BASES } from './config.ts';
import { isRestricting, loadPrivacy, PRIVACY_POLICY_URI, type PrivacySettings } from './privacy.ts';
import { actingAuthorisation, ORGNR_SYSTEM, scopesAllow, type Operation, type Principal } from './principal.ts';
import type { PersonFacts, RegistryLookup } from './registry-port.ts';
import { forbidden } from './errors.ts';
import { rulesFor } from '../services/rules.ts';
import { representationsOf } from './representation.ts';
import {
  ALL_SERVICES,
  hasRestrictedLabel,
  restrictedLabelSql,
  serviceDefinition,
  serviceOf,
  serviceSql,
  withheldFromCitizen,
  withheldFromCitizenSql,
  type ServiceCode,
} from './services.ts';

/**
 * The access policy, in one place (domain.md §0 and docs/access-rules.md). `resolveAccess` turns a
 * principal into an AccessContext once per request; the context answers every later question the
 * same way, as a decision in code (reads, writes) or compiled into SQL (searches, includes,
 * $everything, history), so what a search counts is exactly what a read would return.
 */

/** What one caller may see of one patient. */
export interface PatientGrant {
  patientId: string;
  nin: string;
  /** Services open to the caller (reserved services already removed). */
  services: Set<ServiceCode>;
  /** Services hidden by the patient's restriction; opened only under FORHOYET_*. */
  restricted: Set<ServiceCode>;
  /** FORHOYET_*: restricted data and NORS-labelled data are visible. */
  includeRestricted: boolean;
  /** Citizen view: data a service withholds from citizens stays hidden. */
  citizenView: boolean;
  relation: 'self' | 'parent' | 'power-of-attorney' | 'care' | 'system';
  /** May change this patient's privacy settings through the API. */
  mayManagePrivacy: boolean;
  privacy: PrivacySettings;
}

export interface AccessContext {
  principal: Principal;
  accessBasis?: string;
  purposeOfUse?: string;
  emergency: boolean;
  /** The patients the caller may see; 'any' for administrators and organisation-wide systems. */
  patients: PatientGrant[] | 'any';
  /** Organisation-wide systems only see data tagged with their organisation number. */
  ownerOrganisation?: string;
  /** Types a citizen may write (AccessConfig.citizenWritableTypes). */
  citizenWritableTypes: string[];
  /** The request's time (the server's clock, injectable in tests): rules that depend on time use it. */
  now: Date;
}

export interface PolicyDeps {
  db: Queryable;
  registry: RegistryLookup;
  config: AccessConfig;
  now?: Date;
}

export const EMERGENCY_BASES = ['AKUTT', 'FORHOYET_AKUTT'];
export const EMERGENCY_PURPOSES = ['ETREAT', 'BTG'];

const notVisible = () => new FhirError(404, [issue('not-found', 'not-found', 'Resource not found')]);

function allServices(): Set<ServiceCode> {
  return new Set(ALL_SERVICES.map((s) => s.code));
}

/** The services personnel acting in this authorisation category see (AccessConfig.servicesByAuthorisation). */
function servicesFor(authorisation: string | undefined, cfg: AccessConfig): Set<ServiceCode> {
  const limit = authorisation ? cfg.servicesByAuthorisation[authorisation] : undefined;
  return limit ? new Set(ALL_SERVICES.map((s) => s.code).filter((c) => limit.includes(c))) : allServices();
}

function restrictedServices(p: PrivacySettings): Set<ServiceCode> {
  if (p.restrictAll) return new Set(ALL_SERVICES.filter((s) => s.restrictable).map((s) => s.code));
  return new Set(p.restricted);
}

function withoutReserved(services: Set<ServiceCode>, p: PrivacySettings): Set<ServiceCode> {
  return new Set([...services].filter((s) => !p.reserved.includes(s)));
}

async function hasRestrictedData(db: Queryable, patientId: string, p: PrivacySettings): Promise<boolean> {
  if (isRestricting(p)) return true;
  const { text, values } = sql`select 1 from resource r where r.compartment = ${patientId} and not r.deleted and ${restrictedLabelSql('r')} limit 1`.toQuery();
  return (await db.query(text, values)).length > 0;
}

/** Resolves what the principal may do in this request, or throws 403 with the reason. */
export async function resolveAccess(principal: Principal, deps: PolicyDeps): Promise<AccessContext> {
  const ctx = await resolveFor(principal, deps);
  // Spread last: on Node 20 a key added after a spread is slow (docs/architecture.md).
  return { citizenWritableTypes: deps.config.citizenWritableTypes, now: deps.now ?? new Date(), ...ctx };
}

type Resolved = Omit<AccessContext, 'citizenWritableTypes' | 'now'>;

async function resolveFor(principal: Principal, deps: PolicyDeps): Promise<Resolved> {
  switch (principal.kind) {
    case 'admin':
      return { principal, emergency: false, patients: 'any' };
    case 'citizen':
      return resolveCitizen(principal, deps);
    case 'practitioner':
      return resolvePractitioner(principal, deps);
    case 'system':
      return resolveSystem(principal, deps);
  }
}

async function resolveCitizen(principal: Extract<Principal, { kind: 'citizen' }>, deps: PolicyDeps): Promise<Resolved> {
  if (principal.assurance !== 'high')
    throw forbidden('insufficient-assurance', 'Health data needs login at assurance level high (ID-porten)', 'acr');
  const reps = await representationsOf(principal.nin, deps.registry, deps.config, deps.now ?? new Date());
  if (principal.onBehalfOf && !reps.has(principal.onBehalfOf))
    throw forbidden('no-representation', 'You may not act on behalf of this person', 'nhn-patient-nin');
  const patients: PatientGrant[] = [];
  for (const [nin, rep] of reps) {
    if (principal.onBehalfOf && nin !== principal.onBehalfOf) continue;
    if (!rep.person.patientId) continue;
    const privacy = await loadPrivacy(deps.db, rep.person.patientId);
    patients.push({
      patientId: rep.person.patientId,
      nin,
      services: withoutReserved(rep.services, privacy),
      restricted: new Set(),
      includeRestricted: true,
      citizenView: true,
      relation: rep.relation,
      mayManagePrivacy: rep.mayManagePrivacy,
      privacy,
    });
  }
  return { principal, emergency: false, patients };
}

/** Validates the trust-framework attestation and access basis; shared by practitioners and attested systems. */
function validateAttestation(principal: Extract<Principal, { kind: 'practitioner' | 'system' }>, cfg: AccessConfig) {
  const a = principal.attestation;
  if (!a) throw forbidden('attestation-missing', 'The token carries no trust-framework attestation (authorization_details of type nhn:tillitsrammeverk:parameters)', 'authorization_details');
  if (!a.purposeOfUse)
    throw forbidden('purpose-of-use-missing', 'The attestation has no purpose of use (care_relationship.purpose_of_use)', 'authorization_details.care_relationship.purpose_of_use');
  if (!cfg.purposesOfUse.includes(a.purposeOfUse))
    throw forbidden('purpose-of-use-invalid', `Purpose of use '${a.purposeOfUse}' is not one of ${cfg.purposesOfUse.join(', ')}`, 'authorization_details.care_relationship.purpose_of_use');
  if (!a.healthcareService && !a.purposeOfUseDetails)
    throw forbidden('care-relationship-incomplete', 'The attestation needs healthcare_service or purpose_of_use_details', 'authorization_details.care_relationship');
}

function accessBasisOf(principal: { accessBasis?: string; attestation?: { accessBasis?: string } }): string | undefined {
  return principal.accessBasis ?? principal.attestation?.accessBasis;
}

async function patientByNin(nin: string, deps: PolicyDeps): Promise<PersonFacts | undefined> {
  return (await deps.registry.person(nin)) ?? undefined;
}

async function resolvePractitioner(principal: Extract<Principal, { kind: 'practitioner' }>, deps: PolicyDeps): Promise<Resolved> {
  const cfg = deps.config;
  if ((principal.securityLevel ?? 0) < cfg.requiredSecurityLevel)
    throw forbidden('insufficient-security-level', `Clinical data needs HelseID security level ${cfg.requiredSecurityLevel}`, 'helseid://claims/identity/security_level');
  validateAttestation(principal, cfg);
  const basis = accessBasisOf(principal);
  if (!basis) throw forbidden('access-basis-missing', 'No access basis: send the nhn-access-basis header', 'nhn-access-basis');
  if (!(ACCESS_BASES as readonly string[]).includes(basis))
    throw forbidden('access-basis-invalid', `Access basis '${basis}' is not one of ${ACCESS_BASES.join(', ')}`, 'nhn-access-basis');
  const purpose = principal.attestation!.purposeOfUse!;
  const emergency = EMERGENCY_BASES.includes(basis) || EMERGENCY_PURPOSES.includes(purpose);
  const base = { principal, accessBasis: basis, purposeOfUse: purpose, emergency };
  const nin = principal.patientNin;
  if (!nin) return { patients: [], ...base };
  const attested = principal.attestation!.patients;
  if (attested.length && !attested.includes(nin))
    throw forbidden('patient-not-attested', 'The patient is not among the patients in the attestation', 'nhn-patient-nin');
  const person = await patientByNin(nin, deps);
  if (!person?.patientId) return { patients: [], ...base };
  const privacy = await loadPrivacy(deps.db, person.patientId);
  // A block is absolute: not even an emergency basis opens it.
  if (privacy.blockedHpr.includes(principal.hpr))
    throw forbidden('blocked-by-patient', 'The patient has blocked this health professional from their data', 'helseid://claims/hpr/hpr_number');
  if (basis === 'UNNTAK' && cfg.unntakOnlyForGp && person.gp?.hpr !== principal.hpr)
    throw forbidden('unntak-not-gp', "Access basis UNNTAK is only for the patient's own GP", 'nhn-access-basis');
  const elevated = basis.startsWith('FORHOYET_');
  if (elevated && !(await hasRestrictedData(deps.db, person.patientId, privacy)))
    throw forbidden('nothing-restricted', 'A FORHOYET access basis was used but the patient has restricted nothing', 'nhn-access-basis');
  return {
    patients: [
      {
        patientId: person.patientId,
        nin,
        services: withoutReserved(servicesFor(actingAuthorisation(principal), cfg), privacy),
        restricted: restrictedServices(privacy),
        includeRestricted: elevated,
        citizenView: false,
        relation: 'care',
        mayManagePrivacy: false,
        privacy,
      },
    ],
    ...base,
  };
}

async function resolveSystem(principal: Extract<Principal, { kind: 'system' }>, deps: PolicyDeps): Promise<Resolved> {
  if (principal.scopes.length === 0) throw forbidden('no-scopes', 'A system token needs SMART system/ scopes', 'scope');
  if (!principal.attestation) {
    if (!principal.organisation) throw forbidden('no-organisation', 'A system token must name its organisation', 'helseid://claims/client/claims/orgnr_parent');
    return { principal, emergency: false, patients: 'any', ownerOrganisation: principal.childOrganisation ?? principal.organisation };
  }
  validateAttestation(principal, deps.config);
  const basis = accessBasisOf(principal);
  const purpose = principal.attestation.purposeOfUse!;
  const emergency = (!!basis && EMERGENCY_BASES.includes(basis)) || EMERGENCY_PURPOSES.includes(purpose);
  const nin = principal.patientNin ?? principal.attestation.patients[0];
  const person = nin ? await patientByNin(nin, deps) : undefined;
  const patients: PatientGrant[] = [];
  if (person?.patientId) {
    const privacy = await loadPrivacy(deps.db, person.patientId);
    patients.push({
      patientId: person.patientId,
      nin: person.nin,
      services: withoutReserved(servicesFor(actingAuthorisation(principal), deps.config), privacy),
      restricted: restrictedServices(privacy),
      includeRestricted: !!basis?.startsWith('FORHOYET_'),
      citizenView: false,
      relation: 'system',
      mayManagePrivacy: false,
      privacy,
    });
  }
  return { principal, accessBasis: basis, purposeOfUse: purpose, emergency, patients };
}

/** True when the grant lets the caller see this resource (all rules of the SQL filter, in code). */
function grantAllows(ctx: AccessContext, g: PatientGrant, resource: Resource, service = serviceOf(resource)): boolean {
  if (!g.services.has(service)) return false;
  if (!g.includeRestricted && (g.restricted.has(service) || hasRestrictedLabel(resource))) return false;
  if (g.citizenView && withheldFromCitizen(resource)) return false;
  return rulesFor(service).every((rule) => !rule.visible || rule.visible(resource, g, ctx));
}

/** The service modules' own read rules, each applying only to rows of its service. */
function serviceRulesSql(ctx: AccessContext, g: PatientGrant, alias: string): Sql[] {
  const parts: Sql[] = [];
  for (const service of g.services)
    for (const rule of rulesFor(service))
      if (rule.visibleSql) parts.push(sql`(${serviceSql(alias)} <> ${service} or ${rule.visibleSql(alias, g, ctx)})`);
  return parts;
}

function grantSql(ctx: AccessContext, g: PatientGrant, alias: string): Sql {
  const a = raw(alias);
  const parts: Sql[] = [sql`${a}.compartment = ${g.patientId}`];
  const hidden = new Set<ServiceCode>(ALL_SERVICES.map((s) => s.code).filter((s) => !g.services.has(s)));
  if (!g.includeRestricted) for (const s of g.restricted) hidden.add(s);
  if (hidden.size) parts.push(sql`not (${serviceSql(alias)} = any(${[...hidden]}::text[]))`);
  if (!g.includeRestricted) parts.push(sql`not ${restrictedLabelSql(alias)}`);
  if (g.citizenView) parts.push(sql`not ${withheldFromCitizenSql(alias)}`);
  parts.push(...serviceRulesSql(ctx, g, alias));
  return and(parts);
}

function ownerTagSql(alias: string, orgnr: string): Sql {
  return sql`coalesce((${raw(alias)}.content::jsonb -> 'meta' -> 'tag') @> ${JSON.stringify([{ system: ORGNR_SYSTEM, code: orgnr }])}::jsonb, false)`;
}

/** Organisation-wide systems: their own organisation's data, minus what any patient reserved or restricted. */
function organisationSql(alias: string, orgnr: string): Sql {
  const a = raw(alias);
  const svc = serviceSql(alias);
  const restrictable = ALL_SERVICES.filter((s) => s.restrictable).map((s) => s.code);
  return sql`(${ownerTagSql(alias, orgnr)} and not ${restrictedLabelSql(alias)} and (${a}.compartment is null or not exists (
    select 1 from privacy_setting ps where ps.compartment = ${a}.compartment and (
      ps.reserved ? ${svc} or ps.restricted ? ${svc} or (ps.restrict_all and ${svc} = any(${restrictable}::text[]))))))`;
}

function resourceOwnedBy(resource: Resource, orgnr: string): boolean {
  return (resource.meta?.tag ?? []).some((t) => t.system === ORGNR_SYSTEM && t.code === orgnr);
}

/** Every resource type the principal's scopes allow `op` on, or undefined when not limited by type. */
function scopedTypes(principal: Principal, op: Operation): string[] | undefined {
  if (principal.kind === 'admin' || principal.scopes.length === 0) return undefined;
  const relevant = principal.scopes.filter((s) => s.ops.has(op));
  if (relevant.some((s) => s.type === '*')) return undefined;
  return [...new Set(relevant.map((s) => s.type))];
}

/**
 * The SQL predicate over a `resource` (or `resource_history`) row: true exactly for the rows the
 * caller may see. Used for every search, _include/_revinclude, $everything and history.
 */
export function accessFilterSql(ctx: AccessContext, alias: string): Sql {
  const a = raw(alias);
  const parts: Sql[] = [];
  const types = scopedTypes(ctx.principal, 's');
  if (types) parts.push(sql`${a}.type = any(${types}::text[])`);
  if (ctx.patients === 'any') {
    if (ctx.ownerOrganisation) parts.push(organisationSql(alias, ctx.ownerOrganisation));
  } else {
    const nonPatient = ctx.principal.kind === 'citizen' ? raw('false') : sql`${a}.compartment is null`;
    // Patient and Practitioner rows are reference data everyone authenticated needs to resolve
    // links, but Patient rows are in their own compartment, so they follow the grants below.
    parts.push(or([nonPatient, ...ctx.patients.map((g) => grantSql(ctx, g, alias))]));
  }
  return and(parts);
}

/**
 * True when the caller sees every row (the local administrator with AUTH=off): searches then carry
 * no access predicate at all, which leaves the search planner its index-led plans.
 */
export function seesEverything(ctx: AccessContext): boolean {
  return ctx.patients === 'any' && !ctx.ownerOrganisation && !scopedTypes(ctx.principal, 's');
}

/**
 * The one patient a request is about: the person `nhn-patient-nin` (or the attestation) names, or
 * the citizen themself; the only patient in context otherwise. Undefined when there is none.
 */
export function patientNamedIn(ctx: AccessContext): PatientGrant | undefined {
  if (ctx.patients === 'any') return undefined;
  const p = ctx.principal;
  const nin = p.kind === 'citizen' ? p.onBehalfOf ?? p.nin : p.kind === 'admin' ? undefined : p.patientNin ?? p.attestation?.patients[0];
  return ctx.patients.find((g) => g.nin === nin) ?? (ctx.patients.length === 1 ? ctx.patients[0] : undefined);
}

/** Throws unless the caller may search this type at all (scopes); returns the row filter. */
export function filterFor(ctx: AccessContext, resourceType: string): (alias: string) => Sql {
  if (!scopesAllow(ctx.principal, resourceType, 's') && !scopesAllow(ctx.principal, resourceType, 'r'))
    throw forbidden('scope-insufficient', `The token's scopes do not allow searching ${resourceType}`, 'scope');
  return (alias) => accessFilterSql(ctx, alias);
}

function grantFor(ctx: AccessContext, compartment: string | null | undefined): PatientGrant | 'any' | undefined {
  if (ctx.patients === 'any') return 'any';
  if (!compartment) return undefined;
  return ctx.patients.find((g) => g.patientId === compartment);
}

/**
 * Read by id (also vread): 403 when the scopes forbid the type, 404 when the resource is not
 * visible to this caller (hidden data does not exist for them).
 */
export async function checkRead(ctx: AccessContext, resource: Resource, compartment: string | null | undefined, db: Queryable): Promise<void> {
  const p = ctx.principal;
  if (!scopesAllow(p, resource.resourceType, 'r'))
    throw forbidden('scope-insufficient', `The token's scopes do not allow reading ${resource.resourceType}`, 'scope');
  if (p.kind === 'admin') return;
  const grant = grantFor(ctx, compartment);
  if (grant === 'any') {
    if (ctx.ownerOrganisation && !resourceOwnedBy(resource, ctx.ownerOrganisation)) throw notVisible();
    if (ctx.ownerOrganisation && hasRestrictedLabel(resource)) throw notVisible();
    if (ctx.ownerOrganisation && compartment) {
      const privacy = await loadPrivacy(db, compartment);
      const service = serviceOf(resource);
      if (privacy.reserved.includes(service) || restrictedServices(privacy).has(service)) throw notVisible();
    }
    return;
  }
  if (!compartment) {
    if (p.kind === 'citizen') throw notVisible();
    return;
  }
  const service = serviceOf(resource);
  if (!grant || !grantAllows(ctx, grant, resource, service)) throw notVisible();
  for (const rule of rulesFor(service)) if (rule.visibleGiven && !(await rule.visibleGiven(resource, grant, ctx, db))) throw notVisible();
}

export type WriteAction = 'create' | 'update' | 'delete';

/**
 * Write check. Returns the resource to store: for systems and health personnel it carries the
 * writing organisation's tag, which is what "an organisation's own data" means for systems.
 */
export function checkWrite<T extends Resource>(
  ctx: AccessContext,
  resource: T,
  action: WriteAction,
  compartment: string | null | undefined,
  previous?: { resource: Resource; compartment: string | null }
): T {
  const p = ctx.principal;
  const op: Operation = action === 'create' ? 'c' : action === 'update' ? 'u' : 'd';
  if (!scopesAllow(p, resource.resourceType, op))
    throw forbidden('scope-insufficient', `The token's scopes do not allow ${action} of ${resource.resourceType}`, 'scope');
  if (previous) mayReplace(ctx, previous);
  if (resource.resourceType === 'Consent' && (resource as any).policy?.some((x: any) => x?.uri === PRIVACY_POLICY_URI))
    throw forbidden('privacy-settings-api', 'Privacy settings are changed through $privacy-settings only', 'Consent.policy');
  if (p.kind === 'admin') return resource;
  const grant = grantFor(ctx, compartment);
  if (!compartment) {
    if (p.kind === 'citizen') throw forbidden('write-not-allowed', `Citizens cannot write ${resource.resourceType}`, resource.resourceType);
    return stampOwner(ctx, resource);
  }
  if (grant === undefined) throw forbidden('patient-not-in-context', 'The resource belongs to a patient outside this request’s context', resource.resourceType);
  const service = serviceOf(resource);
  if (grant === 'any') return stampOwner(ctx, serviceWriteRules(ctx, resource, action, grant, service, previous?.resource));
  if (grant.privacy.reserved.includes(service))
    throw forbidden('patient-reserved', `The patient has reserved against ${serviceDefinition(service).name.en}: no such data is kept`, resource.resourceType);
  if (p.kind === 'citizen') {
    if (!ctx.citizenWritableTypes.includes(resource.resourceType) || !grant.services.has(service))
      throw forbidden('write-not-allowed', `Citizens cannot ${action} ${resource.resourceType}`, resource.resourceType);
    return stampCitizenAuthor(serviceWriteRules(ctx, resource, action, grant, service, previous?.resource));
  }
  return stampOwner(ctx, serviceWriteRules(ctx, resource, action, grant, service, previous?.resource));
}

/**
 * Changing or deleting a stored version needs the right to see it (hidden data does not exist for
 * the caller: 404, as a read would answer), and citizens change only what citizens registered.
 */
function mayReplace(ctx: AccessContext, previous: { resource: Resource; compartment: string | null }): void {
  const p = ctx.principal;
  if (p.kind === 'admin') return;
  const grant = grantFor(ctx, previous.compartment);
  if (grant === 'any') {
    if (ctx.ownerOrganisation && (!resourceOwnedBy(previous.resource, ctx.ownerOrganisation) || hasRestrictedLabel(previous.resource))) throw notVisible();
    return;
  }
  if (!previous.compartment) {
    if (p.kind === 'citizen') throw notVisible();
    return;
  }
  if (!grant || !grantAllows(ctx, grant, previous.resource)) throw notVisible();
  if (p.kind === 'citizen' && !writtenByCitizen(previous.resource))
    throw forbidden('not-citizen-data', `Citizens can change only what citizens registered; this ${previous.resource.resourceType} was registered by health personnel or a system`, previous.resource.resourceType);
}

/** Marks what a citizen writes, so citizens may later change it and nothing else. */
export const AUTHOR_KIND_TAG_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/author-kind';

function writtenByCitizen(resource: Resource): boolean {
  return (resource.meta?.tag ?? []).some((t) => t.system === AUTHOR_KIND_TAG_SYSTEM && t.code === 'citizen');
}

function stampCitizenAuthor<T extends Resource>(resource: T): T {
  if (writtenByCitizen(resource)) return resource;
  return { ...resource, meta: { ...resource.meta, tag: [...(resource.meta?.tag ?? []), { system: AUTHOR_KIND_TAG_SYSTEM, code: 'citizen' }] } };
}

function serviceWriteRules<T extends Resource>(ctx: AccessContext, resource: T, action: WriteAction, grant: PatientGrant | 'any', service: ServiceCode, previous?: Resource): T {
  let r: Resource = resource;
  for (const rule of rulesFor(service)) if (rule.beforeWrite) r = rule.beforeWrite(r, action, ctx, grant, previous);
  return r as T;
}


function stampOwner<T extends Resource>(ctx: AccessContext, resource: T): T {
  const p = ctx.principal;
  const orgnr = p.kind === 'system' ? p.childOrganisation ?? p.organisation : p.kind === 'practitioner' ? p.organisation : undefined;
  if (!orgnr) return resource;
  const tags = (resource.meta?.tag ?? []).filter((t) => t.system !== ORGNR_SYSTEM);
  return { ...resource, meta: { ...resource.meta, tag: [...tags, { system: ORGNR_SYSTEM, code: orgnr }] } };
}

/**
 * How many resources of a type the caller is not shown only because the patient restricted them
 * (for NHN's `NHN-SecurityLabel-Nors-Count` header): exactly the rows FORHOYET_* would open.
 * Reserved data does not exist and is not counted, nor is data a service's own rule hides (a
 * document outside its time window), which FORHOYET_* would not open either.
 */
export async function restrictedHiddenCount(ctx: AccessContext, db: Queryable, resourceType: string): Promise<number> {
  if (ctx.patients === 'any') return 0;
  let total = 0;
  for (const g of ctx.patients) {
    if (g.includeRestricted) continue;
    const q = sql`select count(*)::int as n from resource r where r.type = ${resourceType} and not r.deleted
      and ${grantSql(ctx, { ...g, includeRestricted: true }, 'r')} and not ${grantSql(ctx, g, 'r')}`.toQuery();
    const [{ n }] = await db.query<{ n: number }>(q.text, q.values);
    total += Number(n);
  }
  return total;
}
