import { ConfigError, loadConfig } from '../config.ts';
import { createPlatform } from '../app.ts';
import { SchemaTooNewError } from '../store/migrate.ts';
import { seedAndRecord } from './seed.ts';
import { formatIdentities, storedIdentities } from './identities.ts';

try {
  const config = loadConfig();
  const platform = await createPlatform(config);
  const [{ n }] = await platform.db.query<{ n: number }>(`select count(*)::int as n from resource where type = 'Patient'`);
  if (n === 0 && config.seedPersons > 0) {
    console.log(`The database is empty: generating ${config.seedPersons} synthetic citizens (seed ${config.seed}); SEED_PERSONS=0 skips this.`);
    await seedAndRecord(platform.repo, config, { persons: config.seedPersons, seed: config.seed, referenceDate: config.seedReferenceDate });
  }
  const identities = config.databaseUrl ? undefined : storedIdentities(config.dataDir);
  if (identities) console.log(`Test identities (npm run identities; npm run token -- --help):\n${formatIdentities(identities)}`);
  await platform.server.listen({ port: config.port, host: config.host });
  const where = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`;
  console.log(`Samhandling FHIR R4 server on ${config.baseUrl}/fhir, storage: ${where}`);
  const stop = async () => {
    await platform.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  if (err instanceof SchemaTooNewError || err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
