import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { namedIdentities, writePopulationInfo } from '../src/cli/identities.ts';
import { wellKnownIdentities } from '../src/registry/generator.ts';
import { ageAt } from '../src/registry/dates.ts';
import { REPO_ROOT } from './helpers/paths.ts';

/**
 * The README's journey: the seeded population's test identities are named by role, their ages
 * hold on the day of seeding, and `npm run token` / `npm run identities` resolve the roles.
 */
const today = new Date().toISOString().slice(0, 10);

test('seeded on a day, the 11-year-old is 11 and the 13-year-old 13 on that day', () => {
  const ids = namedIdentities(wellKnownIdentities(42, today));
  const birthOf = (nin: string) => {
    const [d, m, y] = [Number(nin.slice(0, 2)) % 40, Number(nin.slice(2, 4)) % 40, nin.slice(4, 6)];
    return `20${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  };
  assert.equal(ageAt(birthOf(ids.find((i) => i.role === 'child11')!.nin!), today), 11);
  assert.equal(ageAt(birthOf(ids.find((i) => i.role === 'child13')!.nin!), today), 13);
});

test('npm run identities and npm run token resolve role names from the data folder', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'samhandling-ids-'));
  try {
    writePopulationInfo(dataDir, { seed: 42, referenceDate: today, persons: 100 });
    const ids = namedIdentities(wellKnownIdentities(42, today));
    const env = { ...process.env, DATA_DIR: dataDir, BASE_URL: 'http://localhost:8080' };
    const run = (script: string, args: string[]) =>
      execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli', script), ...args], { env, cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const parent = ids.find((i) => i.role === 'parent')!;
    assert.equal(run('identities.ts', ['parent']), parent.nin);
    const claims = decodeJwt(run('token.ts', ['--practitioner', 'hospital-doctor', '--patient', 'parent'])) as any;
    const doctor = ids.find((i) => i.role === 'hospital-doctor')!;
    assert.equal(claims['helseid://claims/hpr/hpr_number'], doctor.hpr);
    assert.equal(claims['helseid://claims/client/claims/orgnr_parent'], doctor.orgnr, 'the organisation defaults to the doctor’s');
    assert.equal(claims.authorization_details[0].patients[0].identifier.id, parent.nin);
    assert.equal((decodeJwt(run('token.ts', ['--citizen', 'child13'])) as any).pid, ids.find((i) => i.role === 'child13')!.nin);
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
