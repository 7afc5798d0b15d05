import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Queryable } from '../../store/db.ts';

/**
 * Where document content lives: a small interface with two stores, chosen by DOCUMENT_STORE.
 * The metadata row (table document_content) is always written in the transaction that writes the
 * DocumentReference; the bytes go either into that same transaction (postgres: chunked bytea) or,
 * for the file store, into a file written before the transaction and removed again if it fails.
 */
export interface ContentInfo {
  /** The id in /fhir/Binary/<id>. */
  id: string;
  /** The DocumentReference whose access rules govern the content. */
  documentId: string;
  compartment: string | null;
  contentType: string;
  size: number;
  /** SHA-1 of the bytes, base64 (Attachment.hash). */
  sha1: string;
}

export interface StoredContent extends ContentInfo {
  store: 'postgres' | 'file';
  location: string | null;
}

/** The bytes of a document: in memory (a decoded ITI-65 bundle) or a spooled upload on disk. */
export type ContentSource = Buffer | { path: string };

/** Content staged for one write: what the transaction will record. */
export interface Staged {
  info: ContentInfo;
  source: ContentSource;
  /** The file store's file, written before the transaction. */
  location?: string;
}

/** How one kind of store keeps the bytes. */
interface ByteStore {
  readonly kind: 'postgres' | 'file';
  /** Before the transaction (the file store writes its file here). */
  stage(id: string, source: ContentSource): Promise<string | undefined>;
  /** Inside the transaction, after any earlier bytes under this id were dropped. */
  write(tx: Queryable, id: string, source: ContentSource): Promise<void>;
  read(db: Queryable, row: StoredContent): Readable;
  /** Removes a file that no committed row names (after a failed write, or once a replace/delete committed). */
  discard(location: string): Promise<void>;
}

const CHUNK = 1024 * 1024;

async function* chunksOf(source: ContentSource): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(source)) {
    for (let i = 0; i < source.length; i += CHUNK) yield source.subarray(i, i + CHUNK);
    if (source.length === 0) yield Buffer.alloc(0);
    return;
  }
  let pending: Buffer = Buffer.alloc(0);
  let any = false;
  for await (const part of fs.createReadStream(source.path, { highWaterMark: CHUNK })) {
    pending = pending.length ? Buffer.concat([pending, part as Buffer]) : (part as Buffer);
    while (pending.length >= CHUNK) {
      yield pending.subarray(0, CHUNK);
      any = true;
      pending = pending.subarray(CHUNK);
    }
  }
  if (pending.length || !any) yield pending;
}

/** Content as 1 MiB bytea rows, written in the DocumentReference's own transaction. */
const postgresBytes: ByteStore = {
  kind: 'postgres',
  async stage() {
    return undefined;
  },
  async write(tx, id, source) {
    let seq = 0;
    for await (const chunk of chunksOf(source)) {
      // Base64 text rather than a bytea parameter: ten times faster through PGlite, smaller than hex through pg.
      await tx.query(`insert into document_chunk (content_id, seq, data) values ($1, $2, decode($3, 'base64'))`, [id, seq++, chunk.toString('base64')]);
    }
  },
  read(db, row) {
    return Readable.from(
      (async function* () {
        for (let seq = 0; ; seq++) {
          const [chunk] = await db.query<{ data: string }>(`select encode(data, 'base64') as data from document_chunk where content_id = $1 and seq = $2`, [row.id, seq]);
          if (!chunk) return;
          yield Buffer.from(chunk.data, 'base64');
        }
      })()
    );
  },
  async discard() {},
};

/** Content as one file per version under DOCUMENT_DIR; the row names the file. */
function fileBytes(dir: string): ByteStore {
  return {
    kind: 'file',
    async stage(id, source) {
      await fsp.mkdir(dir, { recursive: true });
      // A fresh name per version: a replace never overwrites the file the committed row names.
      const name = `${id}.${randomUUID()}`;
      const target = path.join(dir, name);
      if (Buffer.isBuffer(source)) await fsp.writeFile(target, source, { flag: 'wx' });
      else await fsp.copyFile(source.path, target, fs.constants.COPYFILE_EXCL);
      return name;
    },
    async write() {},
    read(_db, row) {
      return fs.createReadStream(path.join(dir, row.location!));
    },
    async discard(location) {
      await fsp.rm(path.join(dir, location), { force: true });
    },
  };
}

export class DocumentContents {
  private readonly stores: Record<'postgres' | 'file', ByteStore>;
  private readonly current: ByteStore;

  constructor(o: { store: 'postgres' | 'file'; dir: string }) {
    // Both can read: content written before DOCUMENT_STORE changed stays readable.
    this.stores = { postgres: postgresBytes, file: fileBytes(o.dir) };
    this.current = this.stores[o.store];
  }

  get kind() {
    return this.current.kind;
  }

  async find(db: Queryable, id: string): Promise<StoredContent | undefined> {
    const [row] = await db.query<any>(
      `select id, document_id, compartment, content_type, size, sha1, store, location from document_content where id = $1`,
      [id]
    );
    return row && rowToContent(row);
  }

  async ofDocument(db: Queryable, documentId: string): Promise<StoredContent[]> {
    const rows = await db.query<any>(
      `select id, document_id, compartment, content_type, size, sha1, store, location from document_content where document_id = $1`,
      [documentId]
    );
    return rows.map(rowToContent);
  }

  open(db: Queryable, row: StoredContent): Readable {
    return this.stores[row.store].read(db, row);
  }

  /**
   * Writes content together with the resources `run` writes in its transaction: the file store's
   * files first, the rows (and the database store's bytes) when `run` calls `save` inside its
   * transaction. Nothing stays behind when the transaction fails; replaced files go once it committed.
   */
  async writeWith<T>(
    items: { info: Omit<ContentInfo, 'compartment'>; source: ContentSource }[],
    run: (save: (tx: Queryable, compartmentOf: (documentId: string) => Promise<string | null>, keep?: Map<string, Set<string>>) => Promise<void>) => Promise<T>
  ): Promise<T> {
    const staged: Staged[] = [];
    const obsolete: StoredContent[] = [];
    try {
      for (const item of items) {
        const location = await this.current.stage(item.info.id, item.source);
        staged.push({ info: { ...item.info, compartment: null }, source: item.source, location });
      }
      const result = await run(async (tx, compartmentOf, keep = new Map()) => {
        // A document's earlier content that its new version no longer points at goes with it.
        for (const [documentId, ids] of keep) obsolete.push(...(await this.dropDocument(tx, documentId, ids)));
        for (const s of staged) {
          s.info.compartment = await compartmentOf(s.info.documentId);
          obsolete.push(...(await this.drop(tx, s.info.id)));
          await tx.query(
            `insert into document_content (id, document_id, compartment, content_type, size, sha1, store, location, created)
             values ($1, $2, $3, $4, $5, $6, $7, $8, now())`,
            [s.info.id, s.info.documentId, s.info.compartment, s.info.contentType, s.info.size, s.info.sha1, this.current.kind, s.location ?? null]
          );
          await this.current.write(tx, s.info.id, s.source);
        }
      });
      await this.release(obsolete);
      return result;
    } catch (err) {
      for (const s of staged) if (s.location) await this.current.discard(s.location).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Inside a transaction: removes a document's content rows (all, or those not in `keep`); the
   * returned rows' files are for `release` once the transaction committed.
   */
  async dropDocument(tx: Queryable, documentId: string, keep: Set<string> = new Set()): Promise<StoredContent[]> {
    const gone: StoredContent[] = [];
    for (const row of await this.ofDocument(tx, documentId)) if (!keep.has(row.id)) gone.push(...(await this.drop(tx, row.id)));
    return gone;
  }

  private async drop(tx: Queryable, id: string): Promise<StoredContent[]> {
    const rows = await tx.query<any>(
      `delete from document_content where id = $1 returning id, document_id, compartment, content_type, size, sha1, store, location`,
      [id]
    );
    return rows.map(rowToContent);
  }

  /** After commit: the files of content rows that are gone. */
  async release(rows: StoredContent[]): Promise<void> {
    for (const r of rows) if (r.location) await this.stores[r.store].discard(r.location).catch(() => undefined);
  }
}

function rowToContent(row: any): StoredContent {
  return {
    id: row.id,
    documentId: row.document_id,
    compartment: row.compartment,
    contentType: row.content_type,
    size: Number(row.size),
    sha1: row.sha1,
    store: row.store,
    location: row.location,
  };
}
