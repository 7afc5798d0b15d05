import { benchIngest, formatIngest } from './ingest.ts';
import { benchRead, formatRead } from './read.ts';
import { benchSearch, formatSearchComparison } from './search.ts';
import { machine, BENCH_DB } from './common.ts';

/** `npm run bench`: every benchmark next to its raw baseline, measured in the same run. */
console.log(`Samhandling benchmarks — ${new Date().toISOString()} — ${machine()} — ${BENCH_DB.replace(/\/\/[^@]*@/, '//')}`);
const clients = Number(process.env.BENCH_CLIENTS ?? 4);
const ingest = await benchIngest(clients, Number(process.env.BENCH_INGEST_ROUNDS ?? 3));
console.log(formatIngest(ingest, clients));
const reads = await benchRead({ clients: Number(process.env.BENCH_READ_CLIENTS ?? 8), requests: Number(process.env.BENCH_READ_REQUESTS ?? 8000) });
console.log(formatRead(reads));
const sizes = (process.env.BENCH_SEARCH_SIZES ?? '1000,20000').split(',').map(Number);
const search = await benchSearch({ sizes, clients, perShape: Number(process.env.BENCH_SEARCH_PER_SHAPE ?? 200) });
console.log(formatSearchComparison(search));
process.exit(0);
