import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { runLoad, type LoadItem } from './http-load.ts';
import { readWorld } from './read.ts';
import { machine } from './common.ts';
import { profiled } from './cpu-profile.ts';

/**
 * A diagnostic beside bench/read.ts, not a target: the server thread's own time per read.
 * The clients run in a worker thread (bench/http-load.ts), so the main thread does only the
 * server's work, and its event-loop utilisation per request is the cost of one read to the
 * server. This is much steadier than req/s on a shared machine, so it can tell a change of a
 * few microseconds. The throughput ratio it prints is not bench/read.ts's: there the clients
 * share the event loop.
 *
 *   tsx bench/read-server.ts            (BENCH_READ_REQUESTS per round, BENCH_READ_ROUNDS rounds)
 *   BENCH_CPU_PROFILE=/tmp/rs tsx bench/read-server.ts   (profiles the first round of ours)
 */
const clients = Number(process.env.BENCH_READ_CLIENTS ?? 8);
const requests = Number(process.env.BENCH_READ_REQUESTS ?? 6000);
const rounds = Number(process.env.BENCH_READ_ROUNDS ?? 3);

async function measure(base: string, items: LoadItem[]): Promise<{ rps: number; serverUs: number }> {
  const elu = performance.eventLoopUtilization();
  const started = performance.now();
  await runLoad(base, items, clients);
  const ms = performance.now() - started;
  return { rps: (items.length / ms) * 1000, serverUs: (performance.eventLoopUtilization(elu).active * 1000) / items.length };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`read, server thread alone — ${machine()}`);
  const world = await readWorld(clients);
  try {
    const items = (withToken: boolean): LoadItem[] =>
      Array.from({ length: requests }, (_, i) => {
        const c = i % clients;
        const p = world.data.patients[c];
        return { key: String(c), path: `Observation/${p.observations[i % p.observations.length]}`, headers: withToken ? world.headers[c] : undefined };
      });
    const ours = items(true);
    const raw = items(false);
    await measure(world.base, ours.slice(0, 1000));
    await measure(world.rawBase, raw.slice(0, 1000));
    const f = (x: { rps: number; serverUs: number }) => `${x.rps.toFixed(0)} req/s, server thread ${x.serverUs.toFixed(0)} µs per read`;
    for (let i = 0; i < rounds; i++) {
      const o = await (i === 0 ? profiled('read-server', () => measure(world.base, ours)) : measure(world.base, ours));
      const r = await measure(world.rawBase, raw);
      console.log(`round ${i + 1}: Samhandling ${f(o)}; raw ${f(r)}`);
    }
  } finally {
    await world.close();
  }
  process.exit(0);
}
