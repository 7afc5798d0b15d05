import Fastify, { type FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import type { Repository } from '../store/repository.ts';
import { FhirError, issue } from '../fhir/outcome.ts';
import { parseFhirJson } from '../fhir/json-decimals.ts';
import { FHIR_JSON, requestErrorOf } from './http.ts';
import { registerRestRoutes, unknownOperation } from './rest.ts';
import { collectOperations } from './capability.ts';
import { authPlugin } from './auth.ts';
import { privacyRoutes } from './privacy-routes.ts';
import { portalRoutes } from './portal-routes.ts';
import { createRegistryLookup } from '../registry/lookup.ts';
import type { DevAuthority } from '../access/dev-authority.ts';
import { SERVICE_MODULES } from '../services/index.ts';
import type { ServiceDeps } from '../services/module.ts';

export interface ServerContext {
  config: Config;
  repo: Repository;
  /** 'off' makes every request a local administrator: for the storage and API test suites only. */
  auth?: 'on' | 'off';
  /** A development authority whose tokens are trusted (tests mint tokens in-process with it). */
  devAuthority?: DevAuthority;
  /** The server's clock; injectable so tests can move time. */
  clock?: () => Date;
}

/** Content types a FHIR body may arrive in; all are JSON. */
const JSON_TYPES = ['application/fhir+json', 'application/json', 'application/json-patch+json', 'application/json+fhir'];

export async function buildServer(ctx: ServerContext): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: ctx.config.maxBodyBytes,
    // Lets clients correlate their requests with audit records.
    requestIdHeader: 'x-request-id',
    logger: ctx.config.logLevel === 'silent' ? false : { level: ctx.config.logLevel },
    // Long OR lists and chained searches make long URLs.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2000 },
    clientErrorHandler: answerClientError,
  } as any);

  // Only JSON (and form bodies for POST _search) are FHIR here; anything else is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, parseFhirJson(body as string));
    } catch (err) {
      done(new FhirError(400, [issue('structure', 'malformed-json', `The body is not valid JSON: ${(err as Error).message}`)]), undefined);
    }
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, [...new URLSearchParams(body as string).entries()]);
  });

  app.setErrorHandler((err: any, request, reply) => {
    let fhirErr: FhirError;
    const known = requestErrorOf(err);
    if (known) fhirErr = known;
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      fhirErr = new FhirError(413, [issue('too-costly', 'body-too-large', `The request body is larger than the limit of ${ctx.config.maxBodyBytes} bytes`)]);
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      fhirErr = new FhirError(415, [issue('not-supported', 'unsupported-media-type', `Content-Type ${request.headers['content-type']} is not supported; send application/fhir+json`)]);
    } else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      fhirErr = new FhirError(400, [issue('structure', 'malformed-json', err.message)]);
    } else if (typeof err.statusCode === 'number' && err.statusCode < 500) {
      fhirErr = new FhirError(err.statusCode, [issue('invalid', 'bad-request', err.message)]);
    } else {
      request.log.error(err);
      fhirErr = new FhirError(500, [issue('exception', 'internal-error', 'An internal error occurred; it has been logged')]);
    }
    reply.code(fhirErr.status).headers(fhirErr.headers).header('content-type', FHIR_JSON).send(JSON.stringify(fhirErr.outcome));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const operation = /\/(\$[^/]+)$/.exec(path)?.[1];
    const error = operation
      ? unknownOperation(request, operation)
      : new FhirError(404, [issue('not-found', 'no-such-endpoint', `No endpoint ${request.method} ${path}`)]);
    reply.code(404).header('content-type', FHIR_JSON).send(JSON.stringify(error.outcome));
  });

  // Every operation route, as registered below, for the CapabilityStatement.
  const operations = collectOperations(app);
  // Authentication, the access policy and the audit trail wrap every /fhir route.
  const db = ctx.repo.db;
  const registry = createRegistryLookup(db);
  const embedded = !ctx.config.databaseUrl;
  await app.register(authPlugin, {
    db,
    registry,
    baseUrl: ctx.config.baseUrl,
    auth: ctx.auth,
    devAuthority: ctx.devAuthority,
    clock: ctx.clock,
    rateLimitPerMinute: ctx.config.rateLimitPerMinute,
    devAuth: ctx.config.devAuth ? { dataDir: embedded ? ctx.config.dataDir : undefined } : false,
  });
  await app.register(privacyRoutes, { db, registry, clock: ctx.clock });
  await app.register(portalRoutes);
  const serviceDeps: ServiceDeps = {
    config: ctx.config,
    repo: ctx.repo,
    registry,
    clock: ctx.clock ?? (() => new Date()),
    fhirBase: () => `${ctx.config.baseUrl}/fhir`,
  };
  // Service operations first: their static paths (e.g. /Patient/$x) sit beside the REST patterns.
  await app.register(
    async (fhir) => {
      for (const m of SERVICE_MODULES) await m.routes?.(fhir, serviceDeps);
      await registerRestRoutes(fhir, ctx, operations);
    },
    { prefix: '/fhir' }
  );
  return app as unknown as FastifyInstance;
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers or URL over 16 kB, a
 * malformed request line) are answered as every other error is, with an OperationOutcome.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  // A reset connection has no one to answer (as Fastify's own handler).
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, error] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', new FhirError(431, [issue('too-costly', 'headers-too-large', 'The URL or headers are larger than 16 kB; send a long search as POST [type]/_search with the parameters in the body')])]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', new FhirError(408, [issue('timeout', 'request-timeout', 'The request did not arrive in time')])]
        : [400, 'Bad Request', new FhirError(400, [issue('structure', 'malformed-request', 'The request is not well-formed HTTP')])];
  const body = JSON.stringify(error.outcome);
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: ${FHIR_JSON}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy(err);
}
