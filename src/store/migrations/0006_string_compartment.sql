-- The compartment joins the rid in sp_string_norm's included columns. A Patient's index rows
-- carry the Patient's own id as their compartment, so a chain such as subject:Patient.name=x
-- finds its target ids in the index alone, without looking up each Patient's resource row
-- (docs/search.md, "The chain, fourth round").
drop index sp_string_norm;
create index sp_string_norm on sp_string (p, norm text_pattern_ops) include (rid, compartment);
