import type { AuditEvent } from '@medplum/fhirtypes';
import { serviceDefinition, serviceOf } from '../access/services.ts';
import { SERVICE_DETAIL } from './audit-event.ts';
import type { Queryable } from '../store/db.ts';

/** The citizen's "who has looked at my data" (logg over bruk), in plain words. */
export interface AccessLogEntry {
  when: string;
  who: { kind: string; id: string | null; role?: string; roleName?: { nb: string; en: string } };
  organisation: string | null;
  action: string;
  what: { service: string; nb: string; en: string; count: number }[];
  basis: string | null;
  basisText?: { nb: string; en: string };
  purposeOfUse: string | null;
  emergency: boolean;
  outcome: string;
  onBehalfOf: string | null;
  /** The reason the health professional gave (nhn-access-reason), e.g. for an emergency. */
  reason?: string;
  text: { nb: string; en: string };
}

const ROLE_NAMES: Record<string, { nb: string; en: string }> = {
  LE: { nb: 'lege', en: 'doctor' },
  SP: { nb: 'sykepleier', en: 'nurse' },
  FA1: { nb: 'farmasøyt', en: 'pharmacist' },
  FA2: { nb: 'reseptarfarmasøyt', en: 'prescription pharmacist' },
  JO: { nb: 'jordmor', en: 'midwife' },
  PS: { nb: 'psykolog', en: 'psychologist' },
  TL: { nb: 'tannlege', en: 'dentist' },
  FT: { nb: 'fysioterapeut', en: 'physiotherapist' },
  HP: { nb: 'helsefagarbeider', en: 'health worker' },
  HE: { nb: 'helsesekretær', en: 'medical secretary' },
};

const BASIS_TEXT: Record<string, { nb: string; en: string }> = {
  UNNTAK: { nb: 'fastlegen din (unntak fra samtykke)', en: 'your GP (no consent needed)' },
  SAMTYKKE: { nb: 'samtykke i behandlingssituasjon', en: 'consent while treating you' },
  AKUTT: { nb: 'akutt helsehjelp', en: 'emergency care' },
  FORHOYET_SAMTYKKE: { nb: 'samtykke til å se sperrede opplysninger', en: 'consent to see restricted data' },
  FORHOYET_AKUTT: { nb: 'akutt helsehjelp, sperrede opplysninger åpnet', en: 'emergency care, restricted data opened' },
};

const ACTION_TEXT: Record<string, { nb: string; en: string }> = {
  R: { nb: 'så på', en: 'viewed' },
  E: { nb: 'søkte i', en: 'searched' },
  C: { nb: 'registrerte', en: 'recorded' },
  U: { nb: 'endret', en: 'changed' },
  D: { nb: 'slettet', en: 'deleted' },
};

function describe(row: any): AccessLogEntry {
  const event = JSON.parse(row.content) as AuditEvent;
  const counts = new Map<string, number>();
  for (const e of event.entity ?? []) {
    const ref = e.what?.reference;
    if (!ref || e.role?.code !== '4') continue;
    const recorded = e.detail?.find((d) => d.type === SERVICE_DETAIL)?.valueString;
    const service = recorded ?? serviceOf({ resourceType: ref.split('/')[0] } as any);
    counts.set(service, (counts.get(service) ?? 0) + 1);
  }
  const what = [...counts].map(([service, count]) => ({ service, count, ...serviceDefinition(service as any).name }));
  const role = event.agent?.[0]?.role?.[0]?.coding?.[0]?.code;
  const roleName = role ? ROLE_NAMES[role] ?? { nb: role, en: role } : undefined;
  const basisText = row.access_basis ? BASIS_TEXT[row.access_basis] : undefined;
  const act = ACTION_TEXT[row.action] ?? { nb: 'brukte', en: 'used' };
  const whoText =
    row.agent_kind === 'practitioner' ? { nb: `${roleName?.nb ?? 'helsepersonell'} (HPR ${row.agent_id}) ved virksomhet ${row.agent_org ?? 'ukjent'}`, en: `${roleName?.en ?? 'health professional'} (HPR ${row.agent_id}) at organisation ${row.agent_org ?? 'unknown'}` }
    : row.agent_kind === 'citizen' ? (row.on_behalf_of ? { nb: `din representant (${row.agent_id})`, en: `your representative (${row.agent_id})` } : { nb: 'du', en: 'you' })
    : row.agent_kind === 'system' ? { nb: `systemet ${row.agent_id} hos virksomhet ${row.agent_org ?? 'ukjent'}`, en: `the system ${row.agent_id} of organisation ${row.agent_org ?? 'unknown'}` }
    : { nb: 'ukjent', en: 'unknown' };
  const whatText = what.length ? { nb: what.map((w) => `${w.nb} (${w.count})`).join(', '), en: what.map((w) => `${w.en} (${w.count})`).join(', ') } : { nb: 'opplysningene dine', en: 'your data' };
  const denied = row.outcome !== 'success';
  const reason = event.purposeOfEvent?.find((p) => p.text)?.text;
  return {
    when: new Date(row.recorded).toISOString(),
    who: { kind: row.agent_kind, id: row.agent_id, role, roleName },
    organisation: row.agent_org,
    action: row.action,
    what,
    basis: row.access_basis,
    basisText,
    purposeOfUse: row.purpose_of_use,
    emergency: !!row.emergency,
    outcome: row.outcome,
    onBehalfOf: row.on_behalf_of,
    ...(reason ? { reason } : {}),
    text: {
      nb: `${whoText.nb} ${denied ? 'forsøkte å se, men fikk ikke tilgang til' : act.nb} ${whatText.nb}${basisText ? `, grunnlag: ${basisText.nb}` : ''}${row.emergency ? ' (nødstilgang)' : ''}${reason ? `. Begrunnelse: «${reason}»` : ''}.`,
      en: `${whoText.en} ${denied ? 'tried to see but was refused' : act.en} ${whatText.en}${basisText ? `, basis: ${basisText.en}` : ''}${row.emergency ? ' (emergency access)' : ''}${reason ? `. Reason given: “${reason}”` : ''}.`,
    },
  };
}

export interface AccessLogQuery {
  from?: string;
  to?: string;
  count?: number;
  offset?: number;
}

/** Newest first; `from`/`to` bound the time the access happened. */
export async function readAccessLog(db: Queryable, compartments: string[], q: AccessLogQuery = {}): Promise<{ total: number; entries: AccessLogEntry[] }> {
  if (!compartments.length) return { total: 0, entries: [] };
  const where = ['compartment = any($1::text[])'];
  const params: unknown[] = [compartments];
  if (q.from) {
    params.push(q.from);
    where.push(`recorded >= $${params.length}::timestamptz`);
  }
  if (q.to) {
    params.push(q.to);
    where.push(`recorded < $${params.length}::timestamptz`);
  }
  const [{ n }] = await db.query<{ n: number }>(`select count(*)::int as n from audit_event where ${where.join(' and ')}`, params);
  const count = Math.min(Math.max(q.count ?? 50, 1), 500);
  const rows = await db.query(
    `select * from audit_event where ${where.join(' and ')} order by recorded desc, seq desc limit ${count} offset ${Math.max(q.offset ?? 0, 0)}`,
    params
  );
  return { total: Number(n), entries: rows.map(describe) };
}
