import { randomUUID } from 'node:crypto';
import type { Extension, List, MedicationRequest, MedicationStatement, OperationOutcomeIssue, Reference } from '@medplum/fhirtypes';
import { FhirError, issue } from '../../fhir/outcome.ts';
import { named, prescriptionIdOf } from './prescriptions.ts';
import { SETTINGS } from './settings.ts';
import { pllEntryIssues } from './validate.ts';
import { DISCONTINUATION_SYSTEM, LIST_TYPE_SYSTEM, PLL_CODE, PLL_ENTRY_SYSTEM, PLL_PAUSED_EXT, PRESCRIPTION_ID_SYSTEM, SERVICE_TAG } from './terms.ts';

/**
 * The patient's medication list (PLL) as data: one List per patient (id pll-<patient id>) whose
 * versions are the PLL versions, entries MedicationStatements whose id is the entry's immutable
 * UUID. Reconciliation rules that need no database live here.
 */
export const pllId = (patientId: string) => `pll-${patientId}`;

export const entryUuid = (s: MedicationStatement) => s.identifier?.find((i) => i.system === PLL_ENTRY_SYSTEM)?.value;

/** The entry versions a List version names, in order (entry items are version-specific references). */
export function entryVersions(list: List): { id: string; version: number }[] {
  return (list.entry ?? []).flatMap((e) => {
    const m = /^MedicationStatement\/([^/]+)\/_history\/(\d+)$/.exec(e.item.reference ?? '');
    return m ? [{ id: m[1], version: Number(m[2]) }] : [];
  });
}

export const isOpen = (s: MedicationStatement) => s.status === 'active' || s.status === 'on-hold' || s.status === 'intended';

export const isImmediateDiscontinuation = (s: MedicationStatement) =>
  s.status === 'stopped' && !!s.statusReason?.some((c) => c.coding?.some((x) => x.system === DISCONTINUATION_SYSTEM && x.code === 'immediate'));

/** A discontinued entry stays for the retention period (90 days) after its end date, then drops off. */
export function agedOut(s: MedicationStatement, now: Date): boolean {
  if (isOpen(s)) return false;
  const end = s.effectivePeriod?.end ?? s.dateAsserted;
  if (!end) return false;
  return Date.parse(end) + SETTINGS.discontinuedRetentionDays * 86_400_000 < now.getTime();
}

export const prescriptionRefOf = (s: MedicationStatement) => s.basedOn?.find((b) => b.reference?.startsWith('MedicationRequest/'))?.reference?.split('/')[1];

export function pausedOf(list: List | undefined): Extension | undefined {
  return list?.extension?.find((e) => e.url === PLL_PAUSED_EXT);
}

/** The clinical content of an entry, to see whether a reconciliation changed it. */
const clinical = (s: MedicationStatement) => {
  const { meta: _m, dateAsserted: _d, informationSource: _i, ...rest } = s;
  return JSON.stringify(rest, Object.keys(rest).sort());
};

export interface SubmittedEntry {
  statement: MedicationStatement;
  /** FHIRPath of the entry in the request, for messages. */
  at: string;
}

export interface ReconciledEntries {
  /** Every entry of the new version, in order; `previous` set when the entry existed. */
  entries: { statement: MedicationStatement; previous?: MedicationStatement; changed: boolean }[];
  /** Prescriptions (ids) whose entry was discontinued immediately in this version: they are revoked. */
  revoke: string[];
}

/**
 * The next version's entries from the previous version's and the clinician's submission.
 * Entries keep their UUID (a submitted entry with an unknown UUID is refused); an open entry may not
 * be left out (it is discontinued instead); discontinued entries left out are carried over until
 * they age out; no two open entries share a prescription.
 */
export function reconcileEntries(
  previous: MedicationStatement[],
  submitted: SubmittedEntry[],
  o: { patient: Reference<any>; doctor: Reference<any>; now: Date; prescriptions: Map<string, MedicationRequest> }
): ReconciledEntries {
  const issues: OperationOutcomeIssue[] = [];
  const byUuid = new Map(previous.map((s) => [s.id!, s]));
  const seen = new Set<string>();
  const out: ReconciledEntries = { entries: [], revoke: [] };
  const today = o.now.toISOString().slice(0, 10);
  for (const { statement: s, at } of submitted) {
    const uuid = entryUuid(s) ?? (s.id && byUuid.has(s.id) ? s.id : undefined);
    if (uuid && !byUuid.has(uuid)) {
      issues.push(issue('not-found', 'pll-unknown-entry', `Entry ${uuid} is not on the version this reconciliation is based on; new entries are sent without an identifier`, `${at}.identifier`));
      continue;
    }
    if (uuid && seen.has(uuid)) {
      issues.push(issue('duplicate', 'pll-duplicate-entry', `Entry ${uuid} is submitted twice`, `${at}.identifier`));
      continue;
    }
    const id = uuid ?? randomUUID();
    seen.add(id);
    issues.push(...pllEntryIssues(s, at));
    if (!['active', 'on-hold', 'stopped'].includes(s.status))
      issues.push(issue('code-invalid', 'pll-entry-status', `An entry is active, on-hold (paused) or stopped (discontinued), not ${s.status}`, `${at}.status`));
    if (s.subject?.reference && s.subject.reference !== o.patient.reference)
      issues.push(issue('invalid', 'pll-other-patient', `The entry is about ${s.subject.reference}, not the patient whose list this is (${o.patient.reference})`, `${at}.subject`));
    const prev = byUuid.get(id);
    const rxId = prescriptionRefOf(s);
    const rx = rxId ? o.prescriptions.get(rxId) : undefined;
    if (rxId && (!rx || rx.subject?.reference !== o.patient.reference))
      issues.push(issue('not-found', 'pll-unknown-prescription', `MedicationRequest/${rxId} is not a prescription of this patient`, `${at}.basedOn`));
    const { meta: _meta, ...content } = s;
    const statement: MedicationStatement = {
      ...content,
      ...named(content),
      id,
      meta: { tag: [SERVICE_TAG] },
      identifier: [{ system: PLL_ENTRY_SYSTEM, value: id }],
      subject: o.patient,
      ...(rx ? { basedOn: [{ reference: `MedicationRequest/${rx.id}`, identifier: { system: PRESCRIPTION_ID_SYSTEM, value: prescriptionIdOf(rx) ?? rx.id! } }] } : {}),
      ...(s.status === 'stopped' ? { effectivePeriod: { ...s.effectivePeriod, end: s.effectivePeriod?.end ?? today } } : {}),
      dateAsserted: o.now.toISOString(),
      informationSource: o.doctor,
    };
    const changed = !prev || clinical(prev) !== clinical(statement);
    out.entries.push({ statement: changed ? statement : prev!, previous: prev, changed });
    if (rx && isImmediateDiscontinuation(statement) && (!prev || !isImmediateDiscontinuation(prev)) && rx.status === 'active') out.revoke.push(rx.id!);
  }
  for (const prev of previous) {
    if (seen.has(prev.id!)) continue;
    if (isOpen(prev))
      issues.push(issue('required', 'pll-entry-missing', `Entry ${prev.id} (${prev.medicationReference?.display ?? prev.medicationCodeableConcept?.text ?? 'medication'}) is in use on the version this is based on: discontinue it (status stopped) instead of leaving it out`, 'Parameters.parameter'));
    else if (!agedOut(prev, o.now)) out.entries.push({ statement: prev, previous: prev, changed: false });
  }
  const byPrescription = new Map<string, string>();
  for (const { statement } of out.entries) {
    const rx = prescriptionRefOf(statement);
    if (!rx || !isOpen(statement)) continue;
    if (byPrescription.has(rx)) issues.push(issue('duplicate', 'pll-duplicate-prescription', `Entries ${byPrescription.get(rx)} and ${statement.id} both name prescription MedicationRequest/${rx}; an active prescription is on one entry only`, 'Parameters.parameter'));
    byPrescription.set(rx, statement.id!);
  }
  if (issues.length) throw new FhirError(issues.some((i) => i.code === 'not-found' || i.code === 'duplicate' || i.code === 'required') ? 400 : 422, issues);
  return out;
}

/** The List of a PLL version. */
export function pllList(o: { patientId: string; doctor: Reference<any>; now: Date; statements: MedicationStatement[]; paused?: Extension }): List {
  return {
    resourceType: 'List',
    id: pllId(o.patientId),
    meta: { tag: [SERVICE_TAG] },
    ...(o.paused ? { extension: [o.paused] } : {}),
    status: 'current',
    mode: 'working',
    title: 'Pasientens legemiddelliste',
    code: { coding: [{ system: LIST_TYPE_SYSTEM, code: PLL_CODE, display: 'Pasientens legemiddelliste (PLL)' }] },
    subject: { reference: `Patient/${o.patientId}` },
    date: o.now.toISOString(),
    source: o.doctor,
    ...(o.statements.length && { entry: o.statements.map((s) => ({ item: { reference: `MedicationStatement/${s.id}/_history/${s.meta?.versionId}` } })) }),
  };
}

/** The pause marker: who paused, from which organisation, when and why. */
export function pauseExtension(o: { doctor: Reference; organisation?: string; now: Date; reason: string }): Extension {
  return {
    url: PLL_PAUSED_EXT,
    extension: [
      { url: 'start', valueDateTime: o.now.toISOString() },
      { url: 'by', valueReference: o.doctor },
      ...(o.organisation ? [{ url: 'organisation', valueIdentifier: { system: 'urn:oid:2.16.578.1.12.4.1.4.101', value: o.organisation } }] : []),
      { url: 'reason', valueString: o.reason },
    ],
  };
}
