/**
 * What the access policy needs from the national registries (person registry, HPR, GP list,
 * power-of-attorney register). Implemented by src/registry/lookup.ts `createRegistryLookup(db)`;
 * declared here so the policy depends on the facts, not on how they are stored.
 */
export interface ParentLink {
  nin: string;
  parentalResponsibility: boolean;
  /** The parent lives at the child's registered address. */
  sameAddress: boolean;
}

export interface PowerOfAttorney {
  holderNin: string;
  /** 'ordinary' cannot give consents or reservations; 'assigned' (tildelt) is via the GP. */
  kind: 'ordinary' | 'assigned' | string;
  validUntil?: string | null;
}

export interface PersonFacts {
  patientId?: string | null;
  nin: string;
  birthDate?: string | null;
  deceased?: boolean | null;
  /** ugradert | klientadresse | fortrolig | strengt_fortrolig */
  addressProtection?: string | null;
  addressKey?: string | null;
  parents: ParentLink[];
  powersOfAttorney: PowerOfAttorney[];
  gp?: { hpr: string; since?: string | null } | null;
}

export interface PractitionerFacts {
  practitionerId?: string | null;
  hpr: string;
  /** Authorisation categories, codes of urn:oid:2.16.578.1.12.4.1.1.9060 (LE, SP, …). */
  authorisations: string[];
  /** Organisation numbers the person works for. */
  organisations: string[];
}

export interface RegistryLookup {
  person(nin: string): Promise<PersonFacts | undefined | null>;
  practitioner(hpr: string): Promise<PractitionerFacts | undefined | null>;
  childrenOf(nin: string): Promise<PersonFacts[]>;
  /** Powers of attorney in force that `nin` holds, by giver. */
  powersHeldBy(nin: string): Promise<{ giverNin: string; kind: string; validUntil?: string | null }[]>;
}
