import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from './server.ts';
import { REPO_ROOT } from './paths.ts';
import { ensurePortalBuilt } from '../../src/portal/build.ts';
import { seedPopulation } from '../../src/cli/seed.ts';
import { DEFAULT_REFERENCE_DATE } from '../../src/registry/generator.ts';
import { devAuthority, devIssuer, practitionerClaims, type PractitionerTokenOptions } from '../../src/access/dev-authority.ts';
import { createRegistryLookup } from '../../src/registry/lookup.ts';

/**
 * Browser tests of the web front ends: the real server (auth on, the built-in development
 * authorization server at /oidc) serving the built portal, driven by Debian's Chromium through
 * playwright-core. Logs in through the real dev login page; screenshots go to test-artifacts/.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Pass to `test(..., { skip })`: browser tests run only where Chromium is installed. */
export const browserSkip: string | false = fs.existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the browser tests`;

export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

/** The seeded population's well-known people (seed 42, README.md), at the reference date. */
export const PEOPLE = {
  parent: '27928318821',
  child11: '05921356007',
  child13: '05851250338',
  teen17: '11900791757',
  attorneyHolder: '09916805362',
  attorneyGiver: '30864041643',
} as const;
export const PRACTITIONERS = {
  gp: { hpr: '5601397', org: '310003549' },
  hospitalDoctor: { hpr: '5600000', org: '310000027' },
  nurse: { hpr: '5600002' },
  midwife: { hpr: '5600014' },
  pharmacist: { hpr: '5600895' },
} as const;

export interface PortalHarness {
  server: TestServer;
  /** Origin of the server, e.g. http://127.0.0.1:41234 */
  origin: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console errors and failed responses (status >= 400) seen so far; a CSP violation shows up here. */
  consoleErrors: string[];
  /** Logs in through the app's login button and the dev login page, then waits for `waitFor`. */
  login(nin: string, o?: { path?: string; waitFor?: string }): Promise<void>;
  screenshot(name: string): Promise<string>;
  /**
   * Waits for `selector` to be in the page (attached: the design system's tables collapse to
   * display: contents on a phone, which Playwright counts as invisible); on timeout saves a
   * screenshot `failed-<name>` and puts the page's errors into the failure.
   */
  waitFor(selector: string, name: string): Promise<void>;
  /** The Patient id of a person in the seeded population. */
  patientId(nin: string): Promise<string>;
  /** A practitioner token signed by the server's own development authority (for API calls beside the browser). */
  practitionerToken(o: PractitionerTokenOptions): Promise<string>;
  /** axe-core (WCAG 2.1 A/AA) on the current page; returns serious and critical violations. */
  axe(): Promise<AxeViolation[]>;
  close(): Promise<void>;
}

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** The server's clock: the seed's reference date, moving with real time (ages and validity as README states them). */
export function referenceClock(start = DEFAULT_REFERENCE_DATE): () => Date {
  const t0 = Date.now();
  const base = new Date(`${start}T10:00:00Z`).getTime();
  return () => new Date(base + (Date.now() - t0));
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export async function startPortal(
  o: { persons?: number; viewport?: { width: number; height: number }; clock?: () => Date; seed?: boolean } = {}
): Promise<PortalHarness> {
  await ensurePortalBuilt({ quiet: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-portal-'));
  const server = await startTestServer({ auth: 'on', env: { DEV_AUTH: 'true', DATA_DIR: dataDir }, clock: o.clock ?? referenceClock() });
  if (o.seed !== false) await seedPopulation(server.platform.repo, { persons: o.persons ?? 50, seed: 42, clinical: false });
  const origin = new URL(server.base).origin;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const context = await browser.newContext({ viewport: o.viewport ?? { width: 1280, height: 900 }, locale: 'nb-NO' });
  // An init script is injected by the browser itself, so the page's CSP (script-src 'self') stays on for the app.
  await context.addInitScript({ content: AXE_SOURCE });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    // Failed loads are reported with their URL below.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
  });
  page.on('response', (r) => {
    // The dev login page has no icon; the browser's favicon probe is not the app's doing.
    if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) consoleErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const screenshot = async (name: string) => {
    const file = path.join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };

  return {
    server,
    origin,
    browser,
    context,
    page,
    consoleErrors,
    async login(nin, lo = {}) {
      await page.goto(`${origin}${lo.path ?? '/'}`);
      await page.getByTestId('login').click();
      await page.waitForURL(/\/oidc\/interaction\//);
      await page.locator('input[name="nin"]').fill(nin);
      await page.getByRole('button', { name: /^Log in$/ }).click();
      await page.waitForURL((u) => u.origin === origin && !u.pathname.startsWith('/oidc') && !u.pathname.startsWith('/callback'));
      await page.locator(lo.waitFor ?? '[data-testid="portal-ready"]').first().waitFor({ state: 'attached' });
    },
    async patientId(nin) {
      const id = (await createRegistryLookup(server.platform.repo.db).person(nin))?.patientId;
      if (!id) throw new Error(`No patient with national id ${nin} in the seeded population`);
      return id;
    },
    async practitionerToken(po) {
      const authority = await devAuthority(devIssuer(origin), dataDir);
      return authority.sign(practitionerClaims(po));
    },
    screenshot,
    async waitFor(selector, name) {
      try {
        await page.locator(selector).first().waitFor({ state: 'attached' });
      } catch (err) {
        const file = await screenshot(`failed-${name}`).catch(() => '');
        throw new Error(`${(err as Error).message}\nscreenshot: ${file}\nerrors: ${consoleErrors.join(' | ')}`);
      }
    },
    async axe() {
      const result = await page.evaluate(async () => {
        const axe = (window as any).axe;
        const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
        return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n: any) => n.target.join(' ')) }));
      });
      return (result as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
    },
    async close() {
      await browser.close().catch(() => undefined);
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A readable assertion message for axe violations. */
export function describeViolations(page: string, v: AxeViolation[]): string {
  return `${page}: ${v.map((x) => `${x.id} (${x.impact}): ${x.help} at ${x.targets.slice(0, 3).join(', ')}`).join('; ')}`;
}
