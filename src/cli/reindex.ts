import cliProgress from 'cli-progress';
import { loadConfig } from '../config.ts';
import { isResourceType } from '../fhir/search-parameters.ts';
import { openDb } from '../store/db.ts';
import { migrate } from '../store/migrate.ts';
import { loadCustomSearchParameters, reindex } from '../store/search/reindex.ts';
import { parseArgs } from './args.ts';

const HELP = `Usage: npm run reindex -- [--type Type[,Type...]] [--batch N]

Rebuilds the search index of the stored resources from their current content. Run it after
adding or changing a custom SearchParameter (new writes use it at once; existing resources
only after a reindex) or after upgrading to a version whose indexing rules changed.

  --type T1,T2   only resources of these types (default: every type)
  --batch N      resources per transaction (default 500)
  --help         this text

The database is the one the server uses: DATABASE_URL (PostgreSQL) or the PGlite folder
DATA_DIR (default ./data). Custom SearchParameter resources stored in it are loaded first.
Each batch is its own transaction, so the command can run beside a live server and can be
interrupted and re-run.`;

async function main() {
  const { flags } = parseArgs(process.argv.slice(2));
  if (flags.help) {
    console.log(HELP);
    return;
  }
  const types = typeof flags.type === 'string' ? flags.type.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
  for (const t of types ?? []) {
    if (!isResourceType(t)) {
      console.error(`Unknown resource type '${t}'\n\n${HELP}`);
      process.exit(2);
    }
  }
  const batchSize = typeof flags.batch === 'string' ? Number(flags.batch) : undefined;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
    console.error(`--batch must be a positive integer\n\n${HELP}`);
    process.exit(2);
  }
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(db);
    const custom = await loadCustomSearchParameters(db);
    if (custom) console.log(`Loaded ${custom} custom SearchParameter(s)`);
    const bar = new cliProgress.SingleBar({ format: 'reindex [{bar}] {value}/{total} resources' }, cliProgress.Presets.shades_classic);
    let started = false;
    const t0 = performance.now();
    const { resources } = await reindex(db, {
      types,
      batchSize,
      onProgress: (done, total) => {
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      },
    });
    if (started) bar.stop();
    console.log(`Reindexed ${resources} resources${types ? ` of ${types.join(', ')}` : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
