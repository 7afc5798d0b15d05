import { loadConfig } from '../config.ts';
import { createPlatform } from '../app.ts';
import { SchemaTooNewError } from '../store/migrate.ts';

const config = loadConfig();
try {
  const platform = await createPlatform(config);
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
  if (err instanceof SchemaTooNewError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
