import type { Writable } from 'node:stream';
import type pg from 'pg';

/** Rows for one table, in COPY's text format: a line per row, values separated by tabs (copyValue encodes one). */
export interface CopyInput {
  table: string;
  columns: string[];
  rows: string;
}

/** A value as COPY's text format has it: `\N` for null, and backslash, tab, newline and carriage return escaped. */
export function copyValue(v: string | number | null): string {
  if (v === null) return '\\N';
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : s;
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * JSON text as a COPY text value. JSON.stringify escapes every control character, so of COPY's
 * special characters only backslash can occur: doubling it is all, and it is done natively.
 */
export function copyJsonText(json: string): string {
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

/** rids as a bigint[] literal for a batch statement, which has no parameters: whole numbers only, checked. */
export function ridList(rids: number[]): string {
  for (const r of rids) if (!Number.isSafeInteger(r)) throw new Error(`not a rid: ${r}`);
  return `'{${rids.join(',')}}'::bigint[]`;
}

/** One step of a write batch: a COPY, or a statement without parameters (its values written into it by the caller). */
export type BatchStep = CopyInput | { statement: string };

const isCopy = (s: BatchStep): s is CopyInput => 'rows' in s;

/** The COPY statement for one input, reading from `source`: the client (`stdin`) or, on PGlite, the Blob it is handed. */
const copyStatement = (c: Pick<CopyInput, 'table' | 'columns'>, source: 'stdin' | "'/dev/blob'") => `copy ${c.table} (${c.columns.join(', ')}) from ${source}`;

/**
 * Steps sent to PostgreSQL as one message sequence, a node-postgres submittable: one Query holding
 * every statement, then each COPY's data and CopyDone, in a single write. The server reads them in
 * order; one round trip in all. A COPY as pg-copy-streams sends it waits for the server's
 * CopyInResponse before its data and then for its completion: two round trips per table, and a
 * write of a Synthea bundle has up to ten tables.
 *
 * When a statement fails, the server reports it, skips the rest of the Query and ignores the
 * CopyData and CopyDone still arriving, as the protocol lays down; the promise rejects, and the
 * surrounding transaction is rolled back as after any other failed statement. Outside a
 * transaction the statements of one Query are one implicit transaction: all or nothing.
 */
class WriteBatch {
  readonly done: Promise<void>;
  private settle!: (err?: Error) => void;
  private failed = false;

  constructor(private steps: BatchStep[]) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = (err) => (err ? reject(err) : resolve())));
  }

  /** Called by pg when this is the connection's turn: everything written at once (corked, one writev). */
  submit(connection: { stream: Writable }): void {
    const { stream } = connection;
    const sql = `${this.steps.map((s) => (isCopy(s) ? copyStatement(s, 'stdin') : s.statement)).join(';\n')}\0`;
    stream.cork();
    stream.write(header(QUERY, Buffer.byteLength(sql)));
    stream.write(sql);
    for (const s of this.steps) {
      if (!isCopy(s)) continue;
      stream.write(header(COPY_DATA, Buffer.byteLength(s.rows)));
      stream.write(s.rows);
      stream.write(COPY_DONE_MESSAGE);
    }
    stream.uncork();
    this.steps = []; // written: the texts need not outlive the round trip
  }

  // The data went with the statements; the server's request for it needs no answer.
  handleCopyInResponse(): void {}
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  /** pg wraps this to clear its timer when a query_timeout is configured (in the URL, say): called at the end. */
  callback: (err?: Error) => void = () => {};

  /** pg detaches the query at an error and does not call handleReadyForQuery after it. */
  handleError(err: Error): void {
    this.failed = true;
    this.callback(err);
    this.settle(err);
  }

  handleReadyForQuery(): void {
    if (this.failed) return;
    this.callback();
    this.settle();
  }
}

/**
 * Runs the steps on a client (a transaction's, or one taken from the pool), in one round trip. Not async: the steps
 * are not held while the server works (see WriteBatch.submit).
 */
export function writeBatch(client: pg.ClientBase, steps: BatchStep[]): Promise<void> {
  if (!steps.length) return Promise.resolve();
  const batch = new WriteBatch(steps);
  client.query(batch as unknown as pg.Submittable);
  return batch.done;
}

/** The steps one at a time, on PGlite: it is in the process, there is no round trip to save. Its COPY reads a Blob. */
export async function writeSteps(t: { query(sql: string, params?: unknown[], opts?: { blob?: Blob }): Promise<unknown> }, steps: BatchStep[]): Promise<void> {
  for (const s of steps) {
    if (isCopy(s)) await t.query(copyStatement(s, "'/dev/blob'"), [], { blob: new Blob([s.rows]) });
    else await t.query(s.statement);
  }
}

const QUERY = 0x51; // 'Q'
const COPY_DATA = 0x64; // 'd'
const COPY_DONE_MESSAGE = Buffer.from([0x63, 0, 0, 0, 4]); // 'c', length 4

/** A protocol message's head: its type byte, then its length, which counts itself and the body. */
function header(type: number, bodyBytes: number): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32BE(bodyBytes + 4, 1);
  return head;
}
