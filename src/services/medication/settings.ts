import { PHARMACIST_CATEGORIES } from '../../access/principal.ts';
/**
 * Rules of the medication service that no public specification fixes, as configuration with
 * defaults (documented in docs/services/medication.md). Read once from the environment.
 */
export interface MedicationSettings {
  /** Kodeverk 9060 categories that may prescribe, revoke and renew (LE doctor, TL dentist). */
  prescriberCategories: string[];
  /** Categories that may dispense at a pharmacy (FA1 provisorfarmasøyt, FA2 reseptarfarmasøyt). */
  dispenserCategories: string[];
  /** Categories that may submit, reconcile, pause and resume the PLL (domain.md §2: doctors). */
  pllCategories: string[];
  /** Days a discontinued (seponert) entry stays on the PLL (domain.md §2: 90). */
  discontinuedRetentionDays: number;
  /** Validity of a prescription when the prescriber names none, in days (e-resept's usual one year). */
  defaultValidityDays: number;
}

const list = (v: string | undefined, dflt: string[]) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : dflt);

export function loadMedicationSettings(env: NodeJS.ProcessEnv = process.env): MedicationSettings {
  return {
    prescriberCategories: list(env.MEDICATION_PRESCRIBER_CATEGORIES, ['LE', 'TL']),
    dispenserCategories: list(env.MEDICATION_DISPENSER_CATEGORIES, PHARMACIST_CATEGORIES),
    pllCategories: list(env.MEDICATION_PLL_CATEGORIES, ['LE']),
    discontinuedRetentionDays: Number(env.MEDICATION_PLL_DISCONTINUED_DAYS ?? 90),
    defaultValidityDays: Number(env.MEDICATION_DEFAULT_VALIDITY_DAYS ?? 365),
  };
}

export const SETTINGS = loadMedicationSettings();
