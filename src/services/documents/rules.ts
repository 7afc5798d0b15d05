import type { ServiceRule } from '../module.ts';
import { hasRestrictedLabel, RESTRICTED_SECURITY_CODE, restrictedLabelSql } from '../../access/services.ts';
import { and, raw, sql, type Sql } from '../../store/sql.ts';
import { withinWindows, withinWindowsSql } from './windows.ts';

/**
 * The documents service's own access rules (see ../module.ts ServiceRule). On top of the common
 * rules (GP under UNNTAK, attestation, NORS only under FORHOYET_*):
 * - health personnel and attested systems see a document only within its class's time window
 *   (windows.ts), measured against the request's clock; the citizen sees all of their own;
 * - a restriction covers the whole document: its earlier versions, which do not carry the NORS
 *   label the citizen's restriction added, stay hidden in history listings while the current
 *   version is restricted (a vread checks the current version first: routes.ts);
 * - only the citizen lifts a restriction ($unrestrict): an update through the API keeps the NORS
 *   label of the version it replaces.
 */
export const rules: ServiceRule[] = [
  {
    service: 'documents',
    visible: (resource, grant, ctx) => grant.citizenView || withinWindows(resource, ctx.now),
    visibleSql: (alias, grant, ctx) => {
      const parts: Sql[] = [];
      if (!grant.citizenView) parts.push(withinWindowsSql(alias, ctx.now));
      if (!grant.includeRestricted) parts.push(currentNotRestrictedSql(alias));
      return and(parts);
    },
    beforeWrite: (resource, action, _ctx, _grant, previous) => {
      if (action !== 'update' || !previous || !hasRestrictedLabel(previous) || hasRestrictedLabel(resource)) return resource;
      const label = previous.meta!.security!.find((l) => l.code === RESTRICTED_SECURITY_CODE)!;
      return { ...resource, meta: { ...resource.meta, security: [...(resource.meta?.security ?? []), label] } };
    },
  },
];

/** The current version of the row's resource does not carry NORS (true for current rows the policy already let through). */
function currentNotRestrictedSql(alias: string): Sql {
  const a = raw(alias);
  return sql`not exists (select 1 from resource cur where cur.type = ${a}.type and cur.id = ${a}.id and ${restrictedLabelSql('cur')})`;
}
