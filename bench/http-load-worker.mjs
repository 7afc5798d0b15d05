// The thread of bench/http-load.ts (plain JavaScript: worker threads do not load TypeScript).
// node:http with keep-alive rather than fetch: undici's fetch costs about 1 ms of CPU more per
// request here, which on a 2-core machine is taken from the server and PostgreSQL it measures.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { base, items, clients } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const times = [];
let next = 0;

function get(url, headers) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { accept: 'application/fhir+json', ...headers } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: chunks }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

try {
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < items.length) {
        const item = items[next++];
        const t = performance.now();
        const res = await get(`${base}/${item.path}`, item.headers);
        if (res.status !== 200) throw new Error(`GET ${item.path.slice(0, 200)} → ${res.status}: ${Buffer.concat(res.body).toString('utf8').slice(0, 300)}`);
        times.push({ key: item.key, ms: performance.now() - t });
      }
    })
  );
  parentPort.postMessage({ times });
} catch (e) {
  parentPort.postMessage({ error: e.message });
} finally {
  agent.destroy();
}
