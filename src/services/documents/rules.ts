import type { ServiceRule } from '../module.ts';
import { sql } from '../../store/sql.ts';
import { withinWindows, withinWindowsSql } from './windows.ts';

/**
 * The documents service's own access rules (see ../module.ts ServiceRule). On top of the common
 * rules (GP under UNNTAK, attestation, NORS only under FORHOYET_*), health personnel and attested
 * systems see a document only within its class's time window (windows.ts), measured against the
 * request's clock. The citizen sees all of their own documents.
 */
export const rules: ServiceRule[] = [
  {
    service: 'documents',
    visible: (resource, grant, ctx) => grant.citizenView || withinWindows(resource, ctx.now),
    visibleSql: (alias, grant, ctx) => (grant.citizenView ? sql`true` : withinWindowsSql(alias, ctx.now)),
  },
];
