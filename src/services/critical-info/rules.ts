import type { ServiceRule } from '../module.ts';

/** The critical-information service's own access rules (see ../module.ts ServiceRule). */
export const rules: ServiceRule[] = [];
