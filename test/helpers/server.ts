import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from './paths.ts';
import { loadConfig } from '../../src/config.ts';
import { createPlatform, type Platform } from '../../src/app.ts';
import type { RepositoryOptions } from '../../src/store/repository.ts';
import type { DevAuthority } from '../../src/access/dev-authority.ts';
import { openTestDb } from './db.ts';

export interface TestServer {
  platform: Platform;
  /** FHIR base, e.g. http://127.0.0.1:41234/fhir */
  base: string;
  /** fetch against the FHIR base; JSON bodies are sent as application/fhir+json */
  fhir(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });

/**
 * The whole platform over real HTTP on a free port, on a fresh test database. `auth: 'off'`
 * (the default here) makes every request a local administrator: for the storage and API suites,
 * which test FHIR behaviour; the access suites run with auth on and real tokens.
 */
export async function startTestServer(
  o: {
    env?: Record<string, string>;
    repository?: Partial<RepositoryOptions>;
    auth?: 'on' | 'off';
    /** Builds the development authority whose tokens the server trusts, given the server's base URL. */
    devAuthority?: (baseUrl: string) => Promise<DevAuthority>;
    /** The server's clock (default: the real one); tests move time by changing what it returns. */
    clock?: () => Date;
  } = {}
): Promise<TestServer> {
  const db = await openTestDb();
  const port = await freePort();
  // The public URL must be known before start: DPoP proofs and audiences are checked against it.
  const config = loadConfig({ LOG_LEVEL: 'silent', PORT: String(port), BASE_URL: `http://127.0.0.1:${port}`, DEV_AUTH: 'false', ...o.env });
  let platform: Platform;
  try {
    const devAuthority = await o.devAuthority?.(config.baseUrl);
    platform = await createPlatform(config, { db, repository: o.repository, auth: o.auth ?? 'off', devAuthority, clock: o.clock });
  } catch (err) {
    // A platform that refuses its configuration leaves no test database behind (a PostgreSQL schema).
    await db.close();
    throw err;
  }
  await platform.server.listen({ port, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${port}/fhir`;
  return {
    platform,
    base,
    async fhir(path, init = {}) {
      const headers: Record<string, string> = { accept: 'application/fhir+json', ...init.headers };
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
        headers['content-type'] ??= 'application/fhir+json';
      }
      const res = await fetch(path.startsWith('http') ? path : `${base}${path}`, { method: init.method ?? 'GET', headers, body });
      const text = await res.text();
      let parsed: any;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    close: () => platform.close(),
  };
}

/**
 * `npm start`'s server as a process of its own on the embedded database in `dataDir` (auth off, no
 * seeding unless `env` asks), for tests that kill it or talk to it as another program would. Resolves once it answers.
 */
export async function startServerProcess(dataDir: string, port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/start.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', DATABASE_URL: '', SEED_PERSONS: '0', AUTH: 'off', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/fhir/metadata`)).ok) return child;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  child.kill('SIGKILL');
  throw new Error('server did not start');
}
