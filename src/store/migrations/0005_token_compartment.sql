-- The compartment joins the system in sp_token_value's included columns: a search for one code
-- among many patients' data (a chain through Patient, a long list of patients) walks the code's
-- rows in rid order and discards the other patients' rows from the index tuple itself, without a
-- heap visit or a join per row (docs/search.md, "Walking a code through many compartments").
drop index sp_token_value;
create index sp_token_value on sp_token (p, code, rid) include (system, compartment);
