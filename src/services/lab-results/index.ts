import type { ServiceModule } from '../module.ts';
import { installRules, parseRules } from './settings.ts';
import { citizenReleaseRoutes } from './citizen-release.ts';
import { trendRoutes } from './trend.ts';
import { labHistory } from './synthetic.ts';

/** Pasientens prøvesvar (domain.md §4; docs/services/lab-results.md). */
export const module: ServiceModule = {
  name: 'lab-results',
  async routes(app, deps) {
    installRules(parseRules(deps.config.labResultsRules));
    await citizenReleaseRoutes(app, deps);
    await trendRoutes(app, deps);
  },
  synthetic: labHistory,
};
