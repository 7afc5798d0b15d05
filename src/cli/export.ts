import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { loadConfig } from '../config.ts';
import { openDb } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { parseArgs } from './args.ts';
import { SERVICE_MODULES } from '../services/index.ts';

const { flags, positional } = parseArgs(process.argv.slice(2));
if (flags.help || positional.length !== 1) {
  console.log(`Usage: npm run export -- <folder> [--type T,...]

Writes the current version of every resource as NDJSON, one file per type (<folder>/<Type>.ndjson),
readable again by npm run import. Documents carry their stored content inline.`);
  process.exit(positional.length === 1 ? 0 : 1);
}

const folder = path.resolve(positional[0]);
fs.mkdirSync(folder, { recursive: true });
const config = loadConfig();
const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
await migrate(db);
const only = typeof flags.type === 'string' ? flags.type.split(',') : undefined;
const types = (await db.query<{ type: string }>(`select distinct type from resource where deleted = false order by type`))
  .map((r) => r.type)
  .filter((t) => !only || only.includes(t));

const started = Date.now();
let total = 0;
for (const type of types) {
  const out = fs.createWriteStream(path.join(folder, `${type}.ndjson`));
  const completing = SERVICE_MODULES.filter((m) => m.exports?.types.includes(type));
  let after = 0;
  let n = 0;
  // Keyset pages on the row id: constant memory however large the type.
  for (;;) {
    const rows = await db.query<{ rid: number; content: string }>(
      `select rid, content from resource where type = $1 and deleted = false and rid > $2 order by rid limit 1000`,
      [type, after]
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      let text = r.content;
      // What a service keeps outside the resource (a document's content) goes into the file with it.
      for (const m of completing) text = JSON.stringify(await m.exports!.complete(JSON.parse(text), db, config));
      if (!out.write(text + '\n')) await once(out, 'drain');
    }
    after = Number(rows[rows.length - 1].rid);
    n += rows.length;
  }
  out.end();
  await once(out, 'finish');
  console.log(`  ${type.padEnd(28)} ${n}`);
  total += n;
}
console.log(`Exported ${total} resources of ${types.length} types to ${folder} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
await db.close();
