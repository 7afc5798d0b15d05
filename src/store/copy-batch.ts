import type { Writable } from 'node:stream';
import type pg from 'pg';

/** Rows for one table, in COPY's text format: a line per row, values separated by tabs. */
export interface CopyInput {
  table: string;
  columns: string[];
  rows: string;
}

/** The COPY statement for one input, reading from `source`: the client (`stdin`) or, on PGlite, the Blob it is handed. */
export const copyStatement = (c: Pick<CopyInput, 'table' | 'columns'>, source: 'stdin' | "'/dev/blob'") => `copy ${c.table} (${c.columns.join(', ')}) from ${source}`;

/**
 * Several COPYs sent to PostgreSQL as one message sequence, a node-postgres submittable: one
 * Query holding every COPY statement, then each one's data and CopyDone, in a single write.
 * The server reads them in order; one round trip in all, where a COPY as pg-copy-streams sends it
 * waits for the server's CopyInResponse before its data and then for its completion, two round
 * trips per table (a write of a Synthea bundle has up to nine tables of index rows).
 *
 * When a statement fails, the server reports it, skips the rest of the Query and ignores the
 * CopyData and CopyDone still arriving, as the protocol lays down; the promise rejects, and the
 * surrounding transaction is rolled back as after any other failed statement. Outside a
 * transaction the statements of one Query are one implicit transaction: all rows or none.
 */
export class CopyBatch {
  readonly done: Promise<void>;
  private settle!: (err?: Error) => void;
  private failed = false;

  constructor(private readonly copies: CopyInput[]) {
    this.done = new Promise<void>((resolve, reject) => (this.settle = (err) => (err ? reject(err) : resolve())));
  }

  /** Called by pg when this is the connection's turn: everything written at once (corked, one writev). */
  submit(connection: { stream: Writable }): void {
    const { stream } = connection;
    const sql = `${this.copies.map((c) => copyStatement(c, 'stdin')).join(';\n')}\0`;
    stream.cork();
    stream.write(header(QUERY, Buffer.byteLength(sql)));
    stream.write(sql);
    for (const c of this.copies) {
      stream.write(header(COPY_DATA, Buffer.byteLength(c.rows)));
      stream.write(c.rows);
      stream.write(COPY_DONE_MESSAGE);
    }
    stream.uncork();
  }

  // The data went with the statements; the server's request for it needs no answer.
  handleCopyInResponse(): void {}
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  /** pg detaches the query at an error and does not call handleReadyForQuery after it. */
  handleError(err: Error): void {
    this.failed = true;
    this.settle(err);
  }

  handleReadyForQuery(): void {
    if (!this.failed) this.settle();
  }
}

/** Runs the copies on a client (a transaction's, or one taken from the pool). */
export async function copyBatch(client: pg.ClientBase, copies: CopyInput[]): Promise<void> {
  if (!copies.length) return;
  const batch = new CopyBatch(copies);
  client.query(batch as unknown as pg.Submittable);
  await batch.done;
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
