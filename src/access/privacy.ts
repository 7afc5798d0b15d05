import type { Consent, ConsentProvision } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcome.ts';
import type { Queryable } from '../store/db.ts';
import { HPR_SYSTEM, NIN_SYSTEM } from './principal.ts';
import { isServiceCode, SERVICE_TAG_SYSTEM, serviceDefinition, type ServiceCode } from './services.ts';

/**
 * The citizen's privacy settings (domain.md §0): reservation per service, restriction per service
 * or of everything, and blocked health personnel. Exposed as one `Consent` per citizen
 * (id `privacy-<patient id>`), each setting a deny provision whose action says which kind it is.
 */
export interface PrivacySettings {
  reserved: ServiceCode[];
  restrictAll: boolean;
  restricted: ServiceCode[];
  blockedHpr: string[];
  version: number;
  lastUpdated?: string;
}

export const PRIVACY_ACTION_SYSTEM = 'https://samhandling.dev/fhir/CodeSystem/privacy-action';
export const PRIVACY_POLICY_URI = 'https://samhandling.dev/fhir/privacy-settings';

export const NO_PRIVACY_SETTINGS: PrivacySettings = { reserved: [], restrictAll: false, restricted: [], blockedHpr: [], version: 0 };

export function isRestricting(s: PrivacySettings): boolean {
  return s.restrictAll || s.restricted.length > 0;
}

export function privacyConsentId(patientId: string): string {
  return `privacy-${patientId}`;
}

export function toConsent(patientId: string, nin: string, s: PrivacySettings): Consent {
  const services = (codes: ServiceCode[]) => codes.map((code) => ({ coding: [{ system: SERVICE_TAG_SYSTEM, code }] }));
  const action = (code: string) => [{ coding: [{ system: PRIVACY_ACTION_SYSTEM, code }] }];
  const provisions: ConsentProvision[] = [];
  if (s.reserved.length) provisions.push({ type: 'deny', action: action('reserve'), code: services(s.reserved) });
  if (s.restrictAll) provisions.push({ type: 'deny', action: action('restrict') });
  else if (s.restricted.length) provisions.push({ type: 'deny', action: action('restrict'), code: services(s.restricted) });
  for (const hpr of s.blockedHpr)
    provisions.push({
      type: 'deny',
      action: action('block'),
      actor: [
        {
          role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'PRCP' }] },
          reference: { identifier: { system: HPR_SYSTEM, value: hpr } },
        },
      ],
    });
  return {
    resourceType: 'Consent',
    id: privacyConsentId(patientId),
    ...(s.version ? { meta: { versionId: String(s.version), lastUpdated: s.lastUpdated } } : {}),
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0', display: 'Patient Consent' }] }],
    patient: { reference: `Patient/${patientId}`, identifier: { system: NIN_SYSTEM, value: nin } },
    dateTime: s.lastUpdated,
    policy: [{ uri: PRIVACY_POLICY_URI }],
    provision: { type: 'permit', ...(provisions.length ? { provision: provisions } : {}) },
  };
}

/** Reads settings from a Consent a citizen sent; bad input is a 400 naming the offending element. */
export function fromConsent(consent: any): Omit<PrivacySettings, 'version'> {
  if (consent?.resourceType !== 'Consent') throw badRequest('privacy-not-consent', 'Privacy settings are a Consent resource', 'resourceType');
  const out = { reserved: [] as ServiceCode[], restrictAll: false, restricted: [] as ServiceCode[], blockedHpr: [] as string[] };
  const blocked = new Set<string>();
  const subs: any[] = consent.provision?.provision ?? [];
  if (!Array.isArray(subs)) throw badRequest('privacy-bad-provision', 'provision.provision must be a list', 'Consent.provision.provision');
  subs.forEach((p, i) => {
    const where = `Consent.provision.provision[${i}]`;
    if (p?.type !== 'deny') throw badRequest('privacy-bad-provision', 'Every privacy provision is of type deny', `${where}.type`);
    const kind = (p.action ?? []).flatMap((a: any) => a?.coding ?? []).find((c: any) => c?.system === PRIVACY_ACTION_SYSTEM)?.code;
    const codes: string[] = (p.code ?? []).flatMap((c: any) => c?.coding ?? []).filter((c: any) => c?.system === SERVICE_TAG_SYSTEM).map((c: any) => c.code);
    codes.forEach((c, j) => {
      if (!isServiceCode(c)) throw badRequest('privacy-unknown-service', `Unknown service '${c}'`, `${where}.code[${j}]`);
    });
    if (kind === 'reserve') {
      if (!codes.length) throw badRequest('privacy-bad-provision', 'A reservation names the services it applies to', `${where}.code`);
      for (const c of codes as ServiceCode[]) {
        if (!serviceDefinition(c).reservable) throw badRequest('privacy-not-reservable', `The service '${c}' cannot be reserved against`, `${where}.code`);
        if (!out.reserved.includes(c)) out.reserved.push(c);
      }
    } else if (kind === 'restrict') {
      if (!codes.length) out.restrictAll = true;
      for (const c of codes as ServiceCode[]) {
        if (!serviceDefinition(c).restrictable) throw badRequest('privacy-not-restrictable', `The service '${c}' cannot be restricted`, `${where}.code`);
        if (!out.restricted.includes(c)) out.restricted.push(c);
      }
    } else if (kind === 'block') {
      const hprs = (p.actor ?? []).map((a: any) => a?.reference?.identifier).filter((id: any) => id?.system === HPR_SYSTEM).map((id: any) => String(id.value ?? ''));
      if (!hprs.length || hprs.some((h: string) => !/^\d{4,9}$/.test(h)))
        throw badRequest('privacy-bad-hpr', 'A block names HPR numbers (actor.reference.identifier)', `${where}.actor`);
      // A Set beside the list: a citizen's PUT may name many numbers, and includes() per number was quadratic.
      for (const h of hprs) {
        if (blocked.has(h)) continue;
        blocked.add(h);
        out.blockedHpr.push(h);
      }
    } else {
      throw badRequest('privacy-bad-action', `The provision's action must be reserve, restrict or block (${PRIVACY_ACTION_SYSTEM})`, `${where}.action`);
    }
  });
  if (out.restrictAll) out.restricted = [];
  return out;
}

function rowToSettings(r: any): PrivacySettings {
  const arr = (v: any) => (typeof v === 'string' ? JSON.parse(v) : v ?? []);
  return {
    reserved: arr(r.reserved),
    restrictAll: !!r.restrict_all,
    restricted: arr(r.restricted),
    blockedHpr: arr(r.blocked_hpr),
    version: Number(r.version),
    lastUpdated: new Date(r.last_updated).toISOString(),
  };
}

/**
 * Settings read by the policy on every request, kept per database for a moment: savePrivacy in
 * this process drops the entry when it commits, so a change made through this server applies to
 * the very next request. Writes from elsewhere (another server process on the same database) are
 * seen once the entry expires, after at most PRIVACY_CACHE_MS.
 */
const PRIVACY_CACHE_MS = 1000;
interface PrivacyCache {
  entries: Map<string, { settings: PrivacySettings; until: number }>;
  /** Bumped by every save, so a load that raced a save does not store what it read before it. */
  generation: number;
}
const caches = new WeakMap<object, PrivacyCache>();

function cacheFor(db: object): PrivacyCache {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = { entries: new Map(), generation: 0 }));
  return c;
}

export async function loadPrivacy(db: Queryable, compartment: string): Promise<PrivacySettings> {
  const cache = cacheFor(db);
  const now = Date.now();
  const hit = cache.entries.get(compartment);
  if (hit && hit.until > now) return hit.settings;
  const generation = cache.generation;
  const [row] = await db.query('select * from privacy_setting where compartment = $1', [compartment]);
  const settings = row ? rowToSettings(row) : NO_PRIVACY_SETTINGS;
  if (cache.generation === generation) {
    if (cache.entries.size >= 50_000) cache.entries.clear();
    cache.entries.set(compartment, { settings, until: now + PRIVACY_CACHE_MS });
  }
  return settings;
}

function forget(db: object, compartment: string): void {
  const cache = cacheFor(db);
  cache.generation++;
  cache.entries.delete(compartment);
}

/** Stores a new version; the effect is immediate: the cached settings of this patient are dropped on commit. */
export async function savePrivacy(
  db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  compartment: string,
  nin: string,
  settings: Omit<PrivacySettings, 'version' | 'lastUpdated'>
): Promise<PrivacySettings> {
  forget(db, compartment);
  try {
    return await storePrivacy(db, compartment, nin, settings);
  } finally {
    forget(db, compartment);
  }
}

async function storePrivacy(
  db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  compartment: string,
  nin: string,
  settings: Omit<PrivacySettings, 'version' | 'lastUpdated'>
): Promise<PrivacySettings> {
  return db.transaction(async (tx) => {
    const [prev] = await tx.query<{ version: number }>('select version from privacy_setting where compartment = $1 for update', [compartment]);
    const version = (prev ? Number(prev.version) : 0) + 1;
    const lastUpdated = new Date().toISOString();
    const full: PrivacySettings = { ...settings, version, lastUpdated };
    const content = JSON.stringify(toConsent(compartment, nin, full));
    const params = [compartment, nin, version, lastUpdated, settings.restrictAll, JSON.stringify(settings.restricted), JSON.stringify(settings.reserved), JSON.stringify(settings.blockedHpr), content];
    await tx.query(
      `insert into privacy_setting (compartment, nin, version, last_updated, restrict_all, restricted, reserved, blocked_hpr, content)
       values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9)
       on conflict (compartment) do update set nin = excluded.nin, version = excluded.version, last_updated = excluded.last_updated,
         restrict_all = excluded.restrict_all, restricted = excluded.restricted, reserved = excluded.reserved,
         blocked_hpr = excluded.blocked_hpr, content = excluded.content`,
      params
    );
    await tx.query('insert into privacy_setting_history (compartment, version, last_updated, content) values ($1, $2, $3, $4)', [compartment, version, lastUpdated, content]);
    return full;
  });
}
