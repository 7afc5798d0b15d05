import type { DocumentReference, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcome.ts';
import type { ServiceModule } from '../module.ts';
import type { Queryable } from '../../store/db.ts';
import { contentIdIn } from './provide.ts';
import { DocumentContents, type StoredContent } from './content-store.ts';
import type { Config } from '../../config.ts';
import { documentRoutes } from './routes.ts';
import { syntheticDocuments } from './synthetic.ts';

/**
 * Pasientens journaldokumenter: IHE MHD (ITI-65 provide, ITI-67 find, ITI-68 retrieve) over
 * DocumentReference, with the content in a document store of its own (docs/services/documents.md).
 */
export const module: ServiceModule = {
  name: 'documents',
  async routes(app, deps) {
    await documentRoutes(app, deps, contentsFor(deps.config));
  },
  // A deleted document takes its content with it, by whatever path it is deleted (REST,
  // conditional, transaction or batch): the rows in its transaction, the files once committed.
  async afterWrite(tx, resource, method, config) {
    if (resource.resourceType !== 'DocumentReference' || method !== 'DELETE') return;
    const gone = await contentsFor(config).dropDocument(tx, resource.id!);
    if (gone.length) released.set(resource, gone);
  },
  async afterCommit(written, config) {
    for (const { resource } of written) {
      const gone = released.get(resource);
      if (gone) await contentsFor(config).release(gone);
    }
  },
  validate: validateDocument,
  synthetic: syntheticDocuments,
  // Exported documents carry their stored content inline, as ITI-65 takes it: an import provides
  // them again (the same bytes keep their content id in a database that has them).
  exports: { types: ['DocumentReference'], complete: withContentInline },
};

/** One document store per configuration, shared by the routes and the write hooks. */
const stores = new WeakMap<Config, DocumentContents>();
function contentsFor(config: Config): DocumentContents {
  let c = stores.get(config);
  if (!c) stores.set(config, (c = new DocumentContents({ store: config.documentStore, dir: config.documentDir })));
  return c;
}

/** Content rows removed with a deleted document, whose files go once the deletion committed. */
const released = new WeakMap<Resource, StoredContent[]>();

/**
 * Every stored DocumentReference belongs to a patient (one without would be outside every patient
 * compartment, open to any professional) and keeps no content inline: content is in the document
 * store, reached through /Binary/<id> behind the document's own access check.
 */
function validateDocument(resource: Resource): OperationOutcomeIssue[] {
  if (resource.resourceType !== 'DocumentReference') return [];
  const doc = resource as DocumentReference;
  const issues: OperationOutcomeIssue[] = [];
  if (!/^(?:.*\/)?Patient\/[^/]+$/.test(doc.subject?.reference ?? ''))
    issues.push(issue('required', 'document-subject-required', 'A DocumentReference needs a subject that is a Patient', 'DocumentReference.subject'));
  (doc.content ?? []).forEach((c, i) => {
    if (c.attachment?.data !== undefined)
      issues.push(
        issue('business-rule', 'document-inline-content', 'Document content is not kept in the DocumentReference: provide it with ITI-65 (a transaction Bundle), where it goes to the document store', `DocumentReference.content[${i}].attachment.data`)
      );
  });
  return issues;
}

async function withContentInline(resource: Resource, db: Queryable, config: Config): Promise<Resource> {
  const doc = resource as DocumentReference;
  const contents = contentsFor(config);
  const content = await Promise.all(
    (doc.content ?? []).map(async (c) => {
      const id = c.attachment?.url && contentIdIn(c.attachment.url);
      const stored = id ? await contents.find(db, id) : undefined;
      if (!stored || stored.documentId !== doc.id) return c; // kept elsewhere, or generated (synthetic documents)
      const chunks: Buffer[] = [];
      for await (const chunk of contents.open(db, stored)) chunks.push(chunk as Buffer);
      const { url: _url, ...attachment } = c.attachment!;
      return { ...c, attachment: { ...attachment, data: Buffer.concat(chunks).toString('base64') } };
    })
  );
  return { ...doc, content };
}
