import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config.ts';
import { wellKnownIdentities, type WellKnownIdentities } from '../registry/generator.ts';

/**
 * The well-known test identities of the population in the data folder. Their numbers follow from
 * the seed and the population's reference date (a national id encodes the birth date, and the
 * 11-year-old must be 11 on the day the data is used), so the seed run records both in
 * `<DATA_DIR>/population.json`, and `npm run identities` and `npm run token` name people by role.
 */
export interface PopulationInfo {
  seed: number | string;
  referenceDate: string;
  persons: number;
}

const FILE = 'population.json';

export function writePopulationInfo(dataDir: string, info: PopulationInfo): void {
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(path.join(dataDir, FILE), `${JSON.stringify(info, null, 2)}\n`);
}

export function readPopulationInfo(dataDir: string): PopulationInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

export interface NamedIdentity {
  role: string;
  description: string;
  nin?: string;
  hpr?: string;
  orgnr?: string;
}

/** Every well-known identity by a short role name usable on the command line. */
export function namedIdentities(wk: WellKnownIdentities): NamedIdentity[] {
  const person = (role: string, p: { nin: string; name: string; age: number }, what: string): NamedIdentity => ({ role, description: `${what}: ${p.name}, ${p.age}`, nin: p.nin });
  const clinician = (role: string, p: { hpr: string; orgnr: string; name: string }, what: string): NamedIdentity => ({ role, description: `${what}: ${p.name}`, hpr: p.hpr, orgnr: p.orgnr });
  return [
    person('parent', wk.parent, 'parent of child11 and child13'),
    person('child11', wk.child11, 'an 11-year-old (the parent sees their health data)'),
    person('child13', wk.child13, 'a 13-year-old (the parent does not)'),
    person('teen17', wk.teen17, 'a 17-year-old'),
    person('power-holder', wk.powerHolder, 'holds a power of attorney for power-giver'),
    person('power-giver', wk.powerGiver, 'gave a power of attorney'),
    person('confidential', wk.confidential, 'strictly confidential address'),
    clinician('gp', wk.gp, 'GP (fastlege) of the people above'),
    clinician('hospital-doctor', wk.hospitalDoctor, 'hospital doctor'),
    clinician('nurse', wk.nurse, 'nurse'),
    clinician('midwife', wk.midwife, 'midwife'),
    clinician('pharmacist', wk.pharmacist, 'pharmacist'),
  ];
}

/** The identities of the population in `dataDir`, or undefined when it was not seeded here. */
export function storedIdentities(dataDir: string): NamedIdentity[] | undefined {
  const info = readPopulationInfo(dataDir);
  return info && namedIdentities(wellKnownIdentities(info.seed, info.referenceDate));
}

export function formatIdentities(ids: NamedIdentity[]): string {
  return ids
    .map((i) => `  ${i.role.padEnd(16)} ${i.nin ? `FNR ${i.nin}` : `HPR ${i.hpr} org ${i.orgnr}`.padEnd(11)}  ${i.description}`)
    .join('\n');
}

function main() {
  const config = loadConfig();
  const ids = storedIdentities(config.dataDir);
  if (!ids) {
    console.error(`No seeded population recorded in ${config.dataDir} (run npm start on an empty data folder, or npm run seed).`);
    process.exit(1);
  }
  const wanted = process.argv[2];
  if (!wanted) return console.log(formatIdentities(ids));
  const hit = ids.find((i) => i.role === wanted);
  if (!hit) {
    console.error(`Unknown role ${wanted}; one of ${ids.map((i) => i.role).join(', ')}`);
    process.exit(2);
  }
  console.log(hit.nin ?? hit.hpr);
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) main();
