import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isWriteConflict, prepared, type Db, type Queryable } from './db.ts';
import { copyJsonText, copyValue, ridList, type BatchStep, type CopyInput } from './write-batch.ts';
import { and, run, sql, raw, type Sql } from './sql.ts';
import { deleteSearchIndex, indexCopies, writeSearchIndex, type IndexEntry } from './search-index.ts';
import { extractIndexRows, type ExtractedRows } from './search/extract.ts';
import { findMatches } from './search/index.ts';
import { FhirError, badRequest, conflict, gone, issue, notFound, preconditionFailed, unprocessable } from '../fhir/outcome.ts';
import { patientCompartmentOf } from '../fhir/compartment.ts';
import { contentKey, parseRelativeReference, references } from '../fhir/json.ts';
import { etagNames, etagVersions } from '../fhir/etag.ts';
import { parseFhirJson, stringifyFhirJson } from '../fhir/json-decimals.ts';
import { isResourceType, isValidId } from '../fhir/resource-types.ts';
import { hasErrors } from '../fhir/validation.ts';

/**
 * Resources per bulk statement. A transaction Bundle of a long Synthea life has tens of thousands;
 * in one statement its parameters and PostgreSQL's working copies of them took gigabytes.
 */
const INSERT_CHUNK = 1000;

/** rids fetched from the sequence at once (newRids): one round trip per this many new resources. */
const RID_BLOCK = 2000;

const READ_STORED = prepared('select deleted, content, version, compartment from resource where type = $1 and id = $2');

export interface WriteResult {
  resource: Resource;
  /** 201 for a new resource, 200 for an update, an unchanged resource or a delete. */
  status: 200 | 201;
  /** true when the write matched the stored content and made no new version */
  unchanged?: boolean;
}

export interface SearchIndexer {
  /** `fresh`: the rows were just inserted, so there are no old index rows to delete. */
  writeSearchIndex(tx: Queryable, entries: IndexEntry[], opts?: { fresh?: boolean }): Promise<void>;
  /** New resources' index rows as COPYs, for a write batch that inserts the resources too. */
  indexCopies(entries: IndexEntry[]): CopyInput[];
  /** A resource's index rows, for writeSearchIndex (`rows`) when they can be had before the rid. */
  extract(resource: Resource): ExtractedRows;
  deleteSearchIndex(tx: Queryable, rids: number[]): Promise<void>;
}

/** Conditional matching, provided by the search engine. */
export type FindMatches = (
  tx: Queryable,
  type: string,
  params: [string, string][],
  limit?: number,
  visible?: (alias: string) => Sql
) => Promise<{ rid: number; id: string }[]>;

export interface RepositoryOptions {
  /** Issues for a resource about to be written (base definitions, profiles, identifiers). Errors refuse the write. */
  validate?: (resource: Resource) => OperationOutcomeIssue[];
  /** `validate` for many resources at once, off the event loop (bundles, bulk loads); `validate` when absent. */
  validateMany?: (resources: Resource[]) => Promise<OperationOutcomeIssue[][]>;
  indexer?: SearchIndexer;
  findMatches?: FindMatches;
  /** The server's clock; injectable so tests can move time. */
  clock?: () => Date;
  /** Refuse writes whose relative references point at resources that do not exist. */
  referentialIntegrity?: boolean;
  /** Called inside the write transaction after each stored version (e.g. to load profiles). */
  afterWrite?: (tx: Queryable, resource: Resource, method: Method) => Promise<void> | void;
  /**
   * Called once the transaction that stored these versions has committed (never when it rolled
   * back): for state outside the database that must follow only what was really stored.
   */
  afterCommit?: (written: { resource: Resource; method: Method }[]) => Promise<void> | void;
}

export type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * The caller's write permission, asked for every version written with the compartment it lands
 * in: returns the resource to store (the policy may tag it) or throws a FhirError (403).
 */
export type WriteGuard = <T extends Resource>(
  resource: T,
  action: 'create' | 'update' | 'delete',
  compartment: string | null,
  /** The stored version an update or delete replaces: the caller must be allowed to see it. */
  previous?: { resource: Resource; compartment: string | null }
) => T;

/** Per-call options every write accepts. */
export interface WriteOptions {
  guard?: WriteGuard;
  /**
   * The caller's row filter: conditional matching (If-None-Exist, conditional update/delete,
   * conditional references) sees only rows the caller may see, so a match count never reveals
   * hidden data. Hidden resources do not exist for the caller.
   */
  visible?: (alias: string) => Sql;
}

interface StoredRow {
  rid: number;
  version: number;
  compartment: string | null;
  deleted: boolean;
  content: string;
}

export interface HistoryEntry {
  type: string;
  id: string;
  version: number;
  lastUpdated: string;
  method: Method;
  resource?: Resource;
}

export interface Repository {
  readonly db: Db;
  readonly options: RepositoryOptions;
  create(resource: Resource, opts?: { ifNoneExist?: string } & WriteOptions): Promise<WriteResult>;
  update(resource: Resource, opts?: { ifMatch?: string; method?: Method } & WriteOptions): Promise<WriteResult>;
  delete(type: string, id: string, opts?: { ifMatch?: string } & WriteOptions): Promise<WriteResult | undefined>;
  read(type: string, id: string): Promise<Resource>;
  /**
   * The current version, its stored JSON text (exactly JSON.stringify of it: a read can send it
   * as is) and the patient compartment it was stored in.
   */
  readStored(type: string, id: string): Promise<{ resource: Resource; text: string; compartment: string | null }>;
  vread(type: string, id: string, version: string): Promise<Resource>;
  /** `filter` restricts the versions to those the caller may see (over a resource_history alias). */
  history(q: HistoryQuery): Promise<HistoryEntry[]>;
  /** How many entries the history holds in all (`count` and `offset` aside). */
  historyTotal(q: Omit<HistoryQuery, 'count' | 'offset'>): Promise<number>;
  putMany(resources: Resource[], opts?: { referentialIntegrity?: boolean }): Promise<{ created: number; updated: number; unchanged: number }>;
  /**
   * Runs fn with one transaction; the writer's operations inside share it (transaction bundles).
   * With referenceChecks: false the caller checks references itself (once, for the whole bundle).
   */
  inTransaction<T>(fn: (w: Writer) => Promise<T>, o?: { referenceChecks?: boolean } & WriteOptions): Promise<T>;
}

/** The write operations bound to one open transaction. */
export interface Writer {
  readonly tx: Queryable;
  create(resource: Resource, opts?: { id?: string }): Promise<WriteResult>;
  /**
   * Each resource's refusal (the FhirError a write of it would throw for its content), or
   * undefined for a valid one: the caller reports failures per entry.
   */
  checkEach(resources: Resource[]): Promise<(FhirError | undefined)[]>;
  /**
   * Creates resources that carry new ids with one multi-row insert per table (transaction bundles).
   * `checked`: the caller already ran checkEach() on them.
   */
  createMany(resources: Resource[], o?: { checked?: boolean }): Promise<Resource[]>;
  /** Updates or creates resources with ids in bulk (no If-Match); content must be checked. */
  updateMany(resources: Resource[]): Promise<WriteResult[]>;
  /** Refuses relative references to resources that neither exist nor are in `known` ("Type/id"). */
  checkReferences(resources: Resource[], known: Set<string>): Promise<void>;
  update(resource: Resource, opts?: { ifMatch?: string; method?: Method }): Promise<WriteResult>;
  delete(type: string, id: string, opts?: { ifMatch?: string }): Promise<WriteResult | undefined>;
  read(type: string, id: string): Promise<Resource>;
  vread(type: string, id: string, version: string): Promise<Resource>;
  findMatches: (type: string, params: [string, string][], limit?: number) => Promise<{ rid: number; id: string }[]>;
  /**
   * The one resource conditional criteria match, or undefined when none does; more than one is a
   * 412, as the spec has it for every conditional interaction. `what` names the criteria in the message.
   */
  matchOne(type: string, params: [string, string][], what: string): Promise<{ rid: number; id: string } | undefined>;
  /**
   * Holds these conditional-write criteria until the transaction ends: a second conditional create
   * or update with the same criteria waits, then finds what the first one stored, instead of
   * storing a duplicate. Take several in a fixed order (sorted) to avoid deadlocks.
   */
  lockCriteria(type: string, params: [string, string][]): Promise<void>;
}

/** The key conditional writes with the same criteria share, whatever the order of their parameters. */
export function criteriaKey(type: string, params: [string, string][]): string {
  return `${type}?${params
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join('&')}`;
}

/**
 * One version of a resource. resource_history has no (type, id) index: the resource row, which
 * keeps its rid through every version and deletion, gives the rid, and (rid, version) is the key.
 */
export function versionQuery(type: string, id: string, version: number): Sql {
  return sql`select h.deleted, h.content from resource r join resource_history h on h.rid = r.rid and h.version = ${version}
              where r.type = ${type} and r.id = ${id}`;
}

async function vreadFrom(db: Queryable, type: string, id: string, version: string): Promise<Resource> {
  // Versions are positive 32-bit integers; anything else (a NUL in the id included) is not stored.
  if (!/^[0-9]{1,9}$/.test(version) || !isValidId(id)) throw notFound(`${type}/${id} has no version ${version}`);
  const [row] = await run<{ deleted: boolean; content: string | null }>(db, versionQuery(type, id, Number(version)));
  if (!row) throw notFound(`${type}/${id} has no version ${version}`);
  if (row.deleted || !row.content) throw gone(`${type}/${id} version ${version} is a deletion`);
  return parseFhirJson(row.content);
}

export interface HistoryQuery {
  type?: string;
  id?: string;
  since?: string;
  at?: string;
  count: number;
  offset?: number;
  /** Restricts the versions to those the caller may see (over the resource_history alias h). */
  filter?: (alias: string) => Sql;
}

/** The versions a history query ranges over, before paging: its scope, the caller's filter, _since. */
function historyWhere(q: Omit<HistoryQuery, 'count' | 'offset'>): Sql[] {
  const where: Sql[] = [];
  if (q.id) where.push(sql`h.rid = (select r.rid from resource r where r.type = ${q.type} and r.id = ${q.id})`);
  else if (q.type) where.push(sql`h.type = ${q.type}`);
  if (q.filter) where.push(q.filter('h'));
  if (q.since && !q.at) where.push(sql`h.last_updated >= ${q.since}`);
  return where;
}

/** _at: per resource, the version current at that instant (not a deletion). */
const currentAt = (q: Omit<HistoryQuery, 'count' | 'offset'>, columns: Sql) =>
  sql`select * from (
        select distinct on (h.rid) ${columns}
          from resource_history h where ${and([...historyWhere(q), sql`h.last_updated <= ${q.at}`])}
         order by h.rid, h.version desc) v
      where not v.deleted`;

/** A page of history, newest first: of one resource (by its rid, as versionQuery), a type or the system. */
export function historyQuery(q: HistoryQuery): Sql {
  const ts = raw(`to_char(h.last_updated at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ts`);
  if (q.at) {
    return sql`${currentAt(q, sql`h.type, h.id, h.version, h.deleted, h.method, h.content, h.seq, h.last_updated, ${ts}`)}
               order by v.last_updated desc, v.seq desc limit ${q.count} offset ${q.offset ?? 0}`;
  }
  return sql`select h.type, h.id, h.version, h.deleted, h.method, h.content, ${ts} from resource_history h
              where ${and(historyWhere(q))} order by h.last_updated desc, h.seq desc limit ${q.count} offset ${q.offset ?? 0}`;
}

/** How many entries historyQuery would page through: the same versions, neither read nor sorted. */
function historyCountQuery(q: Omit<HistoryQuery, 'count' | 'offset'>): Sql {
  if (q.at) return sql`select count(*)::int as n from (${currentAt(q, raw('h.rid, h.deleted'))}) c`;
  return sql`select count(*)::int as n from resource_history h where ${and(historyWhere(q))}`;
}

/** One version an If-Match names, for operations that need exactly one (a PLL submission). */
export function parseIfMatch(value: string): number {
  const versions = etagVersions(value);
  if (!Array.isArray(versions) || versions.length !== 1) throw badRequest('invalid-if-match', `If-Match must be an ETag like W/"3", got ${JSON.stringify(value)}`);
  return versions[0];
}

export async function createRepository(db: Db, options: RepositoryOptions = {}): Promise<Repository> {
  const opts: RepositoryOptions = {
    referentialIntegrity: true,
    indexer: { writeSearchIndex, indexCopies, deleteSearchIndex, extract: extractIndexRows },
    findMatches: (tx, type, params, limit, visible) => findMatches(tx, type, params, limit, visible),
    ...options,
  };
  const indexer = opts.indexer!;
  const clock = opts.clock ?? (() => new Date());

  /**
   * rids for new resource rows, taken from the identity sequence RID_BLOCK at a time and handed
   * out here: a bulk write knows its rids before it sends anything, so its resources, history and
   * index rows go to the database together, in one round trip, instead of the index rows waiting
   * for the rids the insert returns. Values left when the process ends are gaps, never reused.
   */
  const spareRids: number[] = [];
  async function newRids(tx: Queryable, n: number): Promise<number[]> {
    if (spareRids.length < n) {
      const rows = await tx.query<{ rid: number }>(`select nextval(pg_get_serial_sequence('resource', 'rid')) as rid from generate_series(1, $1)`, [Math.max(n, RID_BLOCK)]);
      // Whatever another write took meanwhile, these n are there now: push and splice run together.
      spareRids.push(...rows.map((r) => Number(r.rid)));
    }
    return spareRids.splice(0, n);
  }

  /** What a resource must be before a validator reads it: an object of a known type, with a valid id if any. */
  function checkShape(resource: Resource): void {
    if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
      throw badRequest('not-a-resource', 'The body must be a FHIR resource (a JSON object)');
    }
    if (typeof resource.resourceType !== 'string' || !isResourceType(resource.resourceType)) {
      throw badRequest('unknown-resource-type', `Unknown resource type ${JSON.stringify(resource.resourceType)}`, 'resourceType');
    }
    if (resource.id !== undefined && (typeof resource.id !== 'string' || !isValidId(resource.id))) {
      throw badRequest('invalid-id', `Resource id ${JSON.stringify(resource.id)} is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)`, `${resource.resourceType}.id`);
    }
  }

  function checkContent(resource: Resource): void {
    checkShape(resource);
    const issues = opts.validate?.(resource) ?? [];
    if (hasErrors(issues)) throw unprocessable(issues);
  }

  async function checkEach(resources: Resource[]): Promise<(FhirError | undefined)[]> {
    const refusals = resources.map((r) => {
      try {
        checkShape(r);
        return undefined;
      } catch (err) {
        return err as FhirError;
      }
    });
    const shaped = resources.filter((_, i) => !refusals[i]);
    const validateMany = opts.validateMany ?? (opts.validate && (async (rs: Resource[]) => rs.map(opts.validate!)));
    if (!validateMany || shaped.length === 0) return refusals;
    const issues = await validateMany(shaped);
    let k = 0;
    return refusals.map((refusal) => {
      if (refusal) return refusal;
      const found = issues[k++];
      return hasErrors(found) ? unprocessable(found) : undefined;
    });
  }

  /** checkEach's first refusal thrown. */
  async function checkAll(resources: Resource[]): Promise<void> {
    const refusal = (await checkEach(resources)).find(Boolean);
    if (refusal) throw refusal;
  }

  async function checkReferences(tx: Queryable, resources: Resource[], known: Set<string> = new Set()): Promise<void> {
    const wanted = new Map<string, string>(); // "Type/id" or "Type/id/_history/v" → where, for the message
    for (const r of resources) {
      for (const ref of references(r)) {
        const parsed = parseRelativeReference(ref.value);
        if (!parsed || known.has(`${parsed.type}/${parsed.id}`)) continue;
        const key = parsed.version === undefined ? `${parsed.type}/${parsed.id}` : ref.value;
        if (!wanted.has(key)) wanted.set(key, `${r.resourceType}/${r.id ?? ''}`);
      }
    }
    if (wanted.size === 0) return;
    const current: string[][] = [];
    const versioned: string[][] = [];
    for (const key of wanted.keys()) {
      const [type, id, , version] = key.split('/');
      if (version === undefined) current.push([type, id]);
      else if (/^[1-9][0-9]{0,8}$/.test(version)) versioned.push([type, id, version]); // other versions are not stored here
    }
    // A current reference needs the resource as it is now; a version-specific one that version, even if later deleted.
    const found = await tx.query<{ key: string }>(
      `select r.type || '/' || r.id as key from resource r
         where r.deleted = false and (r.type, r.id) in (select * from unnest($1::text[], $2::text[]))
       union all
       select r.type || '/' || r.id || '/_history/' || h.version from resource r join resource_history h on h.rid = r.rid and h.deleted = false
         where (r.type, r.id, h.version) in (select * from unnest($3::text[], $4::text[], $5::int[]))`,
      [current.map((k) => k[0]), current.map((k) => k[1]), versioned.map((k) => k[0]), versioned.map((k) => k[1]), versioned.map((k) => Number(k[2]))]
    );
    const present = new Set(found.map((f) => f.key));
    const missing = [...wanted.keys()].filter((k) => !present.has(k));
    if (missing.length) {
      throw new FhirError(
        400,
        missing.map((k) => issue('not-found', 'reference-not-found', `Reference ${k} (in ${wanted.get(k)}) does not resolve to a stored ${k.includes('/_history/') ? 'version' : 'resource'}`))
      );
    }
  }

  function stamp(resource: Resource, version: number, now: Date): Resource {
    // Object.assign, not spread and new keys: on Node 20 a key added after a spread is slow (docs/architecture.md).
    return Object.assign({}, resource, { meta: Object.assign({}, resource.meta, { versionId: String(version), lastUpdated: now.toISOString() }) });
  }

  async function storeVersion(
    tx: Queryable,
    method: Method,
    resource: Resource,
    existing: StoredRow | undefined,
    now: Date,
    guard?: WriteGuard
  ): Promise<Resource> {
    const version = (existing?.version ?? 0) + 1;
    let stored = stamp(resource, version, now);
    const compartment = patientCompartmentOf(stored);
    if (guard) {
      const previous = existing && !existing.deleted ? { resource: parseFhirJson(existing.content) as Resource, compartment: existing.compartment } : undefined;
      // Moving a resource between compartments needs the right to change it where it was, too.
      if (previous && previous.compartment !== compartment) guard(previous.resource, 'update', previous.compartment, previous);
      stored = guard(stored, previous ? 'update' : 'create', compartment, previous);
    }
    const content = stringifyFhirJson(stored);
    let rid: number;
    if (existing) {
      await tx.query(`update resource set version = $2, compartment = $3, last_updated = $4, deleted = false, content = $5 where rid = $1`, [
        existing.rid, version, compartment, now.toISOString(), content,
      ]);
      rid = existing.rid;
    } else {
      [rid] = await newRids(tx, 1);
      await tx.query(`insert into resource (rid, type, id, version, compartment, last_updated, content) overriding system value values ($1, $2, $3, $4, $5, $6, $7)`, [
        rid, stored.resourceType, stored.id, version, compartment, now.toISOString(), content,
      ]);
    }
    await tx.query(
      `insert into resource_history (rid, version, type, id, compartment, last_updated, deleted, method, content) values ($1, $2, $3, $4, $5, $6, false, $7, $8)`,
      [rid, version, stored.resourceType, stored.id, compartment, now.toISOString(), method, content]
    );
    await indexer.writeSearchIndex(tx, [{ rid, type: stored.resourceType, compartment, resource: stored }], { fresh: !existing });
    await opts.afterWrite?.(tx, stored, method);
    committedLater.get(tx)?.push({ resource: stored, method });
    return stored;
  }

  async function lockRow(tx: Queryable, type: string, id: string): Promise<StoredRow | undefined> {
    const [row] = await tx.query<StoredRow>(`select rid, version, compartment, deleted, content from resource where type = $1 and id = $2 for update`, [type, id]);
    return row && { ...row, rid: Number(row.rid) };
  }

  function checkVersion(row: StoredRow | undefined, ifMatch: string | undefined, type: string, id: string) {
    if (ifMatch === undefined) return;
    const wanted = etagVersions(ifMatch);
    if (!wanted) throw badRequest('invalid-if-match', `If-Match must be ETags like W/"3", or *, got ${JSON.stringify(ifMatch)}`);
    // `*` asks for a current version; a version number may also name a deletion, which has one.
    if (!row || (wanted === '*' && row.deleted)) throw preconditionFailed('version-conflict', `If-Match ${ifMatch}: ${type}/${id} does not exist`);
    if (!etagNames(wanted, row.version)) {
      throw preconditionFailed('version-conflict', `If-Match ${ifMatch}: ${type}/${id} is at version ${row.version}, not ${(wanted as number[]).join(' or ')}`);
    }
  }

  /**
   * Inserts resources that are new (no stored row) as version 1: the resource rows, their history
   * rows and their index rows in one write batch (one round trip on PostgreSQL), since bulk
   * loading is dominated by round trips otherwise.
   */
  async function insertNew(tx: Queryable, resources: Resource[], method: Method, now: Date, guard?: WriteGuard): Promise<Resource[]> {
    if (resources.length === 0) return [];
    if (resources.length > INSERT_CHUNK) {
      const stored: Resource[] = [];
      for (let i = 0; i < resources.length; i += INSERT_CHUNK) stored.push(...(await insertNew(tx, resources.slice(i, i + INSERT_CHUNK), method, now, guard)));
      return stored;
    }
    const ts = now.toISOString();
    const rids = await newRids(tx, resources.length);
    const entries: IndexEntry[] = [];
    const lines: string[] = [];
    for (const [i, r] of resources.entries()) {
      let stored = stamp(r, 1, now);
      const compartment = patientCompartmentOf(stored);
      if (guard) stored = guard(stored, 'create', compartment);
      entries.push({ rid: rids[i], type: stored.resourceType, compartment, resource: stored, rows: indexer.extract(stored) });
      lines.push(`${rids[i]}\t${copyValue(stored.resourceType)}\t${copyValue(stored.id!)}\t1\t${copyValue(compartment)}\t${ts}\t${copyJsonText(stringifyFhirJson(stored))}\n`);
    }
    // The history rows copy the resource rows just written, in the same batch: each text is sent once.
    const steps: BatchStep[] = [
      { table: 'resource', columns: ['rid', 'type', 'id', 'version', 'compartment', 'last_updated', 'content'], rows: lines.join('') },
      {
        statement: `insert into resource_history (rid, version, type, id, compartment, last_updated, deleted, method, content)
          select rid, 1, type, id, compartment, last_updated, false, '${method}', content from resource where rid = any(${ridList(rids)})`,
      },
      ...indexer.indexCopies(entries),
    ];
    // What only went into the batch is let go before the round trip: garbage collections meanwhile copy what is
    // still referenced, and the texts and rows of concurrent transactions were much of it. The batch takes the
    // steps themselves (splice), and drops them once written; this frame keeps none.
    lines.length = 0;
    for (const e of entries) e.rows = undefined;
    await tx.writeBatch(steps.splice(0));
    for (const e of entries) {
      await opts.afterWrite?.(tx, e.resource, method);
      committedLater.get(tx)?.push({ resource: e.resource, method });
    }
    return entries.map((e) => e.resource);
  }

  /**
   * Updates (or creates) resources that carry their ids, reading all stored rows in one query
   * and inserting the new ones in one multi-row insert. Content must already be checked.
   */
  async function upsertMany(tx: Queryable, resources: Resource[], now: Date, guard?: WriteGuard): Promise<WriteResult[]> {
    if (resources.length === 0) return []; // a transaction of creates only: no round trip for nothing
    const existing = await tx.query<StoredRow & { type: string; id: string }>(
      `select rid, type, id, version, compartment, deleted, content from resource
        where (type, id) in (select * from unnest($1::text[], $2::text[])) for update`,
      [resources.map((r) => r.resourceType), resources.map((r) => r.id)]
    );
    const byKey = new Map(existing.map((e) => [`${e.type}/${e.id}`, { ...e, rid: Number(e.rid) }]));
    const results: WriteResult[] = new Array(resources.length);
    const fresh: number[] = [];
    for (const [i, r] of resources.entries()) {
      const prev = byKey.get(`${r.resourceType}/${r.id}`);
      const current: Resource | undefined = prev && !prev.deleted ? parseFhirJson(prev.content) : undefined;
      if (prev && current && contentKey(current) === contentKey(r)) {
        guard?.(current, 'update', prev.compartment, { resource: current, compartment: prev.compartment });
        results[i] = { resource: current, status: 200, unchanged: true };
      } else if (prev) {
        results[i] = { resource: await storeVersion(tx, 'PUT', r, prev, now, guard), status: prev.deleted ? 201 : 200 };
      } else {
        fresh.push(i);
      }
    }
    if (fresh.length) {
      const stored = await insertNew(tx, fresh.map((i) => resources[i]), 'PUT', now, guard);
      fresh.forEach((i, k) => (results[i] = { resource: stored[k], status: 201 }));
    }
    return results;
  }

  function writer(tx: Queryable, referenceChecks = opts.referentialIntegrity, guard?: WriteGuard, visible?: (alias: string) => Sql): Writer {
    /**
     * The stored current version, parsed once, after the guard's verdict on changing it (it must be
     * visible to the caller, among others); undefined when there is none.
     */
    const mayReplace = (existing: StoredRow | undefined, action: 'update' | 'delete'): Resource | undefined => {
      if (!existing || existing.deleted) return undefined;
      const current = parseFhirJson(existing.content) as Resource;
      guard?.(current, action, existing.compartment, { resource: current, compartment: existing.compartment });
      return current;
    };
    const now = clock();
    const w: Writer = {
      tx,
      checkEach,
      async createMany(resources, o = {}) {
        if (resources.length === 0) return [];
        if (!o.checked) await checkAll(resources);
        if (referenceChecks) await checkReferences(tx, resources, new Set(resources.map((r) => `${r.resourceType}/${r.id}`)));
        return insertNew(tx, resources, 'POST', now, guard);
      },
      checkReferences: (resources, known) => checkReferences(tx, resources, known),
      updateMany: (resources) => upsertMany(tx, resources, now, guard),
      async create(resource, o = {}) {
        const id = o.id ?? randomUUID();
        const r = { ...resource, id } as Resource;
        checkContent(r);
        if (referenceChecks) await checkReferences(tx, [r]);
        const existing = await lockRow(tx, r.resourceType, id);
        if (existing) throw conflict('id-exists', `${r.resourceType}/${id} already exists`);
        return { resource: await storeVersion(tx, 'POST', r, undefined, now, guard), status: 201 };
      },
      async update(resource, o = {}) {
        checkContent(resource);
        if (!resource.id) throw badRequest('missing-id', 'An update needs the resource id in the body', `${resource.resourceType}.id`);
        if (referenceChecks) await checkReferences(tx, [resource]);
        const existing = await lockRow(tx, resource.resourceType, resource.id);
        // Hidden data does not exist for the caller: not even its version number is revealed.
        const current = mayReplace(existing, 'update');
        checkVersion(existing, o.ifMatch, resource.resourceType, resource.id);
        if (current && contentKey(current) === contentKey(resource)) return { resource: current, status: 200, unchanged: true };
        const stored = await storeVersion(tx, o.method ?? 'PUT', resource, existing, now, guard);
        return { resource: stored, status: existing && !existing.deleted ? 200 : 201 };
      },
      async delete(type, id, o = {}) {
        const existing = await lockRow(tx, type, id);
        mayReplace(existing, 'delete');
        checkVersion(existing, o.ifMatch, type, id);
        if (!existing || existing.deleted) return undefined;
        const version = existing.version + 1;
        const tombstone = stamp({ resourceType: type, id } as Resource, version, now);
        await tx.query(`update resource set version = $2, last_updated = $3, deleted = true, content = $4 where rid = $1`, [
          existing.rid, version, now.toISOString(), JSON.stringify(tombstone),
        ]);
        await tx.query(
          `insert into resource_history (rid, version, type, id, compartment, last_updated, deleted, method, content) values ($1, $2, $3, $4, $5, $6, true, 'DELETE', null)`,
          [existing.rid, version, type, id, existing.compartment, now.toISOString()]
        );
        await indexer.deleteSearchIndex(tx, [existing.rid]);
        await opts.afterWrite?.(tx, tombstone, 'DELETE');
        committedLater.get(tx)?.push({ resource: tombstone, method: 'DELETE' });
        return { resource: tombstone, status: 200 };
      },
      read: (type, id) => readFrom(tx, type, id),
      vread: (type, id, version) => vreadFrom(tx, type, id, version),
      findMatches: (type, params, limit) => opts.findMatches!(tx, type, params, limit, visible),
      async matchOne(type, params, what) {
        const matches = await opts.findMatches!(tx, type, params, 2, visible);
        if (matches.length > 1) throw preconditionFailed('multiple-matches', `${what} matches more than one ${type}`);
        return matches[0];
      },
      async lockCriteria(type, params) {
        await tx.query(`select pg_advisory_xact_lock(hashtextextended($1, 0))`, [criteriaKey(type, params)]);
      },
    };
    return w;
  }

  async function readFrom(q: Queryable, type: string, id: string): Promise<Resource> {
    return (await readStored(q, type, id)).resource;
  }

  async function readStored(q: Queryable, type: string, id: string): Promise<{ resource: Resource; text: string; compartment: string | null }> {
    if (!isValidId(id)) throw notFound(`${type}/${id} is not known`);
    const [row] = await q.query<{ deleted: boolean; content: string; version: number; compartment: string | null }>(READ_STORED, [type, id]);
    if (!row) throw notFound(`${type}/${id} is not known`);
    if (row.deleted) throw gone(`${type}/${id} was deleted (version ${row.version})`);
    return { resource: parseFhirJson(row.content), text: row.content, compartment: row.compartment };
  }

  /** Versions stored in each open transaction, for afterCommit. */
  const committedLater = new WeakMap<Queryable, { resource: Resource; method: Method }[]>();
  /**
   * `retry`: run fn again (twice at most) when it lost a race to another writer (a create of the
   * same id, a deadlock): for single writes, whose input fn does not change. The second attempt
   * finds what the winner stored, so a PUT that lost the race to create becomes an update.
   */
  async function transaction<T>(fn: (tx: Queryable) => Promise<T>, retry = false): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const written: { resource: Resource; method: Method }[] = [];
      let result: T;
      try {
        result = await db.transaction(async (tx) => {
          committedLater.set(tx, written);
          return fn(tx);
        });
      } catch (err) {
        if (retry && attempt < 2 && isWriteConflict(err)) continue;
        throw err;
      }
      if (written.length) await opts.afterCommit?.(written);
      return result;
    }
  }

  const repo: Repository = {
    db,
    options: opts,
    inTransaction: (fn, o = {}) => transaction((tx) => fn(writer(tx, o.referenceChecks ?? opts.referentialIntegrity, o.guard, o.visible))),
    async create(resource, o = {}) {
      return transaction(async (tx) => {
        const w = writer(tx, opts.referentialIntegrity, o.guard, o.visible);
        if (o.ifNoneExist !== undefined) {
          const criteria = parseQuery(o.ifNoneExist);
          await w.lockCriteria(resource.resourceType, criteria);
          const match = await w.matchOne(resource.resourceType, criteria, `If-None-Exist ${o.ifNoneExist}`);
          if (match) return { resource: await w.read(resource.resourceType, match.id), status: 200, unchanged: true };
        }
        return w.create(resource);
      });
    },
    update: (resource, o = {}) => transaction((tx) => writer(tx, opts.referentialIntegrity, o.guard).update(resource, o), true),
    delete: (type, id, o = {}) => transaction((tx) => writer(tx, opts.referentialIntegrity, o.guard).delete(type, id, o), true),
    read: (type, id) => readFrom(db, type, id),
    readStored: (type, id) => readStored(db, type, id),
    vread: (type, id, version) => vreadFrom(db, type, id, version),
    async history(q) {
      const rows = await run<any>(db, historyQuery(q));
      return rows.map((r) => ({
        type: r.type,
        id: r.id,
        version: Number(r.version),
        lastUpdated: r.ts,
        method: r.method,
        resource: r.deleted || !r.content ? undefined : parseFhirJson(r.content),
      }));
    },
    async historyTotal(q) {
      const [{ n }] = await run<{ n: number }>(db, historyCountQuery(q));
      return Number(n);
    },
    async putMany(resources, o = {}) {
      const counts = { created: 0, updated: 0, unchanged: 0 };
      if (resources.length === 0) return counts;
      for (const r of resources) if (!r.id) throw badRequest('missing-id', `putMany needs resources with ids (a ${r.resourceType} has none)`);
      await checkAll(resources);
      await transaction(async (tx) => {
        counts.created = counts.updated = counts.unchanged = 0; // a retried attempt counts afresh
        const integrity = o.referentialIntegrity ?? opts.referentialIntegrity;
        if (integrity) await checkReferences(tx, resources, new Set(resources.map((r) => `${r.resourceType}/${r.id}`)));
        for (const result of await upsertMany(tx, resources, clock())) {
          counts[result.unchanged ? 'unchanged' : result.status === 201 ? 'created' : 'updated']++;
        }
      }, true);
      return counts;
    },
  };
  return repo;
}

/** "a=1&b=2" (the query part of a conditional URL) → decoded pairs. */
export function parseQuery(query: string): [string, string][] {
  const q = query.includes('?') ? query.slice(query.indexOf('?') + 1) : query;
  return [...new URLSearchParams(q).entries()];
}
