import { loadConfig } from '../../src/config.ts';
import { createPlatform, type Platform } from '../../src/app.ts';
import type { RepositoryOptions } from '../../src/store/repository.ts';
import { openTestDb } from './db.ts';

export interface TestServer {
  platform: Platform;
  /** FHIR base, e.g. http://127.0.0.1:41234/fhir */
  base: string;
  /** fetch against the FHIR base; JSON bodies are sent as application/fhir+json */
  fhir(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  close(): Promise<void>;
}

/** The whole platform over real HTTP on a free port, on a fresh test database. */
export async function startTestServer(o: { env?: Record<string, string>; repository?: Partial<RepositoryOptions> } = {}): Promise<TestServer> {
  const db = await openTestDb();
  const config = loadConfig({ LOG_LEVEL: 'silent', PORT: '0', ...o.env });
  const platform = await createPlatform(config, { db, repository: o.repository });
  const address = await platform.server.listen({ port: 0, host: '127.0.0.1' });
  // Links and Location headers must name the address the server really listens on.
  platform.config.baseUrl = address;
  const base = `${address}/fhir`;
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
