import { Worker } from 'node:worker_threads';

/**
 * A load generator in its own thread (http-load-worker.mjs): `clients` concurrent clients GET the
 * given paths and report each request's time. Kept off the server's event loop, so that the
 * clients' own work (HTTP parsing, reading bodies) does not queue in front of the server's, as
 * it would not for real clients on other machines. The two still share the machine's cores.
 */
export interface LoadItem {
  key: string;
  path: string;
  /** Request headers besides `accept` (e.g. a token). */
  headers?: Record<string, string>;
}

export function runLoad(base: string, items: LoadItem[], clients: number): Promise<{ key: string; ms: number }[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./http-load-worker.mjs', import.meta.url), { workerData: { base, items, clients } });
    worker.once('message', (m: { error?: string; times?: { key: string; ms: number }[] }) => {
      void worker.terminate();
      if (m.error) reject(new Error(m.error));
      else resolve(m.times!);
    });
    worker.once('error', reject);
  });
}
