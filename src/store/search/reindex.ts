import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { registerSearchParameter } from '../../fhir/search-parameters.ts';
import type { Db, Queryable } from '../db.ts';
import { writeSearchIndex } from '../search-index.ts';

/**
 * Custom SearchParameter resources stored on this server, registered with the search engine.
 * Run at start-up (and by the reindex command) so that stored definitions outlive restarts.
 */
export async function loadCustomSearchParameters(db: Queryable): Promise<number> {
  const rows = await db.query<{ content: string }>(`select content from resource where type = 'SearchParameter' and not deleted`);
  let n = 0;
  for (const r of rows) {
    const sp = JSON.parse(r.content) as SearchParameter;
    try {
      registerSearchParameter(sp);
      n++;
    } catch {
      // an incomplete definition (no code/base/type) is stored but cannot be searched with
    }
  }
  return n;
}

export interface ReindexOptions {
  /** Only these resource types; all when absent. */
  types?: string[];
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Rebuilds the search index of existing resources (after a custom SearchParameter was added or
 * changed, or an indexing rule was fixed). Walks the resource table in rid order, one
 * transaction per batch, so it can run beside live traffic and be resumed by re-running.
 */
export async function reindex(db: Db, opts: ReindexOptions = {}): Promise<{ resources: number }> {
  const batchSize = opts.batchSize ?? 500;
  const typeFilter = opts.types?.length ? ' and type = any($2::text[])' : '';
  const typeArgs = opts.types?.length ? [opts.types] : [];
  const [{ n: total }] = await db.query<{ n: number }>(
    `select count(*)::int as n from resource where not deleted${typeFilter.replace('$2', '$1')}`,
    typeArgs
  );
  let last = 0;
  let done = 0;
  for (;;) {
    const rows = await db.query<{ rid: number; type: string; compartment: string | null; content: string }>(
      `select rid, type, compartment, content from resource where rid > $1 and not deleted${typeFilter} order by rid limit ${batchSize}`,
      [last, ...typeArgs]
    );
    if (!rows.length) break;
    await db.transaction((tx) =>
      writeSearchIndex(
        tx,
        rows.map((r) => ({ rid: Number(r.rid), type: r.type, compartment: r.compartment, resource: JSON.parse(r.content) as Resource }))
      )
    );
    last = Number(rows[rows.length - 1].rid);
    done += rows.length;
    opts.onProgress?.(done, Number(total));
  }
  return { resources: done };
}
