-- Observation's combo-* parameters are unions of two others (combo-code is code | component-code),
-- and are now answered from those parameters' rows (search-parameters.ts, settleUnions): the rows
-- stored for them are never read again. In a Synthea load they were a sixth of all index rows.
delete from sp_token where p in ('Observation.combo-code', 'Observation.combo-data-absent-reason', 'Observation.combo-value-concept');
delete from sp_string where p in ('Observation.combo-code:text', 'Observation.combo-data-absent-reason:text', 'Observation.combo-value-concept:text');
delete from sp_quantity where p = 'Observation.combo-value-quantity';
delete from sp_composite where p in ('Observation.combo-code-value-concept', 'Observation.combo-code-value-quantity');
