// The thread of bench/http-load.ts (plain JavaScript: worker threads do not load TypeScript).
import { parentPort, workerData } from 'node:worker_threads';

const { base, items, clients } = workerData;
const times = [];
let next = 0;
try {
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < items.length) {
        const item = items[next++];
        const t = performance.now();
        const res = await fetch(`${base}/${item.path}`, { headers: { accept: 'application/fhir+json' } });
        const body = await res.text();
        if (res.status !== 200) throw new Error(`GET ${item.path.slice(0, 200)} → ${res.status}: ${body.slice(0, 300)}`);
        times.push({ key: item.key, ms: performance.now() - t });
      }
    })
  );
  parentPort.postMessage({ times });
} catch (e) {
  parentPort.postMessage({ error: e.message });
}
