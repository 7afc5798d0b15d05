/**
 * A small FHIR client for the portals: bearer token, NHN headers, and errors turned into
 * ApiError carrying the OperationOutcome's stable code (issue[0].details.coding[0].code) so
 * pages can show a translated message.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** Stable code from the OperationOutcome, e.g. 'no-representation', or 'network'. */
    readonly code: string,
    readonly diagnostics: string,
    readonly expression?: string
  ) {
    super(diagnostics);
  }
}

export interface ClientOptions {
  token: () => string | undefined;
  /** Extra headers for every request (nhn-patient-nin, nhn-access-basis, …). */
  headers?: () => Record<string, string | undefined>;
  /** Called on 401 (expired or missing token). */
  onUnauthorized?: () => void;
  base?: string;
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const o = JSON.parse(text);
    const i = o?.issue?.[0];
    if (i) return new ApiError(res.status, i.details?.coding?.[0]?.code ?? i.code ?? 'error', o.issue.map((x: any) => x.diagnostics).filter(Boolean).join('; '), i.expression?.[0]);
  } catch {
    /* not an OperationOutcome */
  }
  return new ApiError(res.status, `http-${res.status}`, text.slice(0, 200) || res.statusText);
}

export function createFhirClient(o: ClientOptions) {
  const base = o.base ?? '/fhir';

  async function request(path: string, init: { method?: string; body?: unknown; accept?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: init.accept ?? 'application/fhir+json' };
    const token = o.token();
    if (token) headers.authorization = `Bearer ${token}`;
    for (const [k, v] of Object.entries(o.headers?.() ?? {})) if (v) headers[k] = v;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/fhir+json';
    }
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method: init.method ?? 'GET', headers, body });
    } catch (err) {
      throw new ApiError(0, 'network', (err as Error).message);
    }
    if (res.status === 401) o.onUnauthorized?.();
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  return {
    request,
    async json<T = any>(path: string, init?: { method?: string; body?: unknown }): Promise<T> {
      return (await request(path, init)).json() as Promise<T>;
    },
    /** Every resource of a search Bundle, following `next` links up to `maxPages`. */
    async search<T = any>(path: string, maxPages = 5): Promise<T[]> {
      const out: T[] = [];
      let next: string | undefined = path;
      for (let i = 0; next && i < maxPages; i++) {
        const bundle: any = await (await request(next)).json();
        for (const e of bundle.entry ?? []) if (e.resource && e.search?.mode !== 'outcome' && e.resource.resourceType !== 'OperationOutcome') out.push(e.resource);
        const link = bundle.link?.find((l: any) => l.relation === 'next')?.url as string | undefined;
        next = link ? link.slice(link.indexOf(base) + base.length) : undefined;
      }
      return out;
    },
    /** The raw bytes of a Binary (IHE ITI-68) as a Blob with its content type. */
    async blob(path: string): Promise<Blob> {
      return (await request(path, { accept: '*/*' })).blob();
    },
  };
}

export type FhirClient = ReturnType<typeof createFhirClient>;
