import type { Resource } from '@medplum/fhirtypes';
import { DEFAULT_REFERENCE_DATE, generatePopulation } from '../../src/registry/generator.ts';
import { ClinicalHistories } from '../../src/services/synthetic.ts';

/**
 * A synthetic population as the seeding builds it (registry first, then each citizen's clinical
 * history from every service module), split into the registry and the history resources `keep`
 * selects: for tests of one service's synthetic data.
 */
export function syntheticPopulation(o: { persons: number; seed: string; keep: (r: Resource) => boolean; batchSize?: number }): { registry: Resource[]; kept: Resource[] } {
  const histories = new ClinicalHistories(o.seed, DEFAULT_REFERENCE_DATE);
  const registry: Resource[] = [];
  const kept: Resource[] = [];
  for (const batch of generatePopulation({ persons: o.persons, seed: o.seed, batchSize: o.batchSize ?? 500 })) {
    registry.push(...batch);
    kept.push(...histories.extend(batch).slice(batch.length).filter(o.keep));
  }
  return { registry, kept };
}
