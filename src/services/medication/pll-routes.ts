import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, List, MedicationRequest, MedicationStatement, Resource } from '@medplum/fhirtypes';
import type { PatientGrant } from '../../access/policy.ts';
import { sendResource } from '../../api/http.ts';
import { badRequest, conflict, FhirError, issue, notFound, preconditionFailed } from '../../fhir/outcome.ts';
import { parseIfMatch, type Writer } from '../../store/repository.ts';
import { run, sql, type Sql } from '../../store/sql.ts';
import type { Queryable } from '../../store/db.ts';
import type { ServiceDeps } from '../module.ts';
import { patientInContext, practitionerRef } from './context.ts';
import { within } from './operation-scope.ts';
import { stringParam } from './params.ts';
import { operationParameters } from '../../fhir/parameters.ts';
import { agedOut, entryVersions, isOpen, pausedOf, pauseExtension, pllId, pllList, prescriptionRefOf, reconcileEntries } from './pll.ts';
import { isCurrent } from './prescriptions.ts';
import { revokedPrescription } from './prescription-routes.ts';
import { practitionerIn } from './rules.ts';
import { SETTINGS } from './settings.ts';
import { lockForUpdate, writeChecked } from './store.ts';
import { LIST_TYPE_SYSTEM, LOOSE_PRESCRIPTIONS_CODE } from './terms.ts';

/**
 * The patient's medication list (PLL), for the patient in context (nhn-patient-nin, or the citizen):
 *   GET  /fhir/$medication-list          the current version with its entries, their prescriptions and
 *                                        the "løse resepter" (prescriptions on no entry); ETag W/"<version>"
 *   POST /fhir/$medication-list          reconciliation (samstemming) against the version read:
 *                                        If-Match W/"<version>" (or parameter version); becomes the next version
 *   POST /fhir/$medication-list-pause    pause (parameter reason); POST /fhir/$medication-list-resume
 * Every version is the List pll-<patient id>: GET /fhir/List/pll-<id>/_history/<version>.
 */
export async function pllRoutes(app: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const { repo } = deps;

  /** What the caller may see of the patient's PLL and prescriptions, as a collection Bundle. */
  async function view(request: FastifyRequest, grant: PatientGrant): Promise<{ bundle: Bundle; version?: string; stored: Resource[] }> {
    const now = request.access.context.now;
    const visible = (type: string) => request.access.filterFor(type)('r');
    const rows = async <T>(type: string, where = sql`true`) =>
      (await run<{ content: string }>(repo.db, sql`select r.content from resource r where r.compartment = ${grant.patientId} and r.type = ${type}
        and not r.deleted and ${where} and ${visible(type)} order by r.rid`)).map((x) => JSON.parse(x.content) as T);
    const [list] = await rows<List>('List', sql`r.id = ${pllId(grant.patientId)}`);
    const statements = list ? await entriesOf(repo.db, list, request.access.filterFor('MedicationStatement')('h')) : [];
    const shown = statements.filter((s) => !agedOut(s, now));
    const referenced = new Set(shown.map(prescriptionRefOf).filter((x): x is string => !!x));
    // The active ones (candidates for løse resepter) and the ones the entries name; not the whole history.
    const prescriptions = await rows<MedicationRequest>('MedicationRequest', sql`(r.content::jsonb ->> 'status' = 'active' or r.id = any(${[...referenced]}::text[]))`);
    const onList = new Set(shown.filter(isOpen).map(prescriptionRefOf).filter(Boolean));
    const loose = prescriptions.filter((mr) => mr.status === 'active' && isCurrent(mr, now) && !onList.has(mr.id));
    const included = prescriptions.filter((mr) => referenced.has(mr.id!) || loose.includes(mr));
    // Entries past their 90 days are not shown; the List says it is then a subset of the stored version.
    const listShown: List | undefined =
      list && shown.length < statements.length
        ? {
            ...list,
            meta: { ...list.meta, tag: [...(list.meta?.tag ?? []), { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' }] },
            entry: list.entry?.filter((e) => shown.some((s) => e.item.reference?.startsWith(`MedicationStatement/${s.id}/`))),
          }
        : list;
    const looseList: List = {
      resourceType: 'List',
      status: 'current',
      mode: 'snapshot',
      title: 'Løse resepter: resepter som ikke står i legemiddellisten; tas med i neste samstemming',
      code: { coding: [{ system: LIST_TYPE_SYSTEM, code: LOOSE_PRESCRIPTIONS_CODE, display: 'Løse resepter' }] },
      subject: { reference: `Patient/${grant.patientId}` },
      date: now.toISOString(),
      ...(loose.length && { entry: loose.map((mr) => ({ item: { reference: `MedicationRequest/${mr.id}` }, flag: { text: 'Ikke i legemiddellisten' } })) }),
    };
    const base = deps.fhirBase();
    const stored: Resource[] = [...(list ? [list] : []), ...shown, ...included];
    const entry = [...(listShown ? [listShown] : []), ...shown, ...included].map((r) => ({ fullUrl: `${base}/${r.resourceType}/${r.id}`, resource: r }));
    entry.push({ fullUrl: `urn:uuid:${randomUUID()}`, resource: looseList });
    return { bundle: { resourceType: 'Bundle', type: 'collection', timestamp: now.toISOString(), entry }, version: list?.meta?.versionId, stored };
  }

  async function sendView(request: FastifyRequest, reply: FastifyReply, grant: PatientGrant, status = 200) {
    const { bundle, version, stored } = await view(request, grant);
    request.returnedResources = stored;
    if (version) reply.header('etag', `W/"${version}"`);
    return sendResource(request, reply, bundle, status);
  }

  app.get('/$medication-list', async (request, reply) => sendView(request, reply, patientInContext(request.access.context)));

  /** The stored PLL, locked for this transaction (undefined when the patient has none yet). */
  async function lockedList(w: Writer, patientId: string): Promise<{ list: List; version: number } | undefined> {
    const [row] = await w.tx.query<{ content: string; version: number; deleted: boolean }>(
      `select content, version, deleted from resource where type = 'List' and id = $1 for update`,
      [pllId(patientId)]
    );
    return row && !row.deleted ? { list: JSON.parse(row.content), version: Number(row.version) } : undefined;
  }

  /** The version the caller based the change on: If-Match, or the parameter `version`. */
  function basedOnVersion(request: FastifyRequest): number | undefined {
    const ifMatch = request.headers['if-match'] as string | undefined;
    if (ifMatch) return parseIfMatch(ifMatch);
    const p = operationParameters(request.body).find((x) => x.name === 'version');
    const v = p?.valueInteger ?? (p?.valueString !== undefined ? Number(p.valueString) : undefined);
    if (v !== undefined && !Number.isInteger(v)) throw badRequest('invalid-version', 'Parameter version must be the PLL version number', "Parameters.parameter.where(name = 'version')");
    return v;
  }

  function checkVersion(current: { version: number } | undefined, wanted: number | undefined) {
    if (!current) {
      if (wanted !== undefined && wanted !== 0)
        throw preconditionFailed('pll-stale-version', `The patient has no medication list yet, so it cannot be at version ${wanted}: submit the first version without If-Match`);
      return;
    }
    if (wanted === undefined)
      throw new FhirError(428, [issue('conflict', 'pll-version-required', `Reconcile against the version you read: send If-Match W/"${current.version}" (the list is at version ${current.version})`, 'If-Match')]);
    if (wanted !== current.version)
      throw preconditionFailed(
        'pll-stale-version',
        `The medication list has changed: it is at version ${current.version}, and this reconciliation was based on version ${wanted}. Read the list again (GET /fhir/$medication-list), compare it with your local medication, and submit against version ${current.version}.`
      );
  }

  app.post('/$medication-list', async (request, reply) => {
    const ctx = request.access.context;
    const doctor = practitionerIn(ctx, SETTINGS.pllCategories, 'pll-doctors-only', 'Submitting the medication list (PLL)');
    const grant = patientInContext(ctx);
    const params = operationParameters(request.body);
    const submitted = params.flatMap((p, i) => {
      if (p.name !== 'entry') return [];
      if (p.resource?.resourceType !== 'MedicationStatement') throw badRequest('invalid-parameter', 'Each "entry" carries a MedicationStatement', `Parameters.parameter[${i}].resource`);
      return [{ statement: p.resource as MedicationStatement, at: `Parameters.parameter[${i}].resource` }];
    });
    const wanted = basedOnVersion(request);
    const patient = { reference: `Patient/${grant.patientId}` };
    const doctorRef = practitionerRef(doctor);
    const created = await within(ctx, 'pll', () =>
      repo.inTransaction(async (w) => {
        // The row lock serialises reconciliations: of two based on the same version, the second sees the first's.
        const current = await lockedList(w, grant.patientId);
        checkVersion(current, wanted);
        const paused = pausedOf(current?.list);
        if (paused) throw conflict('pll-paused', `The medication list is paused (${paused.extension?.find((e) => e.url === 'reason')?.valueString ?? 'no reason given'}): resume it before reconciling`);
        const previous = current ? await entriesOf(w.tx, current.list) : [];
        const rxIds = [...new Set(submitted.map((s) => prescriptionRefOf(s.statement)).filter((x): x is string => !!x))];
        const prescriptions = new Map((await visiblePrescriptions(request, w, grant.patientId, rxIds)).map((mr) => [mr.id!, mr]));
        const next = reconcileEntries(previous, submitted, { patient, doctor: doctorRef, now: ctx.now, prescriptions });
        for (const id of next.revoke) {
          const mr = await lockForUpdate<MedicationRequest>(w.tx, 'MedicationRequest', id);
          if (mr.status === 'active') await writeChecked(w, request.access, revokedPrescription(mr, 'Seponert straks i legemiddellisten (PLL)'), mr);
        }
        const statements: MedicationStatement[] = [];
        for (const e of next.entries) statements.push(e.changed ? await writeChecked(w, request.access, e.statement, e.previous) : e.statement);
        const list = pllList({ patientId: grant.patientId, doctor: doctorRef, now: ctx.now, statements });
        await writeChecked(w, request.access, list, current?.list);
        return !current;
      })
    );
    return sendView(request, reply, grant, created ? 201 : 200);
  });

  async function visiblePrescriptions(request: FastifyRequest, w: Writer, patientId: string, ids: string[]): Promise<MedicationRequest[]> {
    if (!ids.length) return [];
    const rows = await run<{ content: string }>(
      w.tx,
      sql`select r.content from resource r where r.type = 'MedicationRequest' and r.id = any(${ids}::text[]) and r.compartment = ${patientId}
           and not r.deleted and ${request.access.filterFor('MedicationRequest')('r')}`
    );
    return rows.map((r) => JSON.parse(r.content));
  }

  /** Pause and resume: a new PLL version with or without the pause marker. */
  const pauseRoute = (pause: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const ctx = request.access.context;
    const doctor = practitionerIn(ctx, SETTINGS.pllCategories, 'pll-doctors-only', pause ? 'Pausing the medication list (PLL)' : 'Resuming the medication list (PLL)');
    const grant = patientInContext(ctx);
    const reason = stringParam(operationParameters(request.body), 'reason');
    if (pause && !reason?.trim()) throw badRequest('pll-pause-reason', 'A pause needs a reason (parameter reason), shown to everyone who reads the list', "Parameters.parameter.where(name = 'reason')");
    const ifMatch = request.headers['if-match'] as string | undefined;
    const stored = await within(ctx, 'pll', () =>
      repo.inTransaction(async (w) => {
        const current = await lockedList(w, grant.patientId);
        if (!current) throw notFound('The patient has no medication list (PLL) to pause or resume');
        if (ifMatch) checkVersion(current, parseIfMatch(ifMatch));
        const paused = pausedOf(current.list);
        if (pause && paused) throw conflict('pll-already-paused', 'The medication list is already paused');
        if (!pause && !paused) throw conflict('pll-not-paused', 'The medication list is not paused');
        const others = (current.list.extension ?? []).filter((e) => e !== paused);
        const marker = pause ? [pauseExtension({ doctor: practitionerRef(doctor), organisation: doctor.childOrganisation ?? doctor.organisation, now: ctx.now, reason: reason! })] : [];
        const { extension: _old, ...rest } = current.list;
        const extension = [...others, ...marker];
        const next: List = { ...rest, ...(extension.length ? { extension } : {}), date: ctx.now.toISOString(), source: practitionerRef(doctor) };
        return writeChecked(w, request.access, next, current.list);
      })
    );
    request.returnedResources = [stored];
    reply.header('etag', `W/"${stored.meta?.versionId}"`);
    return sendResource(request, reply, stored);
  };
  app.post('/$medication-list-pause', pauseRoute(true));
  app.post('/$medication-list-resume', pauseRoute(false));
}

/**
 * The entries exactly as the List version names them: a later version of a statement written
 * some other way never changes what a PLL version says. `visible` filters over the history alias h.
 */
async function entriesOf(db: Queryable, list: List, visible: Sql = sql`true`): Promise<MedicationStatement[]> {
  const refs = entryVersions(list);
  if (!refs.length) return [];
  const rows = await run<{ id: string; content: string }>(
    db,
    // Through the resource rows' rids: resource_history is keyed by (rid, version), not by id.
    sql`select h.id, h.content
          from unnest(${refs.map((r) => r.id)}::text[], ${refs.map((r) => r.version)}::int[]) v(id, version)
          join resource r on r.type = 'MedicationStatement' and r.id = v.id
          join resource_history h on h.rid = r.rid and h.version = v.version
         where not h.deleted and ${visible}`
  );
  const byId = new Map(rows.map((r) => [r.id, JSON.parse(r.content) as MedicationStatement]));
  return refs.map((r) => byId.get(r.id)).filter((s): s is MedicationStatement => !!s);
}
