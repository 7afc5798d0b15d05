/**
 * A server process for the audit durability test: the access test app on a file-backed PGlite
 * (AUDIT_DATA_DIR) or a PostgreSQL schema (AUDIT_PG_URL + AUDIT_PG_SCHEMA). Prints its port.
 */
import Fastify from 'fastify';
import { openPglite, openPostgres } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { devAuthority } from '../../src/access/dev-authority.ts';
import { loadAccessConfig } from '../../src/access/config.ts';
import { authPlugin } from '../../src/api/auth.ts';
import { fakeRegistry, seedAccessData } from './access-fixtures.ts';

const dataDir = process.env.AUDIT_DATA_DIR!;
const db = process.env.AUDIT_PG_URL ? await openPostgres(process.env.AUDIT_PG_URL, process.env.AUDIT_PG_SCHEMA) : await openPglite(`${dataDir}/db`);
await migrate(db);
const [{ n }] = await db.query<{ n: number }>('select count(*)::int as n from resource');
if (Number(n) === 0) await seedAccessData(db);
const authority = await devAuthority(process.env.AUDIT_ISSUER!, dataDir);
const app = Fastify({ logger: false, requestIdHeader: 'x-request-id' });
await app.register(authPlugin, { db, registry: fakeRegistry(), baseUrl: 'http://127.0.0.1', config: { ...loadAccessConfig({}), issuers: [] }, devAuthority: authority, rateLimitPerMinute: 0 });
app.get('/fhir/:type/:id', async (request, reply) => {
  const { type, id } = request.params as { type: string; id: string };
  const [row] = await db.query<{ content: string; compartment: string | null }>('select content, compartment from resource where type = $1 and id = $2', [type, id]);
  await request.access.checkRead(JSON.parse(row.content), row.compartment);
  return reply.header('content-type', 'application/fhir+json').send(row.content);
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`PORT ${(app.server.address() as any).port}\n`);
