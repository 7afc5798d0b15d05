import type { Organization, Practitioner, PractitionerRole } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.ts';
import { findMatches } from '../store/search/index.ts';
import { AUTHORISATION_SYSTEM, HPR_SYSTEM, NIN_SYSTEM, ORGNR_SYSTEM, RESH_SYSTEM } from './principal.ts';
import type { PractitionerTokenOptions } from './dev-authority.ts';

/**
 * The practitioner side of the development login (a HelseID stand-in for the clinician view):
 * one picks a synthetic health professional from the personnel registry in the database, the
 * organisation they act for and the purpose of use, and the dev server issues a HelseID-like
 * token with the trust-framework attestation for exactly that choice.
 *
 * The choice is the dev server's account id (`encodeClinicianAccount`), so a session and its
 * tokens need no server-side state and survive restarts of the server.
 */

/** The public client of the clinician view (authorization code + PKCE, redirect `<BASE_URL>/clinician/callback`). */
export const DEV_CLINICIAN_CLIENT = 'dev-kjernejournal';

/** Purposes of use one may log in with: ordinary care, or emergency (ETREAT, break the glass). */
export const LOGIN_PURPOSES = ['TREAT', 'ETREAT', 'BTG'] as const;
export type LoginPurpose = (typeof LOGIN_PURPOSES)[number];

export interface ClinicianWorkplace {
  /** Organisation number of the legal entity / point of care (nearest organisation with one). */
  orgnr: string;
  orgName: string;
  /** The department (RESH id) when the role is at a department without its own orgnr. */
  department?: { resh: string; name: string };
  /** 9060 category of the role (LE, SP, …). */
  category: string;
}

export interface ClinicianChoice {
  hpr: string;
  nin?: string;
  name: string;
  workplaces: ClinicianWorkplace[];
}

/** What one logged in as: practitioner, workplace and purpose of use. */
export interface ClinicianAccount {
  hpr: string;
  nin?: string;
  orgnr: string;
  resh?: string;
  category: string;
  purpose: LoginPurpose;
}

const ACCOUNT_PREFIX = 'hpr:';

export function encodeClinicianAccount(a: ClinicianAccount): string {
  const parts = [`${ACCOUNT_PREFIX}${a.hpr}`, `org=${a.orgnr}`, `cat=${a.category}`, `pou=${a.purpose}`];
  if (a.resh) parts.push(`resh=${a.resh}`);
  if (a.nin) parts.push(`nin=${a.nin}`);
  return parts.join(';');
}

/** The practitioner account behind a dev-server account id, or undefined for a citizen's. */
export function decodeClinicianAccount(accountId: string | undefined): ClinicianAccount | undefined {
  if (!accountId?.startsWith(ACCOUNT_PREFIX)) return undefined;
  const [head, ...rest] = accountId.split(';');
  const kv = Object.fromEntries(rest.map((p) => p.split('=') as [string, string]));
  const purpose = kv.pou as LoginPurpose;
  if (!kv.org || !kv.cat || !LOGIN_PURPOSES.includes(purpose)) return undefined;
  return { hpr: head.slice(ACCOUNT_PREFIX.length), orgnr: kv.org, category: kv.cat, purpose, resh: kv.resh, nin: kv.nin };
}

/** The token options for a logged-in practitioner: the attestation names no patient (the view looks patients up per request). */
export function clinicianTokenOptions(a: ClinicianAccount, clientId: string): PractitionerTokenOptions {
  return {
    hpr: a.hpr,
    nin: a.nin,
    org: a.orgnr,
    childOrg: a.orgnr,
    department: a.resh,
    authorisation: a.category,
    purpose: a.purpose,
    // The trust framework's usual pairing of purpose and care relation (domain §0).
    purposeDetails: a.purpose === 'TREAT' ? 'BEHANDLER' : 'BLAALYS',
    clientId,
  };
}

const identifier = (r: { identifier?: { system?: string; value?: string }[] } | undefined, system: string) =>
  r?.identifier?.find((i) => i.system === system)?.value;

/**
 * The personnel registry as the login page needs it: practitioners matching `query` (HPR number
 * or name; empty: the first ones) with their roles' organisations.
 */
export function practitionerDirectoryFromDb(db: Queryable): (query: string, limit?: number) => Promise<ClinicianChoice[]> {
  const load = async <T>(type: string, ids: string[]): Promise<T[]> => {
    if (!ids.length) return [];
    const rows = await db.query<{ content: string }>(`select content from resource where type = $1 and id = any($2::text[]) and not deleted`, [type, ids]);
    return rows.map((r) => JSON.parse(r.content) as T);
  };
  const loadRids = async <T>(rids: number[]): Promise<T[]> => {
    if (!rids.length) return [];
    const rows = await db.query<{ content: string }>(`select content from resource where rid = any($1::bigint[]) and not deleted order by rid`, [rids]);
    return rows.map((r) => JSON.parse(r.content) as T);
  };
  const refId = (ref: string | undefined, type: string) => (ref?.startsWith(`${type}/`) ? ref.slice(type.length + 1) : undefined);

  return async (query, limit = 20) => {
    const q = query.trim();
    const criteria: [string, string][] = !q ? [['active', 'true']] : /^\d+$/.test(q) ? [['identifier', `${HPR_SYSTEM}|${q}`]] : [['name', q]];
    const practitioners = await loadRids<Practitioner>((await findMatches(db, 'Practitioner', criteria, limit)).map((m) => m.rid));
    if (!practitioners.length) return [];
    const roleMatches = await findMatches(db, 'PractitionerRole', [['practitioner', practitioners.map((p) => `Practitioner/${p.id}`).join(',')]], limit * 10);
    const roles = await loadRids<PractitionerRole>(roleMatches.map((m) => m.rid));
    const orgs = new Map((await load<Organization>('Organization', roles.flatMap((r) => refId(r.organization?.reference, 'Organization') ?? []))).map((o) => [o.id!, o]));
    const parentIds = [...orgs.values()].flatMap((o) => refId(o.partOf?.reference, 'Organization') ?? []).filter((id) => !orgs.has(id));
    for (const o of await load<Organization>('Organization', parentIds)) orgs.set(o.id!, o);

    return practitioners.flatMap((p) => {
      const hpr = identifier(p, HPR_SYSTEM);
      if (!hpr) return [];
      const workplaces = roles
        .filter((r) => r.active !== false && refId(r.practitioner?.reference, 'Practitioner') === p.id)
        .flatMap((r): ClinicianWorkplace[] => {
          const org = orgs.get(refId(r.organization?.reference, 'Organization') ?? '');
          const parent = org && orgs.get(refId(org.partOf?.reference, 'Organization') ?? '');
          const legal = identifier(org, ORGNR_SYSTEM) ? org : identifier(parent, ORGNR_SYSTEM) ? parent : undefined;
          const category = r.code?.flatMap((c) => c.coding ?? []).find((c) => c.system === AUTHORISATION_SYSTEM)?.code;
          if (!org || !legal || !category) return [];
          const resh = legal === org ? undefined : identifier(org, RESH_SYSTEM);
          return [{ orgnr: identifier(legal, ORGNR_SYSTEM)!, orgName: org.name ?? legal.name ?? '', category, ...(resh ? { department: { resh, name: org.name ?? '' } } : {}) }];
        });
      const n = p.name?.[0];
      return [{ hpr, nin: identifier(p, NIN_SYSTEM), name: [...(n?.given ?? []), n?.family].filter(Boolean).join(' ') || `HPR ${hpr}`, workplaces }];
    });
  };
}

const CATEGORY_NAMES: Record<string, string> = { LE: 'lege', SP: 'sykepleier', FA1: 'farmasøyt', FA2: 'reseptarfarmasøyt', JO: 'jordmor', BI: 'bioingeniør' };
const PURPOSE_TEXT: Record<LoginPurpose, string> = {
  TREAT: 'Behandling (TREAT)',
  ETREAT: 'Akutt behandling (ETREAT)',
  BTG: 'Nødtilgang, «break the glass» (BTG)',
};

/** The value of a workplace radio button: which practitioner at which workplace. */
export const workplaceValue = (hpr: string, w: ClinicianWorkplace) => [hpr, w.orgnr, w.category, w.department?.resh ?? ''].join('|');

/** The login page: search the personnel registry, pick a person at a workplace and a purpose of use. */
export function practitionerLoginPage(o: { action: string; searchAction: string; query: string; choices: ClinicianChoice[]; error?: string }): string {
  const rows = o.choices
    .map((c) => {
      const places = c.workplaces
        .map((w, i) => {
          const id = `w-${esc(c.hpr)}-${i}`;
          const where = w.department ? `${w.department.name} (org.nr. ${w.orgnr}, RESH ${w.department.resh})` : `${w.orgName} (org.nr. ${w.orgnr})`;
          return `<li><input type="radio" name="workplace" id="${id}" value="${esc(workplaceValue(c.hpr, w))}" required> <label for="${id}">${esc(c.name)}, ${esc(CATEGORY_NAMES[w.category] ?? w.category)} (HPR ${esc(c.hpr)}), ${esc(where)}</label></li>`;
        })
        .join('');
      return places;
    })
    .join('');
  const purposes = LOGIN_PURPOSES.map(
    (p, i) => `<li><input type="radio" name="purpose" id="pou-${p}" value="${p}"${i === 0 ? ' checked' : ''}> <label for="pou-${p}">${esc(PURPOSE_TEXT[p])}</label></li>`
  ).join('');
  return `<!doctype html><html lang="nb"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Innlogging for helsepersonell (utvikling)</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:0 auto;padding:1rem;color:#1a1a1a;line-height:1.5}ul{list-style:none;padding:0}li{margin:.4rem 0}
input[type=search]{font-size:1rem;padding:.4rem;min-width:14rem}button{font-size:1rem;padding:.5rem 1rem;background:#005f7a;color:#fff;border:0;border-radius:4px;cursor:pointer}
button:focus-visible,input:focus-visible{outline:3px solid #ff9100;outline-offset:2px}fieldset{border:1px solid #767676;margin:1rem 0;padding:.5rem 1rem}.error{color:#a30000;font-weight:600}</style></head>
<body><main><h1>Logg inn som helsepersonell (kun utvikling)</h1>
<p>HelseID-lignende innlogging med syntetisk helsepersonell fra helsepersonellregisteret. / Development login as a synthetic health professional.</p>
${o.error ? `<p class="error" role="alert">${esc(o.error)}</p>` : ''}
<form method="get" action="${esc(o.searchAction)}" role="search"><label for="q">Søk på HPR-nummer eller navn / Search by HPR number or name</label><br>
<input type="search" id="q" name="q" value="${esc(o.query)}"> <button type="submit">Søk</button></form>
<form method="post" action="${esc(o.action)}">
<fieldset><legend>Helsepersonell og virksomhet / Health professional and organisation</legend>
${rows ? `<ul>${rows}</ul>` : '<p>Ingen treff. / No matches.</p>'}</fieldset>
<fieldset><legend>Formål / Purpose of use</legend><ul>${purposes}</ul></fieldset>
<button type="submit">Logg inn</button></form></main></body></html>`;
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
