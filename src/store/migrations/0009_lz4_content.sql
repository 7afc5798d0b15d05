-- A resource's JSON over ~2 kB (a tenth of a Synthea load, two fifths of its bytes: claims,
-- explanations of benefit, reports with their text) is compressed when stored, twice (resource
-- and resource_history) and again when sp_text keeps its narrative. lz4 compresses and expands
-- several times faster than the default pglz: in bench/ingest.ts PostgreSQL's CPU per resource
-- fell by about a tenth. Rows already stored keep pglz until rewritten; both are read alike.
-- PGlite is built without lz4 (feature_not_supported) and keeps pglz.
do $$ begin alter table resource alter column content set compression lz4; alter table resource_history alter column content set compression lz4; alter table sp_text alter column norm set compression lz4; exception when feature_not_supported then null; end $$;
