import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Builds the web front ends (dist/portal) when they are missing or older than their sources, so
 * `npm start` and `npm test` on a fresh checkout serve a working portal. Run as `prestart` and
 * `pretest`, and by the browser-test helper; a lock directory keeps concurrent callers (parallel
 * test files) from building into the same folder at once.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SRC = path.join(ROOT, 'src/portal');
const OUT = path.join(ROOT, 'dist/portal');
const STAMP = path.join(OUT, '.built');
const LOCK = path.join(ROOT, 'dist/.portal-build.lock');
const INPUTS = [path.join(ROOT, 'package-lock.json')];

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

export function portalIsStale(): boolean {
  if (!fs.existsSync(STAMP)) return true;
  const built = fs.statSync(STAMP).mtimeMs;
  const inputs = Math.max(newestSource(SRC), ...INPUTS.filter((f) => fs.existsSync(f)).map((f) => fs.statSync(f).mtimeMs));
  return inputs > built;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A build takes seconds; a lock older than two minutes was left by a killed process.
      const age = Date.now() - fs.statSync(LOCK, { throwIfNoEntry: false })!?.mtimeMs;
      if (age > 120_000) fs.rmSync(LOCK, { recursive: true, force: true });
      else await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

function runVite(quiet: boolean): Promise<void> {
  const bin = path.join(ROOT, 'node_modules/vite/bin/vite.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'build', '--config', path.join(SRC, 'vite.config.ts'), '--logLevel', quiet ? 'error' : 'warn'], {
      cwd: ROOT,
      stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed (exit ${code})\n${output.slice(-4000)}`))));
  });
}

/** Builds dist/portal unless it is up to date; returns whether it built. */
export async function ensurePortalBuilt(o: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!o.force && !portalIsStale()) return false;
  return withLock(async () => {
    if (!o.force && !portalIsStale()) return false;
    const started = Date.now();
    if (!o.quiet) console.log('Building the web portal (dist/portal) …');
    // In a child process: Vite sets NODE_ENV=production in its process, which would switch the
    // calling server or test run into production mode (refusing the development login).
    await runVite(!!o.quiet);
    fs.writeFileSync(STAMP, new Date().toISOString());
    if (!o.quiet) console.log(`Web portal built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return true;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const force = process.argv.includes('--force');
  try {
    await ensurePortalBuilt({ force });
  } catch (err) {
    // `npm run build:portal` fails loudly. Before start and test a broken front end must not keep
    // the FHIR server from starting: its pages answer 503, and the browser tests fail on their own.
    if (force) throw err;
    console.error(`WARNING: the web portal did not build; the FHIR API still runs.\n${(err as Error).message}`);
  }
}
