import type { AccessConfig } from './config.ts';
import type { PersonFacts, RegistryLookup } from './registry-port.ts';
import { ALL_SERVICES, type ServiceCode } from './services.ts';

/** A person whose data a citizen may see, and how much of it (domain.md §0, representation). */
export interface Representation {
  person: PersonFacts;
  relation: 'self' | 'parent' | 'power-of-attorney';
  services: Set<ServiceCode>;
  /** May change the person's privacy settings (reservations, consents). */
  mayManagePrivacy: boolean;
}

/** Whole years between birthDate and `on` (both YYYY-MM-DD). */
export function ageOn(birthDate: string | null | undefined, on: Date): number | undefined {
  if (!birthDate) return undefined;
  const [y, m, d] = birthDate.slice(0, 10).split('-').map(Number);
  const today = { y: on.getUTCFullYear(), m: on.getUTCMonth() + 1, d: on.getUTCDate() };
  let age = today.y - y;
  if (today.m < m || (today.m === m && today.d < d)) age--;
  return age;
}

const everyService = () => new Set(ALL_SERVICES.map((s) => s.code));

function confidential(p: PersonFacts, cfg: AccessConfig): boolean {
  return !!p.addressProtection && cfg.confidentialAddressLevels.includes(p.addressProtection);
}

/** What a parent may see of this child, or undefined when nothing. */
export function parentalAccess(child: PersonFacts, parentNin: string, cfg: AccessConfig, now: Date): Set<ServiceCode> | undefined {
  const link = child.parents.find((p) => p.nin === parentNin && p.parentalResponsibility);
  if (!link || confidential(child, cfg) || child.deceased) return undefined;
  const age = ageOn(child.birthDate, now);
  if (age === undefined || age >= cfg.ages.parentPartialAccessUnder) return undefined;
  const partial = age >= cfg.ages.parentFullAccessUnder;
  const services = ALL_SERVICES.filter(
    (s) => (!partial || s.parentKeepsAccessAged12to16) && (!s.parentMustShareAddress || link.sameAddress)
  ).map((s) => s.code);
  return new Set(services);
}

/** Whether `holder` (with birth date) holds a valid power of attorney from `giver`. */
export function powerOfAttorney(
  giver: PersonFacts,
  holderNin: string,
  holderBirthDate: string | null | undefined,
  cfg: AccessConfig,
  now: Date
): { kind: string } | undefined {
  if (confidential(giver, cfg)) return undefined;
  const power = giver.powersOfAttorney.find(
    (p) => p.holderNin === holderNin && (!p.validUntil || new Date(p.validUntil).getTime() >= now.getTime())
  );
  if (!power) return undefined;
  const giverAge = ageOn(giver.birthDate, now);
  const holderAge = ageOn(holderBirthDate, now);
  if (giverAge === undefined || giverAge < cfg.ages.powerGiverMin) return undefined;
  if (holderAge === undefined || holderAge < cfg.ages.powerHolderMin) return undefined;
  return { kind: power.kind };
}

/** Everyone the citizen may act for, themself included, with the services open for each. */
export async function representationsOf(
  citizenNin: string,
  registry: RegistryLookup,
  cfg: AccessConfig,
  now = new Date()
): Promise<Map<string, Representation>> {
  const out = new Map<string, Representation>();
  const self = await registry.person(citizenNin);
  if (!self) return out;
  out.set(self.nin, { person: self, relation: 'self', services: everyService(), mayManagePrivacy: true });
  for (const child of await registry.childrenOf(citizenNin)) {
    const services = parentalAccess(child, citizenNin, cfg, now);
    // Privacy choices for a 12–15-year-old are the young person's own.
    const young = (ageOn(child.birthDate, now) ?? 0) < cfg.ages.parentFullAccessUnder;
    if (services?.size) out.set(child.nin, { person: child, relation: 'parent', services, mayManagePrivacy: young });
  }
  for (const { giverNin } of await registry.powersHeldBy(citizenNin)) {
    if (out.has(giverNin)) continue;
    const giver = await registry.person(giverNin);
    if (!giver) continue;
    const power = powerOfAttorney(giver, citizenNin, self.birthDate, cfg, now);
    // Never more access than the represented person has: the citizen view of all their services.
    if (power)
      out.set(giver.nin, {
        person: giver,
        relation: 'power-of-attorney',
        services: everyService(),
        mayManagePrivacy: power.kind === 'assigned',
      });
  }
  return out;
}
