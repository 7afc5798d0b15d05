-- Search index: one narrow table per search-parameter type, rows keyed by the resource's rid
-- (stable across versions: an update replaces the rows of its rid). `p` is `Type.code`, so a
-- condition is always an equality on the leading column of the index it uses. Every row
-- carries `compartment` (the distribution key for Citus). Value indexes end in (or include) rid so
-- that a search finds its matching rids from the indexes alone. Design notes: docs/search.md.

create table sp_token (
  rid bigint not null,
  compartment text,
  p text not null,
  system text,
  code text not null
);
-- rid right after code: `code=X` (any system, e.g. status=active) reads its rows in rid order, so
-- the first page of a default-ordered search stops after a page instead of sorting every match.
-- The system is checked from the included column, still index-only.
create index sp_token_value on sp_token (p, code, rid) include (system);
create index sp_token_rid on sp_token (rid, p);

-- `norm` is the value lower-cased with accents stripped (but æ ø å kept), cut to 255 characters,
-- the form every default and :contains search compares with; `value` is the original for :exact.
create table sp_string (
  rid bigint not null,
  compartment text,
  p text not null,
  norm text not null,
  value text not null
);
create index sp_string_norm on sp_string (p, norm text_pattern_ops) include (rid);
create index sp_string_rid on sp_string (rid, p);

-- Narrative text for _text: long, so kept out of any btree; searched by :contains semantics.
create table sp_text (
  rid bigint not null,
  compartment text,
  p text not null,
  norm text not null
);
create index sp_text_rid on sp_text (rid, p);

-- Every date is the range [lo, hi] it stands for (2020-03 = the whole of March; a Period its span).
-- Conditions on hi alone (gt, sa) are served by an index-only scan of (p, lo, hi): a second
-- index on hi cost more at write time than it saved at read time.
create table sp_date (
  rid bigint not null,
  compartment text,
  p text not null,
  lo timestamptz not null,
  hi timestamptz not null
);
create index sp_date_lo on sp_date (p, lo, hi) include (rid);
create index sp_date_rid on sp_date (rid, p);

create table sp_number (
  rid bigint not null,
  compartment text,
  p text not null,
  value numeric not null
);
create index sp_number_value on sp_number (p, value) include (rid);
create index sp_number_rid on sp_number (rid, p);

create table sp_quantity (
  rid bigint not null,
  compartment text,
  p text not null,
  value numeric not null,
  system text,
  code text,
  unit text
);
create index sp_quantity_code on sp_quantity (p, code, value) include (rid);
create index sp_quantity_value on sp_quantity (p, value) include (rid);
create index sp_quantity_rid on sp_quantity (rid, p);

-- A relative reference is kept as (target_type, target_id) so chains, _has and _revinclude
-- join straight to resource(type, id); absolute and canonical references keep their url.
create table sp_reference (
  rid bigint not null,
  compartment text,
  p text not null,
  target_type text,
  target_id text,
  url text
);
create index sp_reference_target on sp_reference (p, target_id, target_type, rid);
create index sp_reference_url on sp_reference (p, url) include (rid) where url is not null;
create index sp_reference_rid on sp_reference (rid, p);

create table sp_uri (
  rid bigint not null,
  compartment text,
  p text not null,
  value text not null
);
create index sp_uri_value on sp_uri (p, value text_pattern_ops) include (rid);
create index sp_uri_rid on sp_uri (rid, p);

-- Composite parameters: a token first component and one second component, kept together per
-- element so that code=X and value=Y must hold on the same Observation.component.
create table sp_composite (
  rid bigint not null,
  compartment text,
  p text not null,
  system1 text,
  code1 text not null,
  system2 text,
  code2 text,
  num2 numeric,
  lo2 timestamptz,
  hi2 timestamptz
);
create index sp_composite_code on sp_composite (p, code1, code2) include (rid);
create index sp_composite_rid on sp_composite (rid, p);

-- The narrow, live part of resource, for searches led by the resource table (by type in rid
-- order, _id, _lastUpdated, access filters): answered from this index without reading content.
create index resource_live on resource (type, rid) include (id, compartment, last_updated) where not deleted;

-- Values are strongly correlated with their parameter (a LOINC code only under *.code), and
-- patients have many more references than the average target: without these statistics the
-- planner misjudges which condition is selective by an order of magnitude.
create statistics sp_token_value_stats (mcv, dependencies) on p, system, code from sp_token;
create statistics sp_reference_target_stats (ndistinct, dependencies) on p, target_type, target_id from sp_reference;
alter table sp_token alter column code set statistics 1000;
alter table sp_reference alter column target_id set statistics 1000
