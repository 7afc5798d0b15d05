/** The codes, systems and extensions of the medication service (documented in docs/services/medication.md). */
export const ATC_SYSTEM = 'http://www.whocc.no/atc';
const BASE = 'https://samhandling.dev/fhir';

/** Our FEST-style product id (the catalogue's Medication ids). */
export const FEST_ID_SYSTEM = `${BASE}/NamingSystem/fest-id`;
export const PRODUCT_KIND_EXT = `${BASE}/StructureDefinition/medication-product-kind`;
export const PRODUCT_KIND_SYSTEM = `${BASE}/CodeSystem/medication-product-kind`;

/** Prescription id (reseptID): every e-prescription has one; PLL entries carry it. */
export const PRESCRIPTION_ID_SYSTEM = `${BASE}/NamingSystem/prescription-id`;
/** How many dispenses are left of an e-prescription; kept by the server, counted down by $dispense. */
export const REMAINING_DISPENSES_EXT = `${BASE}/StructureDefinition/remaining-dispenses`;

/** The PLL: List.code, and the immutable entry UUID on each MedicationStatement. */
export const LIST_TYPE_SYSTEM = `${BASE}/CodeSystem/list-type`;
export const PLL_CODE = 'pll';
export const LOOSE_PRESCRIPTIONS_CODE = 'loose-prescriptions';
export const PLL_ENTRY_SYSTEM = `${BASE}/NamingSystem/pll-entry`;
/** A paused PLL: valuePeriod start = when, plus who and why (see docs, "Pause and resume"). */
export const PLL_PAUSED_EXT = `${BASE}/StructureDefinition/pll-paused`;
/** MedicationStatement.statusReason of a discontinued entry: `immediate` revokes the prescription. */
export const DISCONTINUATION_SYSTEM = `${BASE}/CodeSystem/pll-discontinuation`;

export const SERVICE_TAG = { system: `${BASE}/CodeSystem/service`, code: 'medication' } as const;
export const HPR_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.4.4';
export const CATEGORY_9060_SYSTEM = 'urn:oid:2.16.578.1.12.4.1.1.9060';

/** The critical-information profile a drug reaction is written in (owned by critical information). */
export const KJ_ALLERGY_PROFILE = `${BASE}/StructureDefinition/KjAllergyIntolerance`;
