import type { ServiceModule } from './module.ts';
import { module as criticalInfo } from './critical-info/index.ts';
import { module as medication } from './medication/index.ts';
import { module as documents } from './documents/index.ts';
import { module as labResults } from './lab-results/index.ts';

/** The national service modules on the shared core, in the order their routes are registered. */
export const SERVICE_MODULES: ServiceModule[] = [criticalInfo, medication, documents, labResults];
