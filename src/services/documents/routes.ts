import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Binary, DocumentReference, Resource } from '@medplum/fhirtypes';
import { sendResource, versionHeaders } from '../../api/http.ts';
import { forbidden } from '../../access/errors.ts';
import { patientCompartmentOf } from '../../fhir/compartment.ts';
import { badRequest, FhirError, issue, notFound } from '../../fhir/outcome.ts';
import type { ServiceDeps } from '../module.ts';
import type { DocumentContents, StoredContent } from './content-store.ts';
import { checkDeclaredType } from './content-type.ts';
import { base64, carriesDocuments, contentIdIn, provideDocumentBundle } from './provide.ts';
import { isGenerated, renderSyntheticPdf } from './synthetic.ts';
import { measure, spool, tooLarge } from './upload.ts';

/** The label a document the citizen restricted carries (the policy matches its code, NORS). */
export const NORS_LABEL = { system: 'https://samhandling.dev/fhir/CodeSystem/confidentiality', code: 'NORS', display: 'Sperret av pasienten' };

const JSON_BODY = /^application\/(fhir\+)?json/i;

/** True when the document's current version still points at this content. */
function pointsAt(doc: Resource, contentId: string): boolean {
  return ((doc as DocumentReference).content ?? []).some((c) => c.attachment?.url && contentIdIn(c.attachment.url) === contentId);
}

const wantsFhirJson = (request: FastifyRequest) => /fhir\+json/i.test(String(request.headers.accept ?? ''));

export async function documentRoutes(app: FastifyInstance, deps: ServiceDeps, contents: DocumentContents): Promise<void> {
  const { repo, config } = deps;
  const db = repo.db;

  // ITI-65 arrives at the FHIR base like any transaction: bundles carrying documents are taken
  // apart here (content to the document store), the rest is left to the core transaction.
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || !/^\/fhir\/?$/.test(request.routeOptions?.url ?? '')) return;
    if (!carriesDocuments(request.body)) return;
    const result = await provideDocumentBundle(deps, contents, request.body, request.access);
    request.returnedResources = (result.entry ?? []).map((e) => e.resource).filter((r): r is Resource => !!r);
    sendResource(request, reply, result);
    return reply;
  });

  /** The document a content id belongs to, with the content (stored, or rendered for synthetic documents). */
  async function documentOf(request: FastifyRequest, id: string): Promise<{ doc: Resource; content?: StoredContent } | undefined> {
    const content = await contents.find(db, id);
    const doc = await repo.read('DocumentReference', content?.documentId ?? id).catch(() => undefined);
    if (!doc || !(content || isGenerated(doc)) || !pointsAt(doc, id)) return undefined;
    await request.access.checkRead(doc);
    return { doc, content };
  }

  const noSuchContent = (id: string) => notFound(`Binary/${id} is not the content of any document you may see`);

  // Raw bodies (PDF, text) reach only these routes, as streams; JSON still goes to the JSON parser.
  await app.register(async (raw) => {
    raw.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    // ITI-68: the bytes, behind the access check of the DocumentReference that points at them.
    raw.get('/Binary/:id', async (request, reply) => {
      const { id } = request.params as { id: string };
      const found = await documentOf(request, id);
      if (!found) {
        // AUTH=off (storage tests, import): a Binary stored as a resource by an administrator.
        if (request.access.principal.kind === 'admin') return sendResource(request, reply, await repo.read('Binary', id));
        throw noSuchContent(id);
      }
      request.returnedResources = [found.doc];
      const bytes = found.content ? undefined : renderSyntheticPdf(found.doc as DocumentReference);
      const meta = found.content ?? { contentType: (found.doc as DocumentReference).content[0].attachment.contentType!, size: bytes!.length, sha1: (found.doc as DocumentReference).content[0].attachment.hash };
      if (wantsFhirJson(request)) {
        const data = bytes ?? (await readAll(contents.open(db, found.content!)));
        const binary: Binary = { resourceType: 'Binary', id, contentType: meta.contentType, securityContext: { reference: `DocumentReference/${found.doc.id}` }, data: data.toString('base64') };
        return sendResource(request, reply, binary);
      }
      reply.header('content-type', meta.contentType).header('content-length', String(meta.size));
      if (meta.sha1) reply.header('etag', `"${meta.sha1}"`);
      return reply.send(bytes ?? contents.open(db, found.content!));
    });

    // Replaces a document's content: raw PDF/text (streamed, the fast path) or a Binary resource.
    raw.put('/Binary/:id', { bodyLimit: Math.max(config.maxBodyBytes, Math.ceil(config.documentMaxBytes / 3) * 4 + 1024 * 1024) }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const contentType = request.headers['content-type'];
      const json = JSON_BODY.test(contentType ?? '');
      const target = await contents.find(db, id);
      if (!target) {
        if (json && request.access.principal.kind === 'admin') return legacyBinaryPut(request, reply, id);
        throw new FhirError(404, [issue('not-found', 'no-document-content', `Binary/${id} is not the content of any document; publish documents with ITI-65 (a transaction Bundle to the FHIR base)`)]);
      }
      // Who may see the document is settled before any byte of the upload is stored.
      await readableDocumentOf(request, target).catch(async (err) => {
        if (!json) await drain(request.body as NodeJS.ReadableStream);
        throw err;
      });
      if (!json) {
        const body = request.body as NodeJS.ReadableStream;
        const upload = await (async () => {
          checkDeclaredType(contentType);
          const length = Number(request.headers['content-length'] ?? NaN);
          if (length > config.documentMaxBytes) throw tooLarge(config.documentMaxBytes);
          return spool(body, contentType, config.documentMaxBytes);
        })().catch(async (err) => {
          // Clients (fetch among them) fail on an answer that comes before their upload ends.
          await drain(body);
          throw err;
        });
        try {
          return await replaceContent(request, reply, target, upload, { path: upload.path });
        } finally {
          await upload.dispose();
        }
      }
      const body = request.body as Binary;
      if (body?.resourceType !== 'Binary') throw badRequest('not-a-binary', 'PUT /Binary/<id> takes raw PDF or text, or a Binary resource', 'resourceType');
      if (body.id !== undefined && body.id !== id) throw badRequest('id-mismatch', `The body's id ${body.id} does not match the URL's ${id}`, 'Binary.id');
      if (typeof body.data !== 'string' || !base64.test(body.data)) throw badRequest('invalid-base64', 'Binary.data must be base64', 'Binary.data');
      const bytes = Buffer.from(body.data, 'base64');
      return replaceContent(request, reply, target, measure(bytes, body.contentType, config.documentMaxBytes, 'Binary.data'), bytes);
    });
  });

  /** The DocumentReference whose content this is, if the caller may see it (else 404, as a read). */
  async function readableDocumentOf(request: FastifyRequest, target: StoredContent): Promise<DocumentReference> {
    const current = (await repo.read('DocumentReference', target.documentId).catch(() => undefined)) as DocumentReference | undefined;
    if (!current || !pointsAt(current, target.id)) throw notFound(`Binary/${target.id} is not the content of any document`);
    await request.access.checkRead(current);
    return current;
  }

  /**
   * New bytes for a stored content id (the caller may see its document: readableDocumentOf): the DocumentReference gets a new version with the new type,
   * size and hash, in the transaction that stores the bytes. If-Match is the DocumentReference's version.
   */
  async function replaceContent(
    request: FastifyRequest,
    reply: FastifyReply,
    target: StoredContent,
    m: { contentType: string; size: number; sha1: string },
    source: Buffer | { path: string }
  ) {
    const result = await contents.writeWith([{ info: { id: target.id, documentId: target.documentId, ...m }, source }], (save) =>
      repo.inTransaction(
        async (w) => {
          const doc = (await w.read('DocumentReference', target.documentId)) as DocumentReference;
          const next: DocumentReference = {
            ...doc,
            content: doc.content.map((c) =>
              c.attachment?.url && contentIdIn(c.attachment.url) === target.id ? { ...c, attachment: { ...c.attachment, contentType: m.contentType, size: m.size, hash: m.sha1 } } : c
            ),
          };
          const written = await w.update(next, { ifMatch: request.headers['if-match'] as string | undefined });
          await save(w.tx, async () => patientCompartmentOf(written.resource));
          return written;
        },
        { guard: request.access.guard }
      )
    );
    request.returnedResources = [result.resource];
    versionHeaders(reply, result.resource);
    reply.header('content-location', `${deps.fhirBase()}/DocumentReference/${result.resource.id}/_history/${result.resource.meta?.versionId}`);
    return sendResource(request, reply, result.resource);
  }

  async function legacyBinaryPut(request: FastifyRequest, reply: FastifyReply, id: string) {
    const result = await repo.update({ ...(request.body as Binary), id });
    versionHeaders(reply, result.resource);
    return sendResource(request, reply, result.resource, result.status);
  }

  const notSearchable = async () => {
    throw new FhirError(405, [issue('not-supported', 'binary-not-searchable', 'Binary is not searchable: find documents with DocumentReference (ITI-67) and retrieve their content by id (ITI-68)')]);
  };
  app.get('/Binary', notSearchable);
  app.post('/Binary/_search', notSearchable);
  app.post('/Binary', async () => {
    throw new FhirError(405, [issue('not-supported', 'binary-create', 'Document content is published with its DocumentReference in a transaction Bundle to the FHIR base (ITI-65)')]);
  });

  // An earlier version of a document is shown only to those who may see the document as it is now
  // (a restriction added as a new version covers the versions before it).
  app.get('/DocumentReference/:id/_history/:vid', async (request, reply) => {
    const { id, vid } = request.params as { id: string; vid: string };
    const current = await repo.read('DocumentReference', id).catch(() => undefined);
    if (current) await request.access.checkRead(current);
    const version = await repo.vread('DocumentReference', id, vid);
    await request.access.checkRead(version);
    request.returnedResources = [version];
    versionHeaders(reply, version);
    return sendResource(request, reply, version);
  });

  // The citizen restricts (sperrer) one document, or lifts it: a new version with or without NORS.
  const setRestricted = (restricted: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    const access = request.access;
    if (access.principal.kind !== 'citizen')
      throw forbidden('restrict-citizen-only', 'Only the citizen, or a representative allowed to manage their privacy settings, restricts a document', 'DocumentReference');
    const doc = await repo.read('DocumentReference', id).catch(() => undefined);
    if (!doc) throw notFound(`DocumentReference/${id} is not known`);
    await access.checkRead(doc);
    const grant = access.context.patients === 'any' ? undefined : access.context.patients.find((g) => g.patientId === patientCompartmentOf(doc));
    if (!grant?.mayManagePrivacy)
      throw forbidden('privacy-not-managed', 'You may not change privacy settings for this person', 'nhn-patient-nin');
    // Only the label changes; the write is the platform's on the citizen's behalf, audited as theirs.
    const result = await repo.inTransaction(async (w) => {
      const cur = await w.read('DocumentReference', id);
      const others = (cur.meta?.security ?? []).filter((s) => s.code !== NORS_LABEL.code);
      const next = { ...cur, meta: { ...cur.meta, security: restricted ? [...others, NORS_LABEL] : others } } as Resource;
      if (!next.meta!.security!.length) delete next.meta!.security;
      return w.update(next, { ifMatch: `W/"${cur.meta?.versionId}"` });
    });
    request.returnedResources = [result.resource];
    versionHeaders(reply, result.resource);
    return sendResource(request, reply, result.resource);
  };
  app.post('/DocumentReference/:id/$restrict', setRestricted(true));
  app.post('/DocumentReference/:id/$unrestrict', setRestricted(false));
}

/** Reads and discards the rest of a request body, up to a bound; past it the connection is dropped. */
function drain(body: NodeJS.ReadableStream, bound = 1024 * 1024 * 1024): Promise<void> {
  const stream = body as unknown as Readable;
  if (stream.readableEnded || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    stream.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > bound) {
        stream.destroy();
        resolve();
      }
    });
    stream.once('end', () => resolve());
    stream.once('error', () => resolve());
    stream.once('close', () => resolve());
    stream.resume();
  });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return Buffer.concat(parts);
}
