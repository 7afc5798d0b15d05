import { randomUUID } from 'node:crypto';
import type { Attachment, Binary, Bundle, BundleEntry, DocumentReference, Resource } from '@medplum/fhirtypes';
import type { RequestAccess } from '../../api/auth.ts';
import { checkEntries, processBundle } from '../../api/bundle.ts';
import type { ServerContext } from '../../api/server.ts';
import { patientCompartmentOf } from '../../fhir/compartment.ts';
import { isJsonObject } from '../../fhir/json.ts';
import { FhirError, issue } from '../../fhir/outcome.ts';
import type { Repository } from '../../store/repository.ts';
import type { ServiceDeps } from '../module.ts';
import type { ContentInfo, DocumentContents } from './content-store.ts';
import { measure, type Measured } from './upload.ts';
import { cloneFhirJson } from '../../fhir/json-decimals.ts';

/**
 * IHE MHD ITI-65 (Provide Document Bundle): a transaction Bundle with DocumentReferences (and
 * optionally a List as SubmissionSet) whose content comes as Binary entries or inline
 * `attachment.data`. The content is taken out of the bundle into the document store, each
 * attachment then points at /fhir/Binary/<id> with its size and SHA-1, and the rest of the bundle
 * runs as any other transaction (same access checks), in the one database transaction that also
 * records the content.
 */
/**
 * Base64 text as documents carry it (whitespace allowed). The padding's trailing whitespace belongs to the padding:
 * a second `\s*` after the first loop, which also takes whitespace, made a long run of spaces before a bad
 * character take time quadratic in its length (session 16).
 */
export const base64 = /^[A-Za-z0-9+/\s]*(?:={1,2}\s*)?$/;

function invalid(code: string, message: string, expression: string, status = 422) {
  return new FhirError(status, [issue('invalid', code, message, expression)]);
}

/** A Binary entry that is document content: a PATCH entry's Binary is the patch (FHIR's JSON Patch in a Bundle). */
const isContent = (e: BundleEntry | undefined) => e?.resource?.resourceType === 'Binary' && e.request?.method !== 'PATCH';

/**
 * True when a bundle is ours to take apart (ITI-65): a transaction with DocumentReferences, or any
 * bundle carrying document content (a Binary entry, inline attachment data), which only a
 * transaction may provide.
 */
export function carriesDocuments(body: unknown): body is Bundle {
  const b = body as Bundle | undefined;
  if (b?.resourceType !== 'Bundle' || !Array.isArray(b.entry)) return false;
  const docs = b.entry.filter((e) => e?.resource?.resourceType === 'DocumentReference' && ['POST', 'PUT'].includes(e.request?.method ?? ''));
  const content =
    b.entry.some(isContent) ||
    docs.some((e) => {
      const content = (e.resource as DocumentReference).content;
      return Array.isArray(content) && content.some((c) => c?.attachment?.data !== undefined);
    });
  return content || (b.type === 'transaction' && docs.length > 0);
}

interface NewContent {
  info: Omit<ContentInfo, 'compartment'>;
  bytes: Buffer;
}

export async function provideDocumentBundle(deps: ServiceDeps, contents: DocumentContents, bundle: Bundle, access: RequestAccess): Promise<Bundle> {
  checkEntries(bundle);
  if (bundle.type !== 'transaction')
    throw invalid('documents-need-transaction', 'Documents are provided in a transaction Bundle (IHE ITI-65), so that a document and its content are stored together or not at all', 'Bundle.type');
  const entries = bundle.entry ?? [];
  const max = deps.config.documentMaxBytes;

  // The Binary entries, by the fullUrl the DocumentReferences use for them.
  const binaries = new Map<string, { index: number; resource: Binary; contentId?: string }>();
  entries.forEach((e, i) => {
    if (!isContent(e)) return;
    if (e.request?.method !== 'POST')
      throw invalid('binary-entry-method', 'Binary entries are created with POST; the server names the content', `Bundle.entry[${i}].request.method`);
    if (!e.fullUrl) throw invalid('binary-entry-fullurl', 'A Binary entry needs a fullUrl for the DocumentReference to point at', `Bundle.entry[${i}].fullUrl`);
    binaries.set(e.fullUrl, { index: i, resource: e.resource as Binary });
  });

  const fresh: NewContent[] = [];
  /** Per document written: the content ids its new version points at (the rest of its content goes). */
  const keep = new Map<string, Set<string>>();
  const rewritten: (BundleEntry | undefined)[] = [];
  for (const [i, e] of entries.entries()) {
    if (isContent(e)) {
      rewritten.push(undefined);
      continue;
    }
    if (e.resource?.resourceType !== 'DocumentReference' || !['POST', 'PUT'].includes(e.request?.method ?? '')) {
      rewritten.push(e);
      continue;
    }
    if (e.request?.method === 'POST' && e.request.ifNoneExist)
      throw invalid('document-conditional-create', 'Conditional create of a DocumentReference is not supported: documents are identified by their id and masterIdentifier', `Bundle.entry[${i}].request.ifNoneExist`, 400);
    checkAttachments(e.resource, `Bundle.entry[${i}].resource`);
    const doc = cloneFhirJson(e.resource) as DocumentReference;
    const id = e.request?.method === 'PUT' ? (e.request.url.split('?')[0].split('/')[1] ?? doc.id) : randomUUID();
    if (!id) throw invalid('missing-id', 'A PUT of a DocumentReference needs DocumentReference/<id>', `Bundle.entry[${i}].request.url`, 400);
    doc.id = id;
    const stored = await contents.ofDocument(deps.repo.db, id);
    const existing = new Set(stored.map((c) => c.id));
    keep.set(id, new Set());
    doc.content = await Promise.all(
      (doc.content ?? []).map(async (c, j) => {
        const at = `Bundle.entry[${i}].resource.content[${j}].attachment`;
        const a: Attachment = c.attachment ?? {};
        const contentId = randomUUID();
        let bytes: Buffer;
        let declared = a.contentType;
        let binary: { contentId?: string } | undefined;
        if (a.data !== undefined) {
          if (!base64.test(a.data)) throw invalid('invalid-base64', 'attachment.data is not base64', `${at}.data`, 400);
          bytes = Buffer.from(a.data, 'base64');
        } else if (a.url && binaries.has(a.url)) {
          const b = (binary = binaries.get(a.url)!);
          if (typeof b.resource.data !== 'string' || !base64.test(b.resource.data))
            throw invalid('invalid-base64', 'The Binary entry has no base64 data', `Bundle.entry[${b.index}].resource.data`, 400);
          bytes = Buffer.from(b.resource.data, 'base64');
          declared ??= b.resource.contentType;
        } else {
          const kept = a.url && contentIdIn(a.url);
          if (kept && existing.has(kept)) {
            keep.get(id)!.add(kept); // unchanged content of an update
            return c;
          }
          // A placeholder that names no entry is a client's mistake; any other url is content kept elsewhere.
          if (!a.url || a.url.startsWith('urn:'))
            throw invalid('document-content-missing', 'Each attachment needs its content: inline data, a url to a Binary entry of this bundle, or a url where the content is kept', at);
          return c;
        }
        const measured = measure(bytes, declared, max, at);
        checkClaims(a, measured, at);
        const { data: _data, ...rest } = a;
        // The same bytes provided again (an import run twice) keep the content they already have,
        // so the document is unchanged and gets no new version.
        const same = stored.find((s) => s.sha1 === measured.sha1 && s.size === measured.size && s.contentType === measured.contentType);
        if (binary) binary.contentId ??= same?.id ?? contentId;
        if (same) {
          keep.get(id)!.add(same.id);
          return { ...c, attachment: { ...rest, contentType: same.contentType, url: `${deps.fhirBase()}/Binary/${same.id}`, size: same.size, hash: same.sha1 } };
        }
        keep.get(id)!.add(contentId);
        fresh.push({ info: { id: contentId, documentId: id, ...measured }, bytes });
        return { ...c, attachment: { ...rest, contentType: measured.contentType, url: `${deps.fhirBase()}/Binary/${contentId}`, size: measured.size, hash: measured.sha1 } };
      })
    );
    rewritten.push({ ...e, resource: doc, request: { ...e.request!, method: 'PUT', url: `DocumentReference/${id}` } });
  }
  for (const [url, b] of binaries)
    if (!b.contentId) throw invalid('binary-without-document', `The Binary entry ${url} is not the content of any DocumentReference in the bundle`, `Bundle.entry[${b.index}]`);

  const kept = rewritten.map((e, i) => ({ e, i })).filter((x): x is { e: BundleEntry; i: number } => !!x.e);
  const response = await contents.writeWith(
    fresh.map((f) => ({ info: f.info, source: f.bytes })),
    async (save) => {
      const repo: Repository = {
        ...deps.repo,
        inTransaction: (fn, o) =>
          deps.repo.inTransaction(async (w) => {
            const result = await fn(w);
            const compartmentOf = async (documentId: string) => patientCompartmentOf(await w.read('DocumentReference', documentId));
            await save(w.tx, compartmentOf, keep);
            return result;
          }, o),
      };
      const ctx = { config: deps.config, repo } as ServerContext;
      try {
        return await processBundle(ctx, { ...bundle, entry: kept.map((k) => k.e) }, access);
      } catch (err) {
        throw renumber(err, kept.map((k) => k.i));
      }
    }
  );
  // One response entry per request entry, in order (the Binary entries' content now has its own id).
  const out: BundleEntry[] = [];
  const byIndex = new Map(kept.map((k, n) => [k.i, response.entry?.[n]]));
  const binaryUrls = new Map([...binaries.values()].map((b) => [b.index, b.contentId!]));
  entries.forEach((_e, i) => {
    if (byIndex.has(i)) out.push(byIndex.get(i)!);
    else out.push({ response: { status: '201 Created', location: binaryUrls.has(i) ? `Binary/${binaryUrls.get(i)}` : undefined } });
  });
  return { ...response, entry: out };
}

/**
 * The parts of a DocumentReference taken apart here, checked for their JSON shape first: the
 * validator sees the document only after its content is out.
 */
function checkAttachments(doc: unknown, at: string): void {
  const content = (doc as { content?: unknown }).content;
  if (content === undefined) return;
  if (!Array.isArray(content)) throw invalid('invalid-document', 'DocumentReference.content must be an array', `${at}.content`, 400);
  content.forEach((c: unknown, j: number) => {
    const where = `${at}.content[${j}]`;
    const a = isJsonObject(c) ? c.attachment : undefined;
    if (!isJsonObject(c) || (a !== undefined && !isJsonObject(a)))
      throw invalid('invalid-document', 'Each DocumentReference.content is an object with an attachment object', where, 400);
    for (const k of ['data', 'url', 'contentType'])
      if (a?.[k] !== undefined && typeof a[k] !== 'string') throw invalid('invalid-document', `attachment.${k} must be a string`, `${where}.attachment.${k}`, 400);
  });
}

/** The content id in a url to this server's /Binary/<id> (absolute or relative). */
export function contentIdIn(url: string): string | undefined {
  return /(?:^|\/)Binary\/([A-Za-z0-9\-.]{1,64})$/.exec(url)?.[1];
}

/** A client's size and hash, when given, must be those of the bytes (MHD: the server checks them). */
function checkClaims(a: Attachment, m: Measured, at: string) {
  if (a.size !== undefined && a.size !== m.size) throw invalid('attachment-size-mismatch', `attachment.size is ${a.size}, but the content has ${m.size} bytes`, `${at}.size`);
  if (a.hash !== undefined && a.hash !== m.sha1) throw invalid('attachment-hash-mismatch', 'attachment.hash is not the SHA-1 of the content', `${at}.hash`);
}

/** Errors from the transaction name entries of the bundle without its Binary entries: give them their original numbers. */
function renumber(err: unknown, original: number[]): unknown {
  if (!(err instanceof FhirError)) return err;
  const fix = (s: string) => s.replace(/Bundle\.entry\[(\d+)\]/g, (_m, n) => `Bundle.entry[${original[Number(n)] ?? n}]`);
  return new FhirError(
    err.status,
    err.issues.map((i) => ({ ...i, diagnostics: i.diagnostics && fix(i.diagnostics), expression: i.expression?.map(fix) })),
    err.headers
  );
}
