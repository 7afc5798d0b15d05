import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { pool, post } from './common.ts';

/**
 * HTTP load clients on their own thread. A loader is not part of the server it loads: run on the
 * server's event loop, the clients' request building and response parsing took a share of the one
 * thread the server is bound by. process.cpuUsage() counts every thread, so the CPU a benchmark
 * reports still includes theirs.
 */
export interface ClientJob {
  url: string;
  headers: Record<string, string>;
  /** Request bodies, serialized before the measurement starts (as the raw baseline's are). */
  bodies: string[];
  clients: number;
}

/** Starts the clients' thread; `run()` sends every body once, `clients` at a time, and resolves when all are answered. */
export async function httpClients(job: ClientJob): Promise<{ run(): Promise<void>; close(): Promise<void> }> {
  // Loaded through tsx's API: on Node 20 a worker does not get the loader the bench was started with.
  const worker = new Worker(`import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(import.meta.url)}, ${JSON.stringify(import.meta.url)}))`, {
    eval: true,
    workerData: job,
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    run: () =>
      new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        worker.once('error', onError);
        worker.once('message', (m: { error?: string }) => {
          worker.off('error', onError);
          if (m.error) reject(new Error(m.error));
          else resolve();
        });
        worker.postMessage('run');
      }),
    close: async () => {
      await worker.terminate();
    },
  };
}

if (!isMainThread && parentPort) {
  const job = workerData as ClientJob;
  const port = parentPort;
  port.on('message', async () => {
    try {
      await pool(job.bodies, job.clients, async (body) => {
        const res = await post(job.url, body, job.headers);
        if (res.status !== 200) throw new Error(`refused: ${res.status} ${res.text.slice(0, 300)}`);
      });
      port.postMessage({});
    } catch (e) {
      port.postMessage({ error: (e as Error).message });
    }
  });
  port.postMessage('ready');
}
