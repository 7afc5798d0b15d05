import { benchIngest } from './ingest.ts';
import { machine, BENCH_DB } from './common.ts';

/** `npm run bench`: every benchmark next to its raw baseline, measured in the same run. */
console.log(`Samhandling benchmarks — ${new Date().toISOString()} — ${machine()} — ${BENCH_DB.replace(/\/\/[^@]*@/, '//')}`);
const clients = Number(process.env.BENCH_CLIENTS ?? 4);
const ingest = await benchIngest(clients);
console.log(
  `ingest (Synthea, ${ingest.resources} resources, ${clients} clients): raw INSERT ${ingest.raw.toFixed(0)}/s, ` +
    `Samhandling ${ingest.ours.toFixed(0)}/s, ratio ${(ingest.ours / ingest.raw * 100).toFixed(0)} % (target ≥ 50 %)`
);
process.exit(0);
