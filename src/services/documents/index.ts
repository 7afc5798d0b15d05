import type { DocumentReference, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcome.ts';
import type { ServiceModule } from '../module.ts';
import { DocumentContents } from './content-store.ts';
import { documentRoutes } from './routes.ts';
import { syntheticDocuments } from './synthetic.ts';

/**
 * Pasientens journaldokumenter: IHE MHD (ITI-65 provide, ITI-67 find, ITI-68 retrieve) over
 * DocumentReference, with the content in a document store of its own (docs/services/documents.md).
 */
export const module: ServiceModule = {
  name: 'documents',
  async routes(app, deps) {
    await documentRoutes(app, deps, new DocumentContents({ store: deps.config.documentStore, dir: deps.config.documentDir }));
  },
  validate: validateDocument,
  synthetic: syntheticDocuments,
};

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
