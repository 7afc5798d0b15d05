import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { FhirError, issue } from '../fhir/outcome.ts';

/**
 * The web front ends built by Vite into dist/portal (src/portal/vite.config.ts):
 *   GET /assets/*                 hashed bundles, cached for a year
 *   GET /clinician, /clinician/*  the clinician view (clinician/index.html)
 *   GET / and any other page path the citizen portal (index.html): the SPA routes itself
 * Paths under /fhir and /oidc never fall back to a page: they stay FHIR 404s. Public: the pages
 * hold no data; everything they show comes from /fhir with the user's token.
 */
export const PORTAL_DIR = fileURLToPath(new URL('../../dist/portal/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

const API_PREFIXES = /^\/(fhir|oidc|\.well-known)(\/|$)/;

export async function portalRoutes(app: FastifyInstance, opts: { dir?: string } = {}): Promise<void> {
  const dir = opts.dir ?? PORTAL_DIR;
  const publicRoute = { config: { access: 'public' as const, audit: false } };

  async function sendPage(reply: FastifyReply, file: string) {
    let html: Buffer;
    try {
      html = await fs.readFile(path.join(dir, file));
    } catch {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web portal is not built. Run `npm run build:portal` (npm start and npm test build it automatically).');
    }
    // Pages name hashed bundles: always revalidate the page, never the bundles.
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  }

  app.get('/assets/*', publicRoute, async (request, reply) => {
    const rel = (request.params as { '*': string })['*'];
    const file = path.resolve(dir, 'assets', rel);
    // The server's own 404 (an OperationOutcome), as for any unknown path.
    if (!file.startsWith(path.join(dir, 'assets') + path.sep)) return reply.callNotFound();
    let body: Buffer;
    try {
      body = await fs.readFile(file);
    } catch {
      throw new FhirError(404, [issue('not-found', 'no-such-file', `No file ${request.url.split('?')[0]}`)]);
    }
    return reply
      .type(TYPES[path.extname(file)] ?? 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(body);
  });

  app.get('/', publicRoute, (_request, reply) => sendPage(reply, 'index.html'));
  app.get('/clinician', publicRoute, (_request, reply) => sendPage(reply, 'clinician/index.html'));
  app.get('/clinician/*', publicRoute, (_request, reply) => sendPage(reply, 'clinician/index.html'));
  // SPA fallback: any other page path is a client-side route of the citizen portal.
  app.get('/*', publicRoute, async (request, reply) => {
    const p = request.url.split('?')[0];
    if (API_PREFIXES.test(p) || path.extname(p)) return reply.callNotFound();
    return sendPage(reply, 'index.html');
  });
}
(portalRoutes as any)[Symbol.for('skip-override')] = true;
