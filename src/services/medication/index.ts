import type { ServiceModule } from '../module.ts';
import { catalogueResources } from './catalogue.ts';
import { pllRoutes } from './pll-routes.ts';
import { prescriptionRoutes } from './prescription-routes.ts';
import { medicationHistory } from './synthetic.ts';
import { validateMedication } from './validate.ts';

/** E-prescriptions and the patient's medication list (PLL): docs/services/medication.md. */
export const module: ServiceModule = {
  name: 'medication',
  async routes(app, deps) {
    await prescriptionRoutes(app, deps);
    await pllRoutes(app, deps);
  },
  validate: validateMedication,
  referenceData: catalogueResources,
  synthetic: medicationHistory,
};
