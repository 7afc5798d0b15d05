import type { FastifyInstance } from 'fastify';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { Config } from '../config.ts';
import type { Method, Repository } from '../store/repository.ts';
import type { Queryable } from '../store/db.ts';
import type { RegistryLookup } from '../access/registry-port.ts';
import type { AccessContext, PatientGrant, WriteAction } from '../access/policy.ts';
import type { ServiceCode } from '../access/services.ts';
import type { Sql } from '../store/sql.ts';

/**
 * What a national service module (critical information, medication, documents, lab results, …)
 * adds to the shared core. Modules talk to each other only through FHIR resources; the core asks
 * them through these hooks and nothing else.
 */

/**
 * A service's own access rule, applied by the one policy (src/access/policy.ts) on top of the
 * common rules (grants, reservation, restriction, blocks) to every read, search, include,
 * $everything and history (`visible` in code, `visibleSql` compiled into SQL: the two must agree,
 * the policy matrix tests hold them to it) and to every write (`beforeWrite`).
 */
export interface ServiceRule {
  service: ServiceCode;
  /** True when the holder of this patient grant may see this resource of the service. */
  visible?(resource: Resource, grant: PatientGrant, ctx: AccessContext): boolean;
  /** The same decision as an SQL predicate over a `resource`/`resource_history` row alias. */
  visibleSql?(alias: string, grant: PatientGrant, ctx: AccessContext): Sql;
  /**
   * For a rule that decides from other stored resources (a lab report in document form follows
   * its DiagnosticReport): the code form of its visibleSql, which reads what it needs. A read by
   * id asks it after `visible`.
   */
  visibleGiven?(resource: Resource, grant: PatientGrant, ctx: AccessContext, db: Queryable): Promise<boolean>;
  /**
   * Every version written of this service's data through the API (not seeding or import) passes
   * here: throw a FhirError (use `forbidden` from src/access/errors.ts) to refuse, or return the
   * resource to store (e.g. stamped with who changed it). `grant` is 'any' for organisation-wide
   * systems. Administrators (AUTH=off) skip it. `previous` is the stored version an update or
   * delete replaces (e.g. to carry forward what only an operation may change).
   */
  beforeWrite?(resource: Resource, action: WriteAction, ctx: AccessContext, grant: PatientGrant | 'any', previous?: Resource): Resource;
}

/** What a module's routes and hooks get from the platform. */
export interface ServiceDeps {
  config: Config;
  repo: Repository;
  registry: RegistryLookup;
  /** The server's clock; tests inject one to move time. */
  clock: () => Date;
  /** Public FHIR base URL, e.g. http://localhost:8080/fhir. */
  fhirBase: () => string;
}

export interface ServiceModule {
  name: string;
  /**
   * Routes under /fhir (e.g. operations). They run behind the auth plugin: use `request.access`
   * for every decision, set `request.returnedResources` to what the response carries (that is
   * what gets audited), and `request.access.audit(...)` for anything else.
   */
  routes?(app: FastifyInstance, deps: ServiceDeps): Promise<void>;
  /** Profiles (StructureDefinitions) loaded into the validator at start. */
  profiles?(): StructureDefinition[];
  /** Extra checks on every write, whoever writes (API, import, seeding). Errors refuse the write. */
  validate?(resource: Resource): OperationOutcomeIssue[];
  /**
   * Inside the write transaction, after each stored version, whoever writes (API, import,
   * seeding): for the module's own tables, which must change with the resource.
   */
  afterWrite?(tx: Queryable, resource: Resource, method: Method, config: Config): Promise<void>;
  /** Once that transaction has committed (never after a rollback): for state outside the database. */
  afterCommit?(written: { resource: Resource; method: Method }[], config: Config): Promise<void>;
  /**
   * For `npm run export`: a service that keeps part of a resource outside it (a document's
   * content) puts it back into the exported resource, so that `npm run import` restores it.
   */
  exports?: { types: string[]; complete(resource: Resource, db: Queryable, config: Config): Promise<Resource> };
  /** Resources to store once at start (catalogues, definitions); stored with putMany, idempotent. */
  referenceData?(): Resource[];
  /** Clinical history for one synthetic citizen (deterministic in `rng`), stored with the population. */
  synthetic?(person: SyntheticPerson, world: SyntheticWorld, rng: SyntheticRng): Resource[];
}

/** One citizen of the synthetic population, as the service generators see them. */
export interface SyntheticPerson {
  patient: Resource & { resourceType: 'Patient' };
  patientId: string;
  nin: string;
  birthDate: string;
  gender: 'male' | 'female';
  /** Age in whole years on the reference date. */
  age: number;
  deceased: boolean;
  /** The citizen's GP, if on a list. */
  gp?: SyntheticClinician;
  /**
   * One of the documented test identities (README, npm run identities): generators give them a
   * history wherever they would give one only to some citizens, so every journey has data to show.
   */
  wellKnown: boolean;
}

export interface SyntheticClinician {
  practitionerId: string;
  roleId: string;
  hpr: string;
  /** Kodeverk 9060 category: LE doctor, SP nurse, JO midwife, FA1 pharmacist, BI bioengineer. */
  category: string;
  organizationId: string;
  orgnr: string;
}

export interface SyntheticOrganisation {
  organizationId: string;
  orgnr: string;
  name: string;
  /** Organisation kind code (src/registry/systems.ts ORGANIZATION_KINDS). */
  kind: string;
}

/** The population's organisations and personnel, known before any citizen is generated. */
export interface SyntheticWorld {
  /** The population's "today" (YYYY-MM-DD); every generated date lies on or before it. */
  referenceDate: string;
  organisations: SyntheticOrganisation[];
  /** Every practitioner role: hospital doctors, GPs, pharmacists, lab staff, nurses, midwives. */
  clinicians: (SyntheticClinician & { roleKind: string })[];
  /**
   * The clinicians of these categories (and role kind), worked out once: generators call this for
   * every citizen, and the lists do not change once the first citizen streams past.
   */
  cliniciansWhere(categories: string[], roleKind?: string): (SyntheticClinician & { roleKind: string })[];
  /** The organisations of a kind (e.g. 'laboratory'), worked out once. */
  organisationsOfKind(kind: string): SyntheticOrganisation[];
}

export interface SyntheticRng {
  next(): number;
  int(min: number, maxInclusive: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}
