import type { ServiceRule } from '../module.ts';

/** The lab-results service's own access rules (see ../module.ts ServiceRule). */
export const rules: ServiceRule[] = [];
