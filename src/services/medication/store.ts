import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { RequestAccess } from '../../api/auth.ts';
import { notFound, gone } from '../../fhir/outcome.ts';
import { ORGNR_SYSTEM } from '../../access/principal.ts';
import type { Queryable } from '../../store/db.ts';
import type { Writer } from '../../store/repository.ts';
import { findMatches } from '../../store/search/index.ts';
import { SYSTEM } from '../../registry/systems.ts';
import { patientCompartmentOf } from '../../fhir/compartment.ts';

/** Reads the current version of a resource and locks its row until the transaction ends. */
export async function lockForUpdate<T extends Resource>(tx: Queryable, type: string, id: string): Promise<T> {
  const [row] = await tx.query<{ deleted: boolean; content: string; version: number }>(
    `select deleted, content, version from resource where type = $1 and id = $2 for update`,
    [type, id]
  );
  if (!row) throw notFound(`${type}/${id} is not known`);
  if (row.deleted) throw gone(`${type}/${id} was deleted`);
  return JSON.parse(row.content) as T;
}

/**
 * Writes one version inside an operation's transaction, after the caller's write check (the policy
 * and this service's rules). A prescription keeps the organisation tag of its prescriber when a
 * pharmacy or another doctor changes its state: the prescriber's organisation still owns it.
 */
export async function writeChecked<T extends Resource>(w: Writer, access: RequestAccess, resource: T, previous?: T): Promise<T> {
  // New resources get their id first: the rules stamp it (a new prescription's id is its prescription id).
  // The version replaced goes to the policy too: it must be one the caller may see.
  const replaced = previous && { resource: previous as Resource, compartment: patientCompartmentOf(previous) };
  const checked = access.checkWrite(previous || resource.id ? resource : { ...resource, id: randomUUID() }, previous ? 'update' : 'create', undefined, replaced);
  const stored = previous?.resourceType === 'MedicationRequest' ? { ...checked, meta: { ...checked.meta, tag: previous.meta?.tag } } : checked;
  // A resource whose id the service chose (the PLL's pll-<patient>) may follow a deleted version: update revives it.
  const result = previous || resource.id ? await w.update(stored) : await w.create(stored, { id: stored.id });
  return result.resource as T;
}

/** True when the organisation number is a pharmacy in the address registry. */
export async function isPharmacy(db: Queryable, orgnr: string | undefined): Promise<boolean> {
  // Nine digits, as every organisation number: nothing else can be a search value's syntax (`,`, `|`).
  if (!orgnr || !/^\d{9}$/.test(orgnr)) return false;
  // A search, so the token index answers it (parsing every Organization's JSON grew with the registry).
  const rows = await findMatches(
    db,
    'Organization',
    [
      ['identifier', `${ORGNR_SYSTEM}|${orgnr}`],
      ['type', `${SYSTEM.organizationKind}|pharmacy`],
    ],
    1
  );
  return rows.length > 0;
}
