-- An AuditEvent's JSON (~2.4 kB for a read) is just over the size at which PostgreSQL compresses a
-- row, so every audit insert paid for pglz on the request path: ~40 µs of PostgreSQL's CPU per
-- read in bench/read.ts, about a quarter of what it spends on a read's audit. Rows up to ~8 kB
-- now stay inline and uncompressed; the log takes more disk, the request less time.
alter table audit_event set (toast_tuple_target = 8160);
