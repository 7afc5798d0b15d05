import type { Resource } from '@medplum/fhirtypes';
import type { Principal } from '../../access/principal.ts';
import { serviceSql } from '../../access/services.ts';
import type { Queryable } from '../../store/db.ts';
import { run, sql } from '../../store/sql.ts';
import { isDrugReaction, isPharmacyCaller } from './rules.ts';
import { KJ_TYPES } from './terms.ts';
import { entryState } from './validity.ts';

/**
 * The critical-information answer of the status call ($privacy-status): does the patient have
 * active critical information the caller could be shown? A pharmacy learns only about drug
 * reactions, the only critical information it may read. The caller's block and the patient's
 * reservation are decided by the status call itself. Active is decided by entryState, as in
 * $critical-information, at the server's time.
 */
export async function hasActiveCriticalInformation(db: Queryable, patientId: string, principal: Principal, now: Date): Promise<boolean> {
  const rows = await run<{ content: string }>(
    db,
    sql`select r.content from resource r where r.compartment = ${patientId} and not r.deleted
          and r.type = any(${KJ_TYPES}::text[]) and ${serviceSql('r')} = 'critical-information'`
  );
  const pharmacy = isPharmacyCaller(principal);
  return rows.some(({ content }) => {
    const r = JSON.parse(content) as Resource;
    return (!pharmacy || isDrugReaction(r)) && entryState(r, now) === 'active';
  });
}
