-- Audit trail (AuditEvent, IHE BALP shape) and the citizens' privacy settings.
-- The audit tables are kept apart from the clinical tables: they have their own retention, are
-- never touched by resource writes, and are append-only (triggers refuse UPDATE, DELETE and
-- TRUNCATE, for every role including the owner's application connection).
create table audit_event (
  seq bigint generated always as identity primary key,
  recorded timestamptz not null,
  -- the Patient whose data was touched (distribution key, as in every patient-owned table)
  compartment text,
  patient_nin text,
  action text not null,
  interaction text not null,
  outcome text not null,
  agent_kind text not null,
  agent_id text,
  agent_org text,
  on_behalf_of text,
  purpose_of_use text,
  access_basis text,
  emergency boolean not null default false,
  request_id text,
  content text not null
);
create index audit_event_compartment on audit_event (compartment, recorded) where compartment is not null;
create index audit_event_recorded on audit_event (recorded);
create index audit_event_request on audit_event (request_id);
create function audit_event_append_only() returns trigger language plpgsql as $$ begin raise exception 'audit_event is append-only'; end $$;
create trigger audit_event_no_update before update or delete on audit_event for each row execute function audit_event_append_only();
create trigger audit_event_no_truncate before truncate on audit_event for each statement execute function audit_event_append_only();
-- Privacy settings: one row per citizen, the Consent resource served by the privacy API plus its
-- decoded lists for the access policy's SQL (jsonb arrays of service codes / HPR numbers).
create table privacy_setting (
  compartment text primary key,
  nin text not null,
  version integer not null,
  last_updated timestamptz not null,
  restrict_all boolean not null default false,
  restricted jsonb not null default '[]',
  reserved jsonb not null default '[]',
  blocked_hpr jsonb not null default '[]',
  content text not null
);
create unique index privacy_setting_nin on privacy_setting (nin);
create table privacy_setting_history (
  compartment text not null,
  version integer not null,
  last_updated timestamptz not null,
  content text not null,
  primary key (compartment, version)
);
