import type { FastifyInstance } from 'fastify';
import type { Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { Config } from './config.ts';
import { openDb, type Db } from './store/db.ts';
import { migrate } from './store/migrate.ts';
import { createRepository, type Repository, type RepositoryOptions } from './store/repository.ts';
import { createValidator } from './fhir/validation.ts';
import { checkNorwegianIdentifiers } from './registry/identifiers.ts';
import { buildServer } from './api/server.ts';

export interface Platform {
  config: Config;
  db: Db;
  repo: Repository;
  server: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The composition root: one database, one repository with validation and identifier checks on
 * every write, and the HTTP server on top. Profiles stored on the server are loaded at start and
 * whenever one is written, so validation against meta.profile follows the data.
 */
export async function createPlatform(config: Config, o: { db?: Db; repository?: Partial<RepositoryOptions> } = {}): Promise<Platform> {
  const db = o.db ?? (await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }));
  await migrate(db);
  const validator = createValidator();
  for (const row of await db.query<{ content: string }>(`select content from resource where type = 'StructureDefinition' and deleted = false`)) {
    const sd = JSON.parse(row.content) as StructureDefinition;
    if (sd.snapshot || sd.differential) validator.addProfile(sd);
  }
  const repo = await createRepository(db, {
    validate: (r: Resource) => [...validator.validate(r), ...checkNorwegianIdentifiers(r, { testData: config.testData })],
    afterWrite: (_tx, r, method) => {
      if (r.resourceType !== 'StructureDefinition') return;
      const sd = r as StructureDefinition;
      if (method === 'DELETE') return; // tombstones carry no url; the profile stays until restart
      if (sd.url) validator.addProfile(sd);
    },
    ...o.repository,
  });
  const server = await buildServer({ config, repo });
  return {
    config,
    db,
    repo,
    server,
    async close() {
      await server.close();
      await db.close();
    },
  };
}
