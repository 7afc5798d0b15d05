import Fastify, { type FastifyInstance } from 'fastify';
import { authPlugin } from '../../src/api/auth.ts';
import { privacyRoutes } from '../../src/api/privacy-routes.ts';
import type { DevAuthority } from '../../src/access/dev-authority.ts';
import type { AccessConfig } from '../../src/access/config.ts';
import type { RegistryLookup } from '../../src/access/registry-port.ts';
import { FhirError, issue } from '../../src/fhir/outcome.ts';
import type { Db } from '../../src/store/db.ts';
import { search } from '../../src/store/search/index.ts';

export const BASE = 'http://samhandling.test';

/**
 * A minimal FHIR server around the auth plugin: read by id and search through the real search
 * engine, with the calls every route handler makes (checkRead, filterFor). Lets the access tests
 * run over HTTP independently of the full REST layer.
 */
export async function accessTestApp(opts: { db: Db; registry: RegistryLookup; authority: DevAuthority; config: AccessConfig }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.setErrorHandler((err: any, _request, reply) => {
    const e = err instanceof FhirError ? err : new FhirError(err.statusCode ?? 500, [issue('exception', 'error', err.message)]);
    reply.code(e.status).headers(e.headers).header('content-type', 'application/fhir+json').send(JSON.stringify(e.outcome));
  });
  await app.register(authPlugin, { db: opts.db, registry: opts.registry, baseUrl: BASE, config: opts.config, devAuthority: opts.authority, rateLimitPerMinute: 0 });
  await app.register(privacyRoutes, { db: opts.db, registry: opts.registry });
  app.get('/fhir/metadata', async () => ({ resourceType: 'CapabilityStatement' }));
  app.get('/fhir/:type/:id', async (request, reply) => {
    const { type, id } = request.params as { type: string; id: string };
    const [row] = await opts.db.query<{ content: string; compartment: string | null }>('select content, compartment from resource where type = $1 and id = $2 and not deleted', [type, id]);
    if (!row) throw new FhirError(404, [issue('not-found', 'not-found', 'Resource not found')]);
    const resource = JSON.parse(row.content);
    await request.access.checkRead(resource, row.compartment);
    return reply.header('content-type', 'application/fhir+json').send(row.content);
  });
  app.get('/fhir/:type', async (request, reply) => {
    const { type } = request.params as { type: string };
    const params = Object.entries(request.query as Record<string, string>);
    const bundle = await search(opts.db, { resourceType: type, params, baseUrl: `${BASE}/fhir`, accessFilter: request.access.filterFor(type) });
    if (type === 'DocumentReference') reply.header('NHN-SecurityLabel-Nors-Count', String(await request.access.restrictedCount(type)));
    return reply.header('content-type', 'application/fhir+json').send(JSON.stringify(bundle));
  });
  return app;
}
