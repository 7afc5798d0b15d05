import fs from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { createValidator } from '../src/fhir/validation.ts';
import { machine, SHARED_DATA } from './common.ts';

/**
 * `tsx bench/validation.ts`: write-time validation in ms per resource over every resource of the Synthea set, per
 * type and in total, for @medplum/core's own validator (the engine we had) and ours, in the same process, alternating
 * rounds so that load on a shared machine hits both alike. ROUNDS (default 3) sets the number of rounds.
 */
const dir = path.join(SHARED_DATA, 'synthea');
const resources: Resource[] = [];
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const bundle = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  for (const entry of bundle.entry ?? []) {
    resources.push(entry.resource);
  }
}

const engines = { library: createValidator({ engine: 'library' }), fast: createValidator() };
type Engine = keyof typeof engines;
const perType: Record<Engine, Map<string, { ms: number; n: number }>> = { library: new Map(), fast: new Map() };
const rounds = Number(process.env.ROUNDS ?? 3);

for (const r of resources.slice(0, 500)) {
  engines.library.validate(r); // warm-up: JIT and lazily built caches in both
  engines.fast.validate(r);
}
for (let round = 0; round < rounds; round++) {
  for (const engine of ['library', 'fast'] as Engine[]) {
    const validator = engines[engine];
    for (const r of resources) {
      const t0 = performance.now();
      validator.validate(r);
      const ms = performance.now() - t0;
      const entry = perType[engine].get(r.resourceType) ?? { ms: 0, n: 0 };
      entry.ms += ms;
      entry.n += 1;
      perType[engine].set(r.resourceType, entry);
    }
  }
}

const total = (engine: Engine) => [...perType[engine].values()].reduce((a, e) => ({ ms: a.ms + e.ms, n: a.n + e.n }), { ms: 0, n: 0 });
console.log(`Validation, Synthea (${resources.length} resources × ${rounds} rounds) — ${machine()}`);
console.log(`${'type'.padEnd(28)} ${'count'.padStart(6)} ${'library ms'.padStart(11)} ${'ours ms'.padStart(9)} ${'speed-up'.padStart(9)}`);
const rows = [...perType.library.entries()].sort((a, b) => b[1].ms / b[1].n - a[1].ms / a[1].n);
for (const [type, lib] of rows) {
  const ours = perType.fast.get(type)!;
  const [l, o] = [lib.ms / lib.n, ours.ms / ours.n];
  console.log(`${type.padEnd(28)} ${String(lib.n / rounds).padStart(6)} ${l.toFixed(3).padStart(11)} ${o.toFixed(3).padStart(9)} ${(l / o).toFixed(1).padStart(8)}×`);
}
const [lib, ours] = [total('library'), total('fast')];
const [l, o] = [lib.ms / lib.n, ours.ms / ours.n];
console.log(`${'total'.padEnd(28)} ${String(lib.n / rounds).padStart(6)} ${l.toFixed(3).padStart(11)} ${o.toFixed(3).padStart(9)} ${(l / o).toFixed(1).padStart(8)}×`);
