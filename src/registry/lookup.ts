import type { Organization, Patient, Practitioner, PractitionerRole, RelatedPerson, Resource } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.ts';
import { findMatches } from '../store/search/index.ts';
import { addressKey, addressProtectionOf } from './resources.ts';
import { EXT, SYSTEM, type AddressProtection } from './systems.ts';
import { canonicalSystem } from './identifiers.ts';

/**
 * The registry facts the access rules and services need, read from the stored registry
 * resources (see docs/registries.md for their representation). Lookups go through the search
 * index (identifier, patient, practitioner and general-practitioner parameters), so each is a
 * few indexed queries; results are cached for a short TTL because access checks repeat them
 * within one request and across a burst of requests.
 */

export interface PersonFacts {
  patientId: string;
  nin: string;
  birthDate: string;
  deceased: boolean;
  addressProtection: AddressProtection;
  /** Equal for people registered at the same address; absent when the address is unknown or strictly confidential. */
  addressKey?: string;
  parents: { nin: string; parentalResponsibility: boolean; sameAddress: boolean }[];
  /** Powers of attorney this person has given that are in force. */
  powersOfAttorney: { holderNin: string; kind: 'ordinary' | 'assigned'; validUntil?: string }[];
  gp?: { hpr: string; since: string };
}

export interface PractitionerFacts {
  practitionerId: string;
  hpr: string;
  /** Authorisation categories (kodeverk 9060: LE, SP, FA1, …). */
  authorisations: string[];
  /** Organisation numbers of the organisations the practitioner works in, and of those they are part of. */
  organisations: string[];
}

export interface OrganisationFacts {
  organizationId: string;
  name?: string;
  kind?: string;
  orgnr?: string;
  herId?: string;
  resh?: string;
  /** Organisation numbers of the organisations above it (partOf), nearest first. */
  parents: string[];
}

export interface RegistryLookup {
  person(nin: string): Promise<PersonFacts | undefined>;
  practitioner(hpr: string): Promise<PractitionerFacts | undefined>;
  /** Is this HPR number authorised in this 9060 category? */
  isAuthorised(hpr: string, category: string): Promise<boolean>;
  /** The minor children registered with this person as a parent. */
  childrenOf(nin: string): Promise<PersonFacts[]>;
  /** Powers of attorney in force that this person holds. */
  powersHeldBy(nin: string): Promise<{ giverNin: string; kind: 'ordinary' | 'assigned'; validUntil?: string }[]>;
  /** The citizens on this GP's list. */
  patientsOfGp(hpr: string): Promise<{ patientId: string; nin: string; since: string }[]>;
  organisationByHerId(herId: string): Promise<OrganisationFacts | undefined>;
  /** Forgets cached answers (after registry changes). */
  clear(): void;
}

const NIN_SYSTEMS: string[] = [SYSTEM.fnr, SYSTEM.dnr, SYSTEM.fhn];
/** A list far longer than any GP's, so patientsOfGp never truncates. */
const ALL = 1_000_000;

export function createRegistryLookup(
  db: Queryable,
  opts: { ttlMs?: number; maxEntries?: number; today?: () => string } = {}
): RegistryLookup {
  const ttl = opts.ttlMs ?? 5000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const today = opts.today ?? (() => new Date().toISOString().slice(0, 10));
  const cache = new Map<string, { expires: number; value: Promise<unknown> }>();

  function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.expires > now) return hit.value as Promise<T>;
    if (cache.size >= maxEntries) cache.clear();
    const value = load();
    cache.set(key, { expires: now + ttl, value });
    value.catch(() => cache.delete(key));
    return value;
  }

  async function find<T extends Resource>(type: T['resourceType'], params: [string, string][]): Promise<T[]> {
    const matches = await findMatches(db, type, params, ALL);
    return loadByRid<T>(matches.map((m) => m.rid));
  }

  async function loadByRid<T extends Resource>(rids: number[]): Promise<T[]> {
    if (!rids.length) return [];
    const rows = await db.query<{ content: string }>(`select content from resource where rid = any($1::bigint[]) and not deleted order by rid`, [rids]);
    return rows.map((r) => JSON.parse(r.content) as T);
  }

  async function read<T extends Resource>(type: T['resourceType'], id: string): Promise<T | undefined> {
    const [row] = await db.query<{ content: string }>(`select content from resource where type = $1 and id = $2 and not deleted`, [type, id]);
    return row && (JSON.parse(row.content) as T);
  }

  const readRef = <T extends Resource>(type: T['resourceType'], reference: string | undefined) =>
    reference?.startsWith(`${type}/`) ? read<T>(type, reference.slice(type.length + 1)) : Promise.resolve(undefined);

  const patientByNin = (nin: string) =>
    cached(`patient:${nin}`, async () => {
      const found = await find<Patient>('Patient', [['identifier', nin]]);
      return found.find((p) => ninOf(p) === nin);
    });

  const relationsOf = (patientId: string) => find<RelatedPerson>('RelatedPerson', [['patient', `Patient/${patientId}`]]);

  const practitionerByHpr = (hpr: string) =>
    cached(`practitioner:${hpr}`, async () => {
      const found = await find<Practitioner>('Practitioner', [['identifier', `${SYSTEM.hpr}|${hpr}`]]);
      return found[0];
    });

  const hprOf = (p: Practitioner | undefined) => p?.identifier?.find((i) => i.system === SYSTEM.hpr)?.value;

  async function gpOf(patient: Patient): Promise<PersonFacts['gp']> {
    const entry = patient.generalPractitioner?.find((g) => g.reference?.startsWith('PractitionerRole/') || g.reference?.startsWith('Practitioner/'));
    if (!entry?.reference) return undefined;
    const since = entry.extension?.find((e) => e.url === EXT.gpPeriod)?.valuePeriod?.start ?? '';
    const role = await readRef<PractitionerRole>('PractitionerRole', entry.reference);
    const practitioner = await readRef<Practitioner>('Practitioner', role ? role.practitioner?.reference : entry.reference);
    const hpr = hprOf(practitioner);
    return hpr ? { hpr, since } : undefined;
  }

  const inForce = (r: RelatedPerson) => r.active !== false && !(r.period?.end && r.period.end < today());

  async function facts(patient: Patient): Promise<PersonFacts> {
    const key = addressKey(homeAddressOf(patient));
    const protection = addressProtectionOf(patient);
    const relations = await relationsOf(patient.id!);
    const parents = await Promise.all(
      relations.filter((r) => inForce(r) && parentRole(r)).map(async (r) => {
        const nin = relatedNin(r);
        const parent = nin ? await patientByNin(nin) : undefined;
        const parentKey = parent && addressKey(homeAddressOf(parent));
        return {
          nin: nin ?? '',
          parentalResponsibility: hasResponsibility(r),
          sameAddress: !!key && key === parentKey,
        };
      })
    );
    const powersOfAttorney = relations
      .filter((r) => inForce(r) && powerKind(r))
      .map((r) => ({ holderNin: relatedNin(r) ?? '', kind: powerKind(r)!, ...(r.period?.end ? { validUntil: r.period.end } : {}) }));
    const gp = await gpOf(patient);
    return {
      patientId: patient.id!,
      nin: ninOf(patient) ?? '',
      birthDate: patient.birthDate ?? '',
      deceased: !!patient.deceasedBoolean || !!patient.deceasedDateTime,
      addressProtection: protection,
      ...(key && protection !== 'strengt_fortrolig' ? { addressKey: key } : {}),
      parents: parents.filter((p) => p.nin),
      powersOfAttorney,
      ...(gp ? { gp } : {}),
    };
  }

  async function organisation(org: Organization): Promise<OrganisationFacts> {
    const parents: string[] = [];
    const seen = new Set([org.id]);
    for (let ref = org.partOf?.reference; ref; ) {
      const parent = await cached(`org:${ref}`, () => readRef<Organization>('Organization', ref));
      if (!parent || seen.has(parent.id)) break;
      seen.add(parent.id);
      const orgnr = idOf(parent, SYSTEM.orgnr);
      if (orgnr) parents.push(orgnr);
      ref = parent.partOf?.reference;
    }
    return {
      organizationId: org.id!,
      name: org.name,
      kind: org.type?.flatMap((t) => t.coding ?? []).find((c) => c.system === SYSTEM.organizationKind)?.code,
      orgnr: idOf(org, SYSTEM.orgnr),
      herId: idOf(org, SYSTEM.herId),
      resh: idOf(org, SYSTEM.resh),
      parents,
    };
  }

  const lookup: RegistryLookup = {
    person: (nin) =>
      cached(`person:${nin}`, async () => {
        const p = await patientByNin(nin);
        return p && facts(p);
      }),

    practitioner: (hpr) =>
      cached(`practitionerFacts:${hpr}`, async () => {
        const p = await practitionerByHpr(hpr);
        if (!p) return undefined;
        const roles = (await find<PractitionerRole>('PractitionerRole', [['practitioner', `Practitioner/${p.id}`]])).filter(
          (r) => r.active !== false && !(r.period?.end && r.period.end < today())
        );
        const authorisations = new Set<string>();
        for (const q of p.qualification ?? []) {
          if (q.period?.end && q.period.end < today()) continue;
          for (const c of q.code.coding ?? []) if (c.system === SYSTEM.category9060 && c.code) authorisations.add(c.code);
        }
        const organisations: string[] = [];
        for (const role of roles) {
          const org = await cached(`org:${role.organization?.reference}`, () => readRef<Organization>('Organization', role.organization?.reference));
          if (!org) continue;
          const f = await organisation(org);
          for (const n of [f.orgnr, ...f.parents]) if (n && !organisations.includes(n)) organisations.push(n);
        }
        return { practitionerId: p.id!, hpr, authorisations: [...authorisations], organisations };
      }),

    async isAuthorised(hpr, category) {
      return (await lookup.practitioner(hpr))?.authorisations.includes(category) ?? false;
    },

    childrenOf: (nin) =>
      cached(`children:${nin}`, async () => {
        const relations = await find<RelatedPerson>('RelatedPerson', [['identifier', nin]]);
        const children: PersonFacts[] = [];
        for (const r of relations.filter((r) => inForce(r) && parentRole(r) && relatedNin(r) === nin)) {
          const child = await readRef<Patient>('Patient', r.patient.reference);
          if (child) children.push(await facts(child));
        }
        return children;
      }),

    powersHeldBy: (nin) =>
      cached(`powersHeld:${nin}`, async () => {
        const relations = await find<RelatedPerson>('RelatedPerson', [['identifier', nin]]);
        const out: { giverNin: string; kind: 'ordinary' | 'assigned'; validUntil?: string }[] = [];
        for (const r of relations.filter((r) => inForce(r) && powerKind(r) && relatedNin(r) === nin)) {
          const giver = await readRef<Patient>('Patient', r.patient.reference);
          const giverNin = giver && ninOf(giver);
          if (giverNin) out.push({ giverNin, kind: powerKind(r)!, ...(r.period?.end ? { validUntil: r.period.end } : {}) });
        }
        return out;
      }),

    patientsOfGp: (hpr) =>
      cached(`gpList:${hpr}`, async () => {
        const p = await practitionerByHpr(hpr);
        if (!p) return [];
        const roles = await find<PractitionerRole>('PractitionerRole', [['practitioner', `Practitioner/${p.id}`]]);
        const out: { patientId: string; nin: string; since: string }[] = [];
        for (const role of roles) {
          for (const patient of await find<Patient>('Patient', [['general-practitioner', `PractitionerRole/${role.id}`]])) {
            const entry = patient.generalPractitioner?.find((g) => g.reference === `PractitionerRole/${role.id}`);
            out.push({
              patientId: patient.id!,
              nin: ninOf(patient) ?? '',
              since: entry?.extension?.find((e) => e.url === EXT.gpPeriod)?.valuePeriod?.start ?? '',
            });
          }
        }
        return out;
      }),

    organisationByHerId: (herId) =>
      cached(`her:${herId}`, async () => {
        const [org] = await find<Organization>('Organization', [['identifier', `${SYSTEM.herId}|${herId}`]]);
        return org && organisation(org);
      }),

    clear: () => cache.clear(),
  };
  return lookup;
}

function ninOf(p: Patient): string | undefined {
  return p.identifier?.find((i) => NIN_SYSTEMS.includes(canonicalSystem(i.system) ?? ''))?.value;
}

function relatedNin(r: RelatedPerson): string | undefined {
  return r.identifier?.find((i) => NIN_SYSTEMS.includes(canonicalSystem(i.system) ?? ''))?.value;
}

function idOf(r: { identifier?: { system?: string; value?: string }[] }, system: string): string | undefined {
  return r.identifier?.find((i) => i.system === system)?.value;
}

function homeAddressOf(p: Patient) {
  return p.address?.find((a) => a.use === 'home' && !a.period?.end) ?? p.address?.find((a) => a.use !== 'old');
}

const codings = (r: RelatedPerson) => (r.relationship ?? []).flatMap((c) => c.coding ?? []);

function parentRole(r: RelatedPerson): boolean {
  return codings(r).some((c) => c.system === SYSTEM.familyRelation && ['mor', 'far', 'medmor'].includes(c.code ?? ''));
}

/**
 * The parental-responsibility code names who holds it: 'felles' (both parents), or one role
 * (mor, far, medmor). A parent holds it when the code is 'felles' or their own role.
 */
function hasResponsibility(r: RelatedPerson): boolean {
  const role = codings(r).find((c) => c.system === SYSTEM.familyRelation)?.code;
  return codings(r).some((c) => c.system === SYSTEM.parentalResponsibility && (c.code === 'felles' || c.code === role));
}

function powerKind(r: RelatedPerson): 'ordinary' | 'assigned' | undefined {
  const code = codings(r).find((c) => c.system === SYSTEM.powerOfAttorney)?.code;
  return code === 'ordinary' || code === 'assigned' ? code : undefined;
}
