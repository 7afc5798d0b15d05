import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import type { Resource } from '@medplum/fhirtypes';
import type { Db, Queryable } from './db.ts';
import { parseFhirJson, stringifyFhirJson } from '../fhir/json-decimals.ts';

/** What a service keeps outside the resource (a document's content), put back into it for the file. */
export interface ExportCompletion {
  types: string[];
  complete(resource: Resource, db: Queryable): Promise<Resource>;
}

export interface ExportOptions {
  /** Only these types (all by default). */
  types?: string[];
  completions?: ExportCompletion[];
  /** Called when a type's file is written. */
  onType?(type: string, count: number): Promise<void> | void;
}

/**
 * Writes the current version of every resource as NDJSON, one file per type (`<folder>/<Type>.ndjson`).
 * Everything is read in one read-only REPEATABLE READ transaction, so the files are one snapshot
 * even while the server writes: a resource deleted or created meanwhile is in every file or in
 * none, and no exported reference points at something the export left out.
 */
export async function exportNdjson(db: Db, folder: string, options: ExportOptions = {}): Promise<Map<string, number>> {
  fs.mkdirSync(folder, { recursive: true });
  return db.transaction(async (tx) => {
    await tx.query('set transaction isolation level repeatable read, read only');
    const types = (await tx.query<{ type: string }>(`select distinct type from resource where deleted = false order by type`))
      .map((r) => r.type)
      .filter((t) => !options.types || options.types.includes(t));
    const counts = new Map<string, number>();
    for (const type of types) {
      const out = fs.createWriteStream(path.join(folder, `${type}.ndjson`));
      const completing = (options.completions ?? []).filter((c) => c.types.includes(type));
      let after = 0;
      let n = 0;
      // Keyset pages on the row id: constant memory however large the type.
      for (;;) {
        const rows = await tx.query<{ rid: number; content: string }>(
          `select rid, content from resource where type = $1 and deleted = false and rid > $2 order by rid limit 1000`,
          [type, after]
        );
        if (rows.length === 0) break;
        for (const r of rows) {
          let text = r.content;
          for (const c of completing) text = stringifyFhirJson(await c.complete(parseFhirJson(text), tx));
          if (!out.write(text + '\n')) await once(out, 'drain');
        }
        after = Number(rows[rows.length - 1].rid);
        n += rows.length;
      }
      out.end();
      await once(out, 'finish');
      counts.set(type, n);
      await options.onType?.(type, n);
    }
    return counts;
  });
}
