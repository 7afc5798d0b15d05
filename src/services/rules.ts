import type { ServiceCode } from '../access/services.ts';
import type { ServiceRule } from './module.ts';
import { rules as criticalInfo } from './critical-info/rules.ts';
import { rules as medication } from './medication/rules.ts';
import { rules as documents } from './documents/rules.ts';
import { rules as labResults } from './lab-results/rules.ts';

/**
 * Every service module's access rules. Kept apart from the modules' routes so the policy can
 * import them without pulling in HTTP code.
 */
export const SERVICE_RULES: ServiceRule[] = [...criticalInfo, ...medication, ...documents, ...labResults];

export function rulesFor(service: ServiceCode): ServiceRule[] {
  return SERVICE_RULES.filter((r) => r.service === service);
}
