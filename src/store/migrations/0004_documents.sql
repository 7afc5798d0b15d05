-- Journal documents (docs/services/documents.md): the content behind each DocumentReference,
-- kept out of the resource table. A Binary row there would have no patient compartment and would
-- be visible to any authenticated professional through search; here content is reached only
-- through its DocumentReference, whose access check it shares (IHE ITI-68).
create table document_content (
  -- the id in GET /fhir/Binary/<id>
  id text primary key,
  -- the DocumentReference whose access rules govern this content (Binary.securityContext)
  document_id text not null,
  -- the Patient the document belongs to (distribution key, as in every patient-owned table)
  compartment text,
  content_type text not null,
  size bigint not null,
  -- SHA-1 of the bytes, base64 (Attachment.hash)
  sha1 text not null,
  -- 'postgres': the bytes are in document_chunk; 'file': in the file store, under `location`
  store text not null,
  location text,
  created timestamptz not null
);
create index document_content_document on document_content (document_id);
create table document_chunk (
  content_id text not null references document_content (id) on delete cascade,
  seq integer not null,
  data bytea not null,
  primary key (content_id, seq)
);
