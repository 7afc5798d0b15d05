import type { Coding, Extension, Resource } from '@medplum/fhirtypes';
import { CITIZEN_ACCESS_TAG_SYSTEM } from '../../access/services.ts';
import { SYSTEM } from '../../registry/systems.ts';
import { and, join, raw, sql, type Sql } from '../../store/sql.ts';
import { disciplineCodings, disciplineOf, rules, UNSPECIFIED, type DisciplineRule } from './settings.ts';

/**
 * When a lab result reaches the citizen (docs/services/lab-results.md §Release), decided at read
 * time from the resource's own content so that a change of the rule table applies at once and
 * seeded or imported results follow the same rule. The same decision exists twice, in code
 * (`visibleResult`, for reads) and as SQL (`visibleResultSql`, for every search, include,
 * $everything and history query); both read only the row's content, which `resource` and
 * `resource_history` share.
 */

/** The result types the release and discipline rules govern. Orders and specimens are not results. */
export const RESULT_TYPES = ['DiagnosticReport', 'Observation'];

/** The requester's decision, on `meta` of every version of the report and its observations. */
export const RELEASE_EXTENSION = 'https://samhandling.dev/fhir/StructureDefinition/lab-citizen-release';
export const RELEASE_DECISIONS = ['block', 'delay', 'release'] as const;
export type ReleaseDecision = (typeof RELEASE_DECISIONS)[number];

/** A result shared only for quality assurance carries this purpose-of-use security label. */
export const QA_ONLY: Coding = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HQUALIMP', display: 'health quality improvement' };
export const WITHHELD_TAG: Coding = { system: CITIZEN_ACCESS_TAG_SYSTEM, code: 'withheld' };

export interface Release {
  decision: ReleaseDecision;
  until?: string;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
}

export function releaseOf(resource: Resource): Release | undefined {
  const ext = resource.meta?.extension?.find((e) => e.url === RELEASE_EXTENSION);
  if (!ext) return undefined;
  const part = (url: string) => ext.extension?.find((e) => e.url === url);
  return {
    decision: part('decision')?.valueCode as ReleaseDecision,
    until: part('until')?.valueInstant,
    decidedBy: part('decidedBy')?.valueIdentifier?.value,
    decidedAt: part('decidedAt')?.valueInstant,
    reason: part('reason')?.valueString,
  };
}

export function releaseExtension(r: Release): Extension {
  const parts: Extension[] = [{ url: 'decision', valueCode: r.decision }];
  if (r.until) parts.push({ url: 'until', valueInstant: r.until });
  if (r.decidedBy) parts.push({ url: 'decidedBy', valueIdentifier: { system: SYSTEM.hpr, value: r.decidedBy } });
  if (r.decidedAt) parts.push({ url: 'decidedAt', valueInstant: r.decidedAt });
  if (r.reason) parts.push({ url: 'reason', valueString: r.reason });
  return { url: RELEASE_EXTENSION, extension: parts };
}

/** The resource with this decision on its meta; a block also carries the core's withheld tag. */
export function withRelease<T extends Resource>(resource: T, r: Release): T {
  const meta = resource.meta ?? {};
  const tags = (meta.tag ?? []).filter((t) => !(t.system === WITHHELD_TAG.system && t.code === WITHHELD_TAG.code));
  const extension = [...(meta.extension ?? []).filter((e) => e.url !== RELEASE_EXTENSION), releaseExtension(r)];
  const tag = r.decision === 'block' ? [...tags, WITHHELD_TAG] : tags;
  return { ...resource, meta: { ...meta, extension, ...(tag.length ? { tag } : { tag: undefined }) } };
}

export function isQualityAssuranceOnly(resource: Resource): boolean {
  return (resource.meta?.security ?? []).some((s) => s.system === QA_ONLY.system && s.code === QA_ONLY.code);
}

export const isResult = (resource: Resource) => RESULT_TYPES.includes(resource.resourceType);

const ms = (iso: string | undefined) => (iso ? Math.floor(Date.parse(iso)) : NaN);

/**
 * The moment the automatic rule counts from: `issued`, else when the version was stored (the
 * repository stamps meta.lastUpdated on every version). Read from the content only, so a history
 * row and the code agree; content with neither (written around the repository) counts as old.
 */
function baseTime(resource: Resource): number {
  const at = (resource as { issued?: string }).issued ?? resource.meta?.lastUpdated;
  return at ? ms(at) : -Infinity;
}

/** The earliest `issued` (or storage time) the citizen sees now, per discipline; null: never. */
function cutoff(rule: DisciplineRule, now: Date): number | null {
  return rule.citizenDelayDays === null ? null : now.getTime() - rule.citizenDelayDays * 86_400_000;
}

/** Whether this result (of a discipline citizens may see) is released to the citizen at `now`. */
export function releasedToCitizen(resource: Resource, now: Date): boolean {
  const release = releaseOf(resource);
  switch (release?.decision) {
    case 'block':
      return false;
    case 'release':
      return true;
    case 'delay':
      return ms(release.until) <= now.getTime();
    default: {
      const limit = cutoff(rules()[disciplineOf(resource)], now);
      return limit !== null && baseTime(resource) <= limit;
    }
  }
}

/** The whole lab rule for one caller: discipline switches, quality assurance, release. */
export function visibleResult(resource: Resource, citizenView: boolean, now: Date): boolean {
  if (!isResult(resource)) return true;
  const rule = rules()[disciplineOf(resource)];
  if (!citizenView) return rule.personnel;
  return rule.citizen && !isQualityAssuranceOnly(resource) && releasedToCitizen(resource, now);
}

/**
 * A reference to a DiagnosticReport, its id in group 1: relative, by absolute URL or to one
 * version. Read the same way in JavaScript and in PostgreSQL's regular expressions. An absolute
 * URL is taken to name a report here whatever its base: a document is held back by a
 * same-patient report with that id rather than let through on how its reference was spelt.
 */
const REPORT_REFERENCE = '(?:^|/)DiagnosticReport/([A-Za-z0-9.-]{1,64})(?:/_history/[^/]+)?$';
const reportReference = new RegExp(REPORT_REFERENCE);

/**
 * The DiagnosticReports a document is the report of: the ones DocumentReference.context.related
 * names. A lab report in document form is seen only by whoever may see its DiagnosticReport: a
 * block, a delay or quality assurance holds the document too.
 */
export function reportsOfDocument(resource: Resource): string[] {
  if (resource.resourceType !== 'DocumentReference') return [];
  return (resource.context?.related ?? []).flatMap((r) => {
    const id = r.reference && reportReference.exec(r.reference)?.[1];
    return id ? [id] : [];
  });
}

/** What the requester's UI shows: whether the citizen sees the result now, and from when. */
export interface CitizenReleaseStatus {
  discipline: string;
  decision: ReleaseDecision | 'automatic';
  visibleNow: boolean;
  /** When the citizen sees (or saw) it; absent when never, as things stand. */
  releaseAt?: string;
  withheldBecause?: 'discipline-off' | 'quality-assurance' | 'blocked' | 'not-automatic';
}

export function citizenReleaseStatus(resource: Resource, now: Date): CitizenReleaseStatus {
  const discipline = disciplineOf(resource);
  const rule = rules()[discipline];
  const release = releaseOf(resource);
  const decision = release?.decision ?? 'automatic';
  const at =
    decision === 'block' ? undefined
    : decision === 'release' ? ms(release?.decidedAt)
    : decision === 'delay' ? ms(release?.until)
    : rule.citizenDelayDays === null ? undefined
    : baseTime(resource) + rule.citizenDelayDays * 86_400_000;
  const withheldBecause = !rule.citizen ? 'discipline-off'
    : isQualityAssuranceOnly(resource) ? 'quality-assurance'
    : decision === 'block' ? 'blocked'
    : at === undefined ? 'not-automatic'
    : undefined;
  return {
    discipline,
    decision,
    visibleNow: visibleResult(resource, true, now),
    ...(withheldBecause ? { withheldBecause } : at !== undefined && Number.isFinite(at) ? { releaseAt: new Date(at).toISOString() } : {}),
  };
}

// --- the same, in SQL

const content = (alias: string) => sql`(${raw(alias)}.content::jsonb)`;

/** The discipline of a row, in table order (the SQL twin of disciplineOf). */
export function disciplineSql(alias: string): Sql {
  const c = content(alias);
  const whens = disciplineCodings().map(
    (d) => sql`when (${c} -> 'category') @> ${JSON.stringify([{ coding: [{ system: d.system, code: d.code }] }])}::jsonb then ${d.discipline}::text`
  );
  return sql`(case ${join(whens, ' ')} else ${UNSPECIFIED}::text end)`;
}

function releasePartSql(alias: string, part: string, valueKey: string): Sql {
  const path = `$.meta.extension[*] ? (@.url == "${RELEASE_EXTENSION}").extension[*] ? (@.url == "${part}").${valueKey}`;
  return sql`(jsonb_path_query_first(${content(alias)}, ${path}::jsonpath) #>> '{}')`;
}

const millis = (expr: Sql) => sql`date_trunc('milliseconds', ${expr})`;

function releasedToCitizenSql(alias: string, now: Date): Sql {
  const c = content(alias);
  const base = millis(sql`coalesce(${c} ->> 'issued', ${c} -> 'meta' ->> 'lastUpdated', '-infinity')::timestamptz`);
  const whens = Object.entries(rules()).map(([discipline, rule]) => {
    const limit = cutoff(rule, now);
    return limit === null ? sql`when ${discipline} then false` : sql`when ${discipline} then ${base} <= ${new Date(limit).toISOString()}::timestamptz`;
  });
  const auto = sql`(case ${disciplineSql(alias)} ${join(whens, ' ')} else false end)`;
  const until = millis(sql`${releasePartSql(alias, 'until', 'valueInstant')}::timestamptz`);
  return sql`coalesce(case ${releasePartSql(alias, 'decision', 'valueCode')}
    when 'block' then false when 'release' then true when 'delay' then ${until} <= ${now.toISOString()}::timestamptz
    else ${auto} end, false)`;
}

function disciplinesWhere(flag: 'citizen' | 'personnel'): { allOn: boolean; on: string[] } {
  const on = Object.entries(rules()).filter(([, r]) => r[flag]).map(([d]) => d);
  return { allOn: on.length === Object.keys(rules()).length, on };
}

export function visibleResultSql(alias: string, citizenView: boolean, now: Date): Sql {
  const a = raw(alias);
  const switches = disciplinesWhere(citizenView ? 'citizen' : 'personnel');
  const parts: Sql[] = [];
  if (!switches.allOn) parts.push(sql`${disciplineSql(alias)} = any(${switches.on}::text[])`);
  if (citizenView) {
    // A deleted version has no content to judge: its tombstone would tell that a held-back result existed.
    parts.push(sql`${a}.content is not null`);
    parts.push(sql`not coalesce((${content(alias)} -> 'meta' -> 'security') @> ${JSON.stringify([{ system: QA_ONLY.system, code: QA_ONLY.code }])}::jsonb, false)`);
    parts.push(releasedToCitizenSql(alias, now));
  }
  if (!parts.length) return raw('true');
  return sql`(not (${a}.type = any(${RESULT_TYPES}::text[])) or ${and(parts)})`;
}

/** reportsOfDocument's rule in SQL: true unless the row is a document of a report this viewer may not see. */
export function documentOfVisibleReportSql(alias: string, citizenView: boolean, now: Date): Sql {
  const a = raw(alias);
  return sql`(${a}.type <> 'DocumentReference' or not exists (select 1 from resource dr
    where dr.compartment = ${a}.compartment and dr.type = 'DiagnosticReport' and not dr.deleted
      and dr.id in (select substring(ref #>> '{}' from ${REPORT_REFERENCE}) from jsonb_path_query(${a}.content::jsonb, '$.context.related[*].reference') ref)
      and not ${visibleResultSql('dr', citizenView, now)}))`;
}
