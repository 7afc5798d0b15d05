import type { Resource } from '@medplum/fhirtypes';
import { and, raw, sql, type Sql } from '../../store/sql.ts';

/**
 * The Kjernejournal regulation's time windows (domain.md §3): health personnel see a document only
 * while its date lies within the window of its class. Keyed by the class code (Volven 9602,
 * `DocumentReference.category` as IHE MHD maps XDS classCode, or `DocumentReference.type`).
 * `months: null` is unlimited. A document with several windowed codes gets the strictest window;
 * one whose windowed class has no `date` is outside every window (its age cannot be shown).
 * Override with DOCUMENT_WINDOWS: JSON `{"<system>|<code>": <months or null>, ...}`.
 */
export const DOCUMENT_CLASS_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9602';

export interface DocumentWindow {
  system: string;
  code: string;
  display: string;
  /** Months the document stays visible after its date; null: always. */
  months: number | null;
}

export const DEFAULT_WINDOWS: DocumentWindow[] = [
  { system: DOCUMENT_CLASS_SYSTEM, code: 'A00-1', display: 'Epikriser og sammenfatninger (discharge summaries)', months: null },
  { system: DOCUMENT_CLASS_SYSTEM, code: 'C00-1', display: 'Laboratoriesvar (lab)', months: 12 },
  { system: DOCUMENT_CLASS_SYSTEM, code: 'D00-1', display: 'Organfunksjon (organ function)', months: 60 },
  { system: DOCUMENT_CLASS_SYSTEM, code: 'E00-1', display: 'Bildediagnostikk (imaging)', months: 60 },
  { system: DOCUMENT_CLASS_SYSTEM, code: 'I00-1', display: 'Henvisninger og korrespondanse (referrals, correspondence)', months: 12 },
];

export function loadWindows(env: NodeJS.ProcessEnv = process.env): DocumentWindow[] {
  if (!env.DOCUMENT_WINDOWS) return DEFAULT_WINDOWS;
  const table = JSON.parse(env.DOCUMENT_WINDOWS) as Record<string, number | null>;
  return Object.entries(table).map(([key, months]) => {
    const [system, code] = key.includes('|') ? key.split('|') : [DOCUMENT_CLASS_SYSTEM, key];
    if (months !== null && !(Number.isInteger(months) && months >= 0)) throw new Error(`DOCUMENT_WINDOWS: ${key} must map to whole months or null`);
    return { system, code, display: code, months };
  });
}

const WINDOWS = loadWindows();

/** The instant a window of `months` starts at, seen from `now` (calendar months, UTC). */
function cutoff(now: Date, months: number): Date {
  const d = new Date(now.getTime());
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
}

function carries(resource: Resource, w: DocumentWindow): boolean {
  const doc = resource as any;
  const codings = [...(doc.category ?? []).flatMap((c: any) => c?.coding ?? []), ...(doc.type?.coding ?? [])];
  return codings.some((c: any) => c?.system === w.system && c?.code === w.code);
}

function carriesSql(alias: string, w: DocumentWindow): Sql {
  const a = raw(alias);
  const coding = JSON.stringify([{ system: w.system, code: w.code }]);
  return sql`(coalesce((${a}.content::jsonb -> 'category') @> ${JSON.stringify([{ coding: [{ system: w.system, code: w.code }] }])}::jsonb, false)
    or coalesce((${a}.content::jsonb -> 'type' -> 'coding') @> ${coding}::jsonb, false))`;
}

/** True when the document lies within the window of every windowed class it carries. */
export function withinWindows(resource: Resource, now: Date, windows = WINDOWS): boolean {
  if (resource.resourceType !== 'DocumentReference') return true;
  const date = (resource as any).date as string | undefined;
  for (const w of windows) {
    if (w.months === null || !carries(resource, w)) continue;
    if (!date || !(Date.parse(date) >= cutoff(now, w.months).getTime())) return false;
  }
  return true;
}

/** withinWindows as SQL over a resource (or resource_history) row. */
export function withinWindowsSql(alias: string, now: Date, windows = WINDOWS): Sql {
  const parts: Sql[] = [];
  for (const w of windows) {
    if (w.months === null) continue;
    // DocumentReference.date is an instant (validated on write), so it casts.
    parts.push(sql`(not ${carriesSql(alias, w)} or coalesce((${raw(alias)}.content::jsonb ->> 'date')::timestamptz >= ${cutoff(now, w.months).toISOString()}::timestamptz, false))`);
  }
  // CASE, not OR: the cast must never meet another type's partial dates, whatever order the planner picks.
  return sql`(case when ${raw(alias)}.type = 'DocumentReference' then ${and(parts)} else true end)`;
}
