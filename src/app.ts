import type { FastifyInstance } from 'fastify';
import type { OperationOutcomeIssue, Resource, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import type { Config } from './config.ts';
import { openDb, type Db } from './store/db.ts';
import { migrate } from './store/migrate.ts';
import { createRepository, type Repository, type RepositoryOptions } from './store/repository.ts';
import { createValidator, hasErrors } from './fhir/validation.ts';
import { validationThreads } from './fhir/validation-threads.ts';
import { checkNorwegianIdentifiers } from './registry/identifiers.ts';
import { buildServer } from './api/server.ts';
import { registerSearchParameter } from './fhir/search-parameters.ts';
import { loadCustomSearchParameters } from './store/search/reindex.ts';
import type { DevAuthority } from './access/dev-authority.ts';
import { SERVICE_MODULES } from './services/index.ts';
import { takeTurns } from './event-loop.ts';

export interface Platform {
  config: Config;
  db: Db;
  repo: Repository;
  server: FastifyInstance;
  close(): Promise<void>;
}

/** The identifier and service checks of a bulk write let other requests in after this many resources. */
const CHECKS_PER_TURN = 1000;

/**
 * The composition root: one database, one repository with validation and identifier checks on
 * every write, and the HTTP server on top. Profiles stored on the server are loaded at start and
 * whenever one is written, so validation against meta.profile follows the data.
 */
export async function createPlatform(
  config: Config,
  o: { db?: Db; repository?: Partial<RepositoryOptions>; auth?: 'on' | 'off'; devAuthority?: DevAuthority; clock?: () => Date } = {}
): Promise<Platform> {
  const db = o.db ?? (await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  await migrate(db);
  const validator = validationThreads(createValidator(), config.validationThreads);
  for (const m of SERVICE_MODULES)
    for (const sd of m.profiles?.() ?? []) for (const warning of validator.addProfile(sd)) console.warn(warning.diagnostics);
  for (const row of await db.query<{ content: string }>(`select content from resource where type = 'StructureDefinition' and deleted = false`)) {
    const sd = JSON.parse(row.content) as StructureDefinition;
    for (const warning of validator.addProfile(sd)) console.warn(warning.diagnostics);
  }
  // SearchParameters posted to the server take effect for new writes (reindex for old data).
  await loadCustomSearchParameters(db);
  // The identifier and service checks read the resource as R4 shapes it: only once it is.
  const beyondR4 = (r: Resource, base: OperationOutcomeIssue[]) =>
    hasErrors(base) ? base : [...base, ...checkNorwegianIdentifiers(r, { testData: config.testData }), ...SERVICE_MODULES.flatMap((m) => m.validate?.(r) ?? [])];
  const repo = await createRepository(db, {
    validate: (r) => beyondR4(r, validator.validate(r)),
    validateMany: async (rs) => {
      const base = await validator.validateMany(rs);
      const issues: OperationOutcomeIssue[][] = [];
      for (let i = 0; i < rs.length; i++) {
        // Thousands of resources at once: other requests take turns (validationThreads does too).
        if (i > 0 && i % CHECKS_PER_TURN === 0) await takeTurns();
        issues.push(beyondR4(rs[i], base[i]));
      }
      return issues;
    },
    clock: o.clock,
    // Registered only once committed: a rolled-back write must leave no parameter or profile behind.
    afterWrite: async (tx, r, method) => {
      for (const m of SERVICE_MODULES) await m.afterWrite?.(tx, r, method, config);
    },
    afterCommit: async (written) => {
      for (const m of SERVICE_MODULES) await m.afterCommit?.(written, config);
      for (const { resource: r, method } of written) {
        if (r.resourceType === 'SearchParameter' && method !== 'DELETE') registerSearchParameter(r as SearchParameter);
        if (r.resourceType !== 'StructureDefinition') continue;
        if (method === 'DELETE') {
          // The tombstone has no url; the version before it does.
          const [prev] = await db.query<{ content: string }>(
            `select h.content from resource r join resource_history h on h.rid = r.rid
              where r.type = 'StructureDefinition' and r.id = $1 and h.content is not null order by h.version desc limit 1`,
            [r.id]
          );
          const url = prev && (JSON.parse(prev.content) as StructureDefinition).url;
          if (url) validator.removeProfile(url);
          continue;
        }
        // A profile the validator cannot use is stored all the same; the warning says why.
        validator.addProfile(r as StructureDefinition);
      }
    },
    ...o.repository,
  });
  // Catalogues and definitions the services need; unchanged ones make no new version.
  const referenceData = SERVICE_MODULES.flatMap((m) => m.referenceData?.() ?? []);
  if (referenceData.length) await repo.putMany(referenceData, { referentialIntegrity: false });
  const server = await buildServer({ config, repo, auth: o.auth, devAuthority: o.devAuthority, clock: o.clock });
  return {
    config,
    db,
    repo,
    server,
    async close() {
      await server.close();
      validator.close();
      await db.close();
    },
  };
}
