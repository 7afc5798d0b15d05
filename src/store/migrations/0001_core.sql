-- Resources: the current version of every resource, plus every version in resource_history.
-- `compartment` is the id of the Patient whose compartment the resource belongs to (null for
-- resources outside any patient's compartment). It is the distribution key for a sharded
-- PostgreSQL (Citus): every patient-owned row in every table carries it.
create table resource (
  rid bigint generated always as identity primary key,
  type text not null,
  id text not null,
  version integer not null,
  compartment text,
  last_updated timestamptz not null,
  deleted boolean not null default false,
  content text not null,
  unique (type, id)
);
create index resource_compartment on resource (compartment, type) where compartment is not null;
create index resource_type_updated on resource (type, last_updated);

create sequence history_seq;

create table resource_history (
  rid bigint not null,
  version integer not null,
  seq bigint not null default nextval('history_seq'),
  type text not null,
  id text not null,
  compartment text,
  last_updated timestamptz not null,
  deleted boolean not null default false,
  -- the method that made this version: POST, PUT, PATCH or DELETE (for history entries' request)
  method text not null,
  content text,
  primary key (rid, version)
);
create index history_updated on resource_history (last_updated, seq);
create index history_type_updated on resource_history (type, last_updated, seq);
create index history_compartment on resource_history (compartment, last_updated) where compartment is not null;
