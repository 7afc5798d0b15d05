import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { generatePopulation, wellKnownIdentities } from '../src/registry/generator.ts';
import { ClinicalHistories } from '../src/services/synthetic.ts';

/**
 * The README's journeys (a parent opens the 11-year-old's lab results but not the 13-year-old's,
 * a power-of-attorney holder reads the giver's documents…) need the documented test identities to
 * have lab results and documents in every seeded population, whatever chance gives the others.
 */
test('every documented test identity has lab results and journal documents', () => {
  const REF = '2026-01-15';
  const histories = new ClinicalHistories(42, REF);
  const all: Resource[] = [];
  for (const batch of generatePopulation({ persons: 30, seed: 42, referenceDate: REF })) all.push(...histories.extend(batch));
  const wk = wellKnownIdentities(42, REF);
  for (const who of ['parent', 'child11', 'child13', 'teen17', 'powerGiver', 'powerHolder'] as const) {
    const subject = `Patient/${wk[who].patientId}`;
    const of = (type: string) => all.filter((r) => r.resourceType === type && (r as any).subject?.reference === subject);
    assert.ok(of('DiagnosticReport').length > 0, `${who} has lab results`);
    assert.ok(of('DocumentReference').length > 0, `${who} has documents`);
  }
});
