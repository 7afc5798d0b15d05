import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { openTestDb } from './helpers/db.ts';
import type { Db } from '../src/store/db.ts';
import { createRepository } from '../src/store/repository.ts';
import { migrate } from '../src/store/migrate.ts';
import { seedPopulation } from '../src/cli/seed.ts';
import { wellKnownIdentities } from '../src/registry/generator.ts';
import { createRegistryLookup } from '../src/registry/lookup.ts';
import { loadAccessConfig } from '../src/access/config.ts';
import { citizenClaims, practitionerClaims } from '../src/access/dev-authority.ts';
import { principalFromClaims, type AccessHeaders } from '../src/access/claims.ts';
import { accessFilterSql, checkRead, resolveAccess, type AccessContext } from '../src/access/policy.ts';
import { savePrivacy } from '../src/access/privacy.ts';
import { SERVICE_RULES } from '../src/services/rules.ts';
import { serviceOf } from '../src/access/services.ts';
import { FhirError } from '../src/fhir/outcome.ts';
import { raw, sql } from '../src/store/sql.ts';

/**
 * Every service module's read rule exists twice, as a decision in code (`visible`) and as SQL
 * (`visibleSql`): reads use the first, searches, includes, $everything and history the second.
 * On the synthetic population with every module's clinical history, for citizens, representatives
 * and each kind of health personnel, at several moments (results not yet released, documents
 * leaving their window), the two must pick exactly the same rows, current and historical.
 */
const REF = '2025-06-01';
const wk = wellKnownIdentities(42, REF);
let db: Db;
const registry = () => createRegistryLookup(db);
const config = { ...loadAccessConfig({}), issuers: [] };

before(async () => {
  db = await openTestDb();
  await migrate(db);
  const repo = await createRepository(db, {});
  await seedPopulation(repo, { persons: 40, seed: 42, referenceDate: REF });
});
after(async () => db?.close());

interface Who {
  name: string;
  claims: Record<string, unknown>;
  headers: AccessHeaders;
}
const doctor = (name: string, p: { hpr: string; orgnr: string }, basis: string, patientNin: string, o: Record<string, unknown> = {}): Who => ({
  name,
  claims: practitionerClaims({ hpr: p.hpr, org: p.orgnr, patient: patientNin, ...o } as any),
  headers: { accessBasis: basis, patientNin },
});
const citizen = (name: string, nin: string, onBehalfOf?: string): Who => ({ name, claims: citizenClaims(nin), headers: { patientNin: onBehalfOf } });

/** The representatives among the well-known identities, with the people they act for. */
const representatives = (): Who[] => [
  citizen('the parent for everyone they represent', wk.parent.nin),
  citizen('the parent for the 13-year-old', wk.parent.nin, wk.child13.nin),
  citizen('a power-of-attorney holder for everyone', wk.powerHolder.nin),
  citizen('a power-of-attorney holder for the giver', wk.powerHolder.nin, wk.powerGiver.nin),
  doctor('the GP under UNNTAK', wk.gp, 'UNNTAK', wk.powerGiver.nin, { purpose: 'COC' }),
  doctor('a hospital doctor in an emergency', wk.hospitalDoctor, 'AKUTT', wk.powerHolder.nin, { purpose: 'ETREAT' }),
  doctor('a midwife under SAMTYKKE', wk.midwife, 'SAMTYKKE', wk.powerHolder.nin, { authorisation: 'JO' }),
];

/** Everyone who may look at one patient's data: the patient and each kind of health personnel. */
const callersFor = (nin: string): Who[] => [
  citizen('the patient', nin),
  doctor('a hospital doctor under SAMTYKKE', wk.hospitalDoctor, 'SAMTYKKE', nin),
  doctor('a nurse under SAMTYKKE', wk.nurse, 'SAMTYKKE', nin, { authorisation: 'SP' }),
  doctor('a pharmacist under SAMTYKKE', wk.pharmacist, 'SAMTYKKE', nin, { authorisation: 'FA1' }),
];

/**
 * The patients to look at: for every kind of clinical data in the population (type, category,
 * document type), one patient who has it, so every module's rule meets every kind of its data.
 */
async function patientsToExamine(): Promise<{ patientId: string; nin: string }[]> {
  const rows = await db.query<{ compartment: string }>(
    `select distinct on (kind) compartment from (
       select compartment, type || ':' || coalesce(content::jsonb->'category'->0->'coding'->0->>'code', content::jsonb->'category'->0->>'text', '')
                                || ':' || coalesce(content::jsonb->'type'->'coding'->0->>'code', '') as kind
         from resource where compartment is not null and type <> 'Patient') k order by kind, compartment`
  );
  const ids = [...new Set(rows.map((r) => r.compartment))];
  const patients = await db.query<{ id: string; content: string }>(`select id, content from resource where type = 'Patient' and id = any($1::text[])`, [ids]);
  return patients.map((p) => ({ patientId: p.id, nin: JSON.parse(p.content).identifier[0].value }));
}

/**
 * Moments where a time-dependent rule can turn for this patient: shortly after each of their
 * clinical dates (a result's release delay, a document's window), and years later.
 */
async function momentsFor(patientId: string): Promise<Date[]> {
  // The latest date of each type of the patient's data.
  const rows = await db.query<{ d: string }>(
    `select max(coalesce(content::jsonb->>'issued', content::jsonb->>'date', content::jsonb->>'recordedDate', content::jsonb->>'authoredOn')) as d
       from resource where compartment = $1 and type <> 'Patient' group by type`,
    [patientId]
  );
  const sample = [...new Set(rows.map((r) => r.d).filter((d) => d && !Number.isNaN(Date.parse(d))))];
  const out = [new Date(`${REF}T12:00:00Z`)];
  for (const d of sample) for (const days of [8, 15, 366, 1827]) out.push(new Date(Date.parse(d) + days * 86_400_000));
  return out;
}

async function contextFor(who: Who, now: Date): Promise<AccessContext | undefined> {
  try {
    const principal = await principalFromClaims(who.claims as any, who.headers, registry(), 'dev', config.citizenAcceptedAcr);
    return await resolveAccess(principal, { db, registry: registry(), config, now });
  } catch (err) {
    if (err instanceof FhirError) return undefined;
    throw err;
  }
}

async function visibleByCode(ctx: AccessContext, rows: { key: string; compartment: string; content: string }[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of rows) {
    try {
      await checkRead(ctx, JSON.parse(r.content) as Resource, r.compartment, db);
      out.push(r.key);
    } catch (err) {
      if (!(err instanceof FhirError) || ![403, 404].includes(err.status)) throw err;
    }
  }
  return out.sort();
}

async function compare(ctx: AccessContext, label: string): Promise<number> {
  if (ctx.patients === 'any') return 0;
  let seen = 0;
  for (const g of ctx.patients) {
    for (const table of ['resource', 'resource_history'] as const) {
      const key = table === 'resource' ? sql`r.type || '/' || r.id` : sql`r.type || '/' || r.id || '/' || r.version`;
      const all = sql`select ${key} as key, r.compartment, r.content from ${raw(table)} r where r.compartment = ${g.patientId} and r.content is not null`;
      const q = all.toQuery();
      const rows = await db.query<{ key: string; compartment: string; content: string }>(q.text, q.values);
      const byCode = await visibleByCode(ctx, rows);
      const filtered = sql`${all} and ${accessFilterSql(ctx, 'r')}`.toQuery();
      const bySql = (await db.query<{ key: string }>(filtered.text, filtered.values)).map((r) => r.key).sort();
      assert.deepEqual(bySql, byCode, `${label}, patient ${g.patientId}, ${table}: the SQL filter and the read check disagree`);
      seen += rows.length;
    }
  }
  return seen;
}

test('every service module has rules to hold to this test', () => {
  assert.ok(SERVICE_RULES.some((r) => r.visible || r.visibleSql), 'no service rule reads anything yet');
  for (const r of SERVICE_RULES) assert.equal(!!(r.visible || r.visibleGiven), !!r.visibleSql, `${r.service}: a rule in code (visible or visibleGiven) and visibleSql come in pairs`);
});

test('code and SQL agree for every caller at every moment a time-dependent rule can turn', async () => {
  const patients = await patientsToExamine();
  assert.ok(patients.length >= 5, `${patients.length} patients`);
  let rows = 0;
  for (const p of patients) {
    for (const now of await momentsFor(p.patientId)) {
      for (const who of callersFor(p.nin)) {
        const ctx = await contextFor(who, now);
        if (ctx) rows += await compare(ctx, `${who.name} (patient ${p.patientId}) at ${now.toISOString()}`);
      }
    }
  }
  const now = new Date(`${REF}T12:00:00Z`);
  for (const who of representatives()) {
    const ctx = await contextFor(who, now);
    assert.ok(ctx, who.name);
    rows += await compare(ctx!, who.name);
  }
  assert.ok(rows > 5000, `compared ${rows} rows`);
});

test('code and SQL agree when the patient has restricted services, for ordinary and elevated access', async () => {
  const pid = wk.powerGiver.patientId;
  await savePrivacy(db, pid, wk.powerGiver.nin, { reserved: [], restrictAll: false, restricted: ['lab-results', 'documents'], blockedHpr: [] });
  try {
    const now = new Date(`${REF}T12:00:00Z`);
    for (const basis of ['SAMTYKKE', 'FORHOYET_SAMTYKKE']) {
      const ctx = await contextFor(doctor(`doctor ${basis}`, wk.hospitalDoctor, basis, wk.powerGiver.nin), now);
      assert.ok(ctx, basis);
      await compare(ctx!, `hospital doctor under ${basis} with restrictions`);
    }
  } finally {
    await savePrivacy(db, pid, wk.powerGiver.nin, { reserved: [], restrictAll: false, restricted: [], blockedHpr: [] });
  }
});

test('a pharmacist sees prescriptions, the medication list, drug reactions and personal details, nothing else', async () => {
  const now = new Date(`${REF}T12:00:00Z`);
  const [{ compartment }] = await db.query<{ compartment: string }>(
    `select compartment from resource where type = 'MedicationRequest' and compartment in (select compartment from resource where type = 'DiagnosticReport') limit 1`
  );
  const [patient] = await db.query<{ content: string }>(`select content from resource where type = 'Patient' and id = $1`, [compartment]);
  const nin = JSON.parse(patient.content).identifier[0].value;
  const ctx = (await contextFor(doctor('pharmacist', wk.pharmacist, 'SAMTYKKE', nin, { authorisation: 'FA1' }), now))!;
  const rows = await db.query<{ type: string; content: string }>(`select type, content from resource where compartment = $1`, [compartment]);
  const seen = new Set<string>();
  for (const r of rows) {
    try {
      await checkRead(ctx, JSON.parse(r.content), compartment, db);
      seen.add(serviceOf(JSON.parse(r.content)));
    } catch (err) {
      if (!(err instanceof FhirError)) throw err;
    }
  }
  assert.ok(seen.has('medication'), 'prescriptions are visible');
  assert.deepEqual([...seen].filter((s) => !['medication', 'critical-information', 'person'].includes(s)), []);
  assert.ok(rows.some((r) => r.type === 'DiagnosticReport'), 'the patient has lab results the pharmacist does not see');
  await compare(ctx, 'pharmacist');
});
