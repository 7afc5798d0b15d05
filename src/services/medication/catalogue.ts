import type { CodeableConcept, Medication, Reference } from '@medplum/fhirtypes';
import { ATC_SYSTEM, FEST_ID_SYSTEM, PRODUCT_KIND_EXT, PRODUCT_KIND_SYSTEM } from './terms.ts';

/**
 * The medication catalogue in the FEST style (Forskrivnings- og ekspedisjonsstøtte), written as this
 * project's own data: a few common Norwegian drugs plus vaccines, foods (næringsmidler) and
 * consumables (forbruksmateriell). Prescriptions and PLL entries must name one of these; PLL entries
 * must not be vaccines, foods or consumables (domain.md §2). Names and strengths are ordinary ones
 * from Norwegian practice; the ids are ours.
 */
export type ProductKind = 'drug' | 'vaccine' | 'food' | 'consumable';

export interface CatalogueEntry {
  id: string;
  /** ATC code (WHO), absent for consumables, which have none. */
  atc?: string;
  substance: string;
  name: string;
  form: string;
  /** Amount of the active substance per unit of the form, e.g. [20, 'mg']. */
  strength?: [number, string];
  kind: ProductKind;
  /** Usual package size in units of the form, for synthetic histories and defaults. */
  pack: number;
  /** A usual dosage text. */
  dosage: string;
}

type Row = [id: string, atc: string | undefined, substance: string, name: string, form: string, strength: [number, string] | undefined, pack: number, dosage: string];

const drug = (r: Row): CatalogueEntry => entry(r, 'drug');
const entry = ([id, atc, substance, name, form, strength, pack, dosage]: Row, kind: ProductKind): CatalogueEntry => ({
  id: `fest-${id}`,
  atc,
  substance,
  name,
  form,
  strength,
  kind,
  pack,
  dosage,
});

export const CATALOGUE: CatalogueEntry[] = [
  // Cardiovascular
  ['atorvastatin-20', 'C10AA05', 'atorvastatin', 'Atorvastatin 20 mg', 'tablett', [20, 'mg'], 100, '1 tablett om kvelden'],
  ['atorvastatin-40', 'C10AA05', 'atorvastatin', 'Atorvastatin 40 mg', 'tablett', [40, 'mg'], 100, '1 tablett om kvelden'],
  ['simvastatin-20', 'C10AA01', 'simvastatin', 'Simvastatin 20 mg', 'tablett', [20, 'mg'], 100, '1 tablett om kvelden'],
  ['rosuvastatin-10', 'C10AA07', 'rosuvastatin', 'Rosuvastatin 10 mg', 'tablett', [10, 'mg'], 98, '1 tablett daglig'],
  ['amlodipin-5', 'C08CA01', 'amlodipin', 'Amlodipin 5 mg', 'tablett', [5, 'mg'], 100, '1 tablett daglig'],
  ['losartan-50', 'C09CA01', 'losartan', 'Losartan 50 mg', 'tablett', [50, 'mg'], 98, '1 tablett daglig'],
  ['losartan-hct-50', 'C09DA01', 'losartan og diuretika', 'Losartan/hydroklortiazid 50/12,5 mg', 'tablett', [50, 'mg'], 98, '1 tablett daglig'],
  ['ramipril-5', 'C09AA05', 'ramipril', 'Ramipril 5 mg', 'tablett', [5, 'mg'], 100, '1 tablett daglig'],
  ['enalapril-10', 'C09AA02', 'enalapril', 'Enalapril 10 mg', 'tablett', [10, 'mg'], 100, '1 tablett daglig'],
  ['metoprolol-50', 'C07AB02', 'metoprolol', 'Metoprolol depot 50 mg', 'depottablett', [50, 'mg'], 100, '1 tablett om morgenen'],
  ['bisoprolol-5', 'C07AB07', 'bisoprolol', 'Bisoprolol 5 mg', 'tablett', [5, 'mg'], 100, '1 tablett daglig'],
  ['hydroklortiazid-25', 'C03AA03', 'hydroklortiazid', 'Hydroklortiazid 25 mg', 'tablett', [25, 'mg'], 100, '1 tablett om morgenen'],
  ['furosemid-40', 'C03CA01', 'furosemid', 'Furosemid 40 mg', 'tablett', [40, 'mg'], 100, '1 tablett om morgenen'],
  ['spironolakton-25', 'C03DA01', 'spironolakton', 'Spironolakton 25 mg', 'tablett', [25, 'mg'], 100, '1 tablett daglig'],
  ['acetylsalisylsyre-75', 'B01AC06', 'acetylsalisylsyre', 'Albyl-E 75 mg', 'enterotablett', [75, 'mg'], 98, '1 tablett daglig'],
  ['klopidogrel-75', 'B01AC04', 'klopidogrel', 'Klopidogrel 75 mg', 'tablett', [75, 'mg'], 84, '1 tablett daglig'],
  ['apixaban-5', 'B01AF02', 'apixaban', 'Eliquis 5 mg', 'tablett', [5, 'mg'], 168, '1 tablett morgen og kveld'],
  ['rivaroksaban-20', 'B01AF01', 'rivaroksaban', 'Xarelto 20 mg', 'tablett', [20, 'mg'], 98, '1 tablett daglig til måltid'],
  ['warfarin-2.5', 'B01AA03', 'warfarin', 'Marevan 2,5 mg', 'tablett', [2.5, 'mg'], 100, 'Etter INR, se doseringskort'],
  // Diabetes and metabolism
  ['metformin-500', 'A10BA02', 'metformin', 'Metformin 500 mg', 'tablett', [500, 'mg'], 100, '1 tablett morgen og kveld'],
  ['metformin-1000', 'A10BA02', 'metformin', 'Metformin 1000 mg', 'tablett', [1000, 'mg'], 100, '1 tablett morgen og kveld'],
  ['sitagliptin-100', 'A10BH01', 'sitagliptin', 'Januvia 100 mg', 'tablett', [100, 'mg'], 98, '1 tablett daglig'],
  ['empagliflozin-10', 'A10BK03', 'empagliflozin', 'Jardiance 10 mg', 'tablett', [10, 'mg'], 90, '1 tablett daglig'],
  ['insulin-glargin', 'A10AE04', 'insulin glargin', 'Lantus 100 E/ml', 'injeksjonsvæske i penn', [100, 'E/ml'], 5, 'Etter blodsukker, om kvelden'],
  ['insulin-aspart', 'A10AB05', 'insulin aspart', 'NovoRapid 100 E/ml', 'injeksjonsvæske i penn', [100, 'E/ml'], 5, 'Etter blodsukker, til måltid'],
  ['levotyroksin-50', 'H03AA01', 'levotyroksinnatrium', 'Levaxin 50 mikrog', 'tablett', [50, 'mikrog'], 100, '1 tablett om morgenen'],
  ['allopurinol-100', 'M04AA01', 'allopurinol', 'Allopurinol 100 mg', 'tablett', [100, 'mg'], 100, '1 tablett daglig'],
  ['alendronsyre-70', 'M05BA04', 'alendronsyre', 'Alendronat 70 mg', 'tablett', [70, 'mg'], 12, '1 tablett en gang i uken'],
  ['kolekalsiferol-20', 'A11CC05', 'kolekalsiferol', 'D-vitamin 20 mikrog', 'tablett', [20, 'mikrog'], 100, '1 tablett daglig'],
  ['folsyre-1', 'B03BB01', 'folsyre', 'Folsyre 1 mg', 'tablett', [1, 'mg'], 100, '1 tablett daglig'],
  ['jern-100', 'B03AA07', 'ferrosulfat', 'Duroferon 100 mg Fe', 'depottablett', [100, 'mg'], 100, '1 tablett daglig'],
  // Gastrointestinal
  ['omeprazol-20', 'A02BC01', 'omeprazol', 'Omeprazol 20 mg', 'enterokapsel', [20, 'mg'], 98, '1 kapsel daglig'],
  ['pantoprazol-40', 'A02BC02', 'pantoprazol', 'Pantoprazol 40 mg', 'enterotablett', [40, 'mg'], 98, '1 tablett daglig'],
  ['esomeprazol-20', 'A02BC05', 'esomeprazol', 'Nexium 20 mg', 'enterotablett', [20, 'mg'], 98, '1 tablett daglig'],
  ['laktulose', 'A06AD11', 'laktulose', 'Laktulose 670 mg/ml', 'mikstur', [670, 'mg/ml'], 500, '15 ml daglig'],
  ['makrogol', 'A06AD65', 'makrogol, kombinasjoner', 'Movicol', 'pulver til mikstur', [13.8, 'g'], 30, '1 dosepose daglig'],
  ['ondansetron-4', 'A04AA01', 'ondansetron', 'Ondansetron 4 mg', 'tablett', [4, 'mg'], 10, '1 tablett ved kvalme, inntil 2 ganger daglig'],
  // Pain and inflammation
  ['paracetamol-500', 'N02BE01', 'paracetamol', 'Paracetamol 500 mg', 'tablett', [500, 'mg'], 100, '2 tabletter inntil 4 ganger daglig'],
  ['ibuprofen-400', 'M01AE01', 'ibuprofen', 'Ibuprofen 400 mg', 'tablett', [400, 'mg'], 30, '1 tablett inntil 3 ganger daglig'],
  ['naproksen-500', 'M01AE02', 'naproksen', 'Naproxen 500 mg', 'tablett', [500, 'mg'], 30, '1 tablett morgen og kveld'],
  ['diklofenak-50', 'M01AB05', 'diklofenak', 'Voltaren 50 mg', 'enterotablett', [50, 'mg'], 30, '1 tablett inntil 3 ganger daglig'],
  ['paralgin-forte', 'N02AJ06', 'kodein og paracetamol', 'Paralgin forte 400/30 mg', 'tablett', [30, 'mg'], 20, '1–2 tabletter inntil 3 ganger daglig'],
  ['tramadol-50', 'N02AX02', 'tramadol', 'Tramadol 50 mg', 'kapsel', [50, 'mg'], 20, '1 kapsel inntil 3 ganger daglig'],
  ['oksykodon-5', 'N02AA05', 'oksykodon', 'OxyNorm 5 mg', 'kapsel', [5, 'mg'], 28, '1 kapsel ved behov, inntil 4 ganger daglig'],
  ['sumatriptan-50', 'N02CC01', 'sumatriptan', 'Sumatriptan 50 mg', 'tablett', [50, 'mg'], 12, '1 tablett ved migreneanfall'],
  ['prednisolon-5', 'H02AB06', 'prednisolon', 'Prednisolon 5 mg', 'tablett', [5, 'mg'], 100, 'Etter nedtrappingsplan'],
  ['metotreksat-2.5', 'L04AX03', 'metotreksat', 'Metotreksat 2,5 mg', 'tablett', [2.5, 'mg'], 100, '6 tabletter én gang i uken (samme ukedag)'],
  // Nervous system
  ['sertralin-50', 'N06AB06', 'sertralin', 'Sertralin 50 mg', 'tablett', [50, 'mg'], 98, '1 tablett daglig'],
  ['escitalopram-10', 'N06AB10', 'escitalopram', 'Cipralex 10 mg', 'tablett', [10, 'mg'], 98, '1 tablett daglig'],
  ['citalopram-20', 'N06AB04', 'citalopram', 'Citalopram 20 mg', 'tablett', [20, 'mg'], 100, '1 tablett daglig'],
  ['mirtazapin-15', 'N06AX11', 'mirtazapin', 'Mirtazapin 15 mg', 'tablett', [15, 'mg'], 100, '1 tablett om kvelden'],
  ['zopiklon-7.5', 'N05CF01', 'zopiklon', 'Imovane 7,5 mg', 'tablett', [7.5, 'mg'], 30, '1 tablett ved behov om kvelden'],
  ['melatonin-2', 'N05CH01', 'melatonin', 'Circadin 2 mg', 'depottablett', [2, 'mg'], 30, '1 tablett om kvelden'],
  ['diazepam-5', 'N05BA01', 'diazepam', 'Vival 5 mg', 'tablett', [5, 'mg'], 25, '1 tablett ved behov'],
  ['kvetiapin-25', 'N05AH04', 'kvetiapin', 'Quetiapin 25 mg', 'tablett', [25, 'mg'], 100, '1 tablett om kvelden'],
  ['metylfenidat-10', 'N06BA04', 'metylfenidat', 'Ritalin 10 mg', 'tablett', [10, 'mg'], 30, '1 tablett morgen og middag'],
  ['lamotrigin-100', 'N03AX09', 'lamotrigin', 'Lamictal 100 mg', 'tablett', [100, 'mg'], 98, '1 tablett morgen og kveld'],
  ['levetiracetam-500', 'N03AX14', 'levetiracetam', 'Keppra 500 mg', 'tablett', [500, 'mg'], 100, '1 tablett morgen og kveld'],
  ['pregabalin-75', 'N03AX16', 'pregabalin', 'Pregabalin 75 mg', 'kapsel', [75, 'mg'], 56, '1 kapsel morgen og kveld'],
  ['donepezil-10', 'N06DA02', 'donepezil', 'Donepezil 10 mg', 'tablett', [10, 'mg'], 98, '1 tablett om kvelden'],
  // Respiratory and allergy
  ['salbutamol-inh', 'R03AC02', 'salbutamol', 'Ventoline 0,1 mg/dose', 'inhalasjonsaerosol', [0.1, 'mg/dose'], 200, '1–2 inhalasjoner ved behov'],
  ['symbicort-160', 'R03AK07', 'formoterol og budesonid', 'Symbicort Turbuhaler 160/4,5 mikrog', 'inhalasjonspulver', [160, 'mikrog/dose'], 120, '1 inhalasjon morgen og kveld'],
  ['flutikason-nese', 'R01AD08', 'flutikason', 'Avamys 27,5 mikrog/dose', 'nesespray', [27.5, 'mikrog/dose'], 120, '2 spray i hvert nesebor daglig'],
  ['cetirizin-10', 'R06AE07', 'cetirizin', 'Cetirizin 10 mg', 'tablett', [10, 'mg'], 30, '1 tablett daglig'],
  ['desloratadin-5', 'R06AX27', 'desloratadin', 'Aerius 5 mg', 'tablett', [5, 'mg'], 30, '1 tablett daglig'],
  // Infections
  ['amoksicillin-500', 'J01CA04', 'amoksicillin', 'Amoxicillin 500 mg', 'kapsel', [500, 'mg'], 20, '1 kapsel 3 ganger daglig i 7 dager'],
  ['amoksicillin-mikstur', 'J01CA04', 'amoksicillin', 'Amoxicillin 50 mg/ml', 'pulver til mikstur', [50, 'mg/ml'], 100, 'Etter vekt, 3 ganger daglig i 7 dager'],
  ['fenoksymetylpenicillin-1g', 'J01CE02', 'fenoksymetylpenicillin', 'Apocillin 1 g', 'tablett', [1, 'g'], 40, '1 tablett 4 ganger daglig i 7 dager'],
  ['pivmecillinam-200', 'J01CA08', 'pivmecillinam', 'Selexid 200 mg', 'tablett', [200, 'mg'], 15, '1 tablett 3 ganger daglig i 5 dager'],
  ['nitrofurantoin-50', 'J01XE01', 'nitrofurantoin', 'Furadantin 50 mg', 'tablett', [50, 'mg'], 20, '1 tablett 3 ganger daglig i 5 dager'],
  ['doksysyklin-100', 'J01AA02', 'doksysyklin', 'Doxylin 100 mg', 'tablett', [100, 'mg'], 10, '2 tabletter første dag, deretter 1 daglig'],
  // Urology, hormones, eyes, skin
  ['tamsulosin-0.4', 'G04CA02', 'tamsulosin', 'Tamsulosin 0,4 mg', 'depotkapsel', [0.4, 'mg'], 100, '1 kapsel daglig'],
  ['finasterid-5', 'G04CB01', 'finasterid', 'Finasterid 5 mg', 'tablett', [5, 'mg'], 98, '1 tablett daglig'],
  ['microgynon', 'G03AA07', 'levonorgestrel og etinyløstradiol', 'Microgynon', 'tablett', [0.15, 'mg'], 63, '1 tablett daglig i 21 dager, 7 dager opphold'],
  ['desogestrel-75', 'G03AC09', 'desogestrel', 'Cerazette 75 mikrog', 'tablett', [75, 'mikrog'], 84, '1 tablett daglig'],
  ['latanoprost', 'S01EE01', 'latanoprost', 'Xalatan 50 mikrog/ml', 'øyedråper', [50, 'mikrog/ml'], 3, '1 dråpe i hvert øye om kvelden'],
  ['hydrokortison-krem', 'D07AA02', 'hydrokortison', 'Hydrokortison 1 % krem', 'krem', [10, 'mg/g'], 30, 'Smøres tynt 1–2 ganger daglig'],
].map((r) => drug(r as Row)).concat(
  ([
    ['influensavaksine', 'J07BB02', 'influensa, inaktivert, splittvirus eller overflateantigen', 'Influvac Tetra', 'injeksjonsvæske', undefined, 1, '1 dose'],
    ['covid19-vaksine', 'J07BN01', 'covid-19, RNA-basert vaksine', 'Comirnaty', 'injeksjonsvæske', undefined, 1, '1 dose'],
    ['pneumokokkvaksine', 'J07AL02', 'pneumokokk, renset polysakkaridantigen konjugert', 'Prevenar 13', 'injeksjonsvæske', undefined, 1, '1 dose'],
    ['dtp-polio-vaksine', 'J07CA02', 'difteri-pertussis-poliomyelitt-tetanus', 'Boostrix Polio', 'injeksjonsvæske', undefined, 1, '1 dose'],
    ['hpv-vaksine', 'J07BM03', 'papillomavirus (human type 6, 11, 16, 18, 31, 33, 45, 52, 58)', 'Gardasil 9', 'injeksjonsvæske', undefined, 1, '1 dose'],
  ] as Row[]).map((r) => entry(r, 'vaccine')),
  ([
    ['nutridrink-compact', 'V06DB', 'fett/karbohydrater/proteiner/mineraler/vitaminer, kombinasjoner', 'Nutridrink Compact', 'drikk', undefined, 4, '1–2 flasker daglig'],
    ['infatrini', 'V06DB', 'fett/karbohydrater/proteiner/mineraler/vitaminer, kombinasjoner', 'Infatrini', 'drikk', undefined, 24, 'Etter behov'],
    ['glutenfritt-mel', 'V06DB', 'fett/karbohydrater/proteiner/mineraler/vitaminer, kombinasjoner', 'Glutenfri melblanding', 'pulver', undefined, 1, 'Etter behov'],
  ] as Row[]).map((r) => entry(r, 'food')),
  ([
    ['blodsukkerstrimler', undefined, 'blodsukkerteststrimler', 'Contour Next teststrimler', 'teststrimmel', undefined, 50, 'Etter behov'],
    ['pennkanyler', undefined, 'kanyler til insulinpenn', 'BD Micro-Fine 4 mm pennkanyler', 'kanyle', undefined, 100, 'Etter behov'],
    ['stomipose', undefined, 'stomipose', 'SenSura Mio stomipose', 'pose', undefined, 30, 'Etter behov'],
  ] as Row[]).map((r) => entry(r, 'consumable'))
);

const byId = new Map(CATALOGUE.map((e) => [e.id, e]));

export function catalogueEntry(id: string): CatalogueEntry | undefined {
  return byId.get(id);
}

/**
 * The catalogue entry a medication[x] names: a reference `Medication/<catalogue id>`, or a
 * CodeableConcept with the FEST id (or, failing that, an ATC code that names exactly one product kind).
 */
export function entryNamedBy(medication: { medicationReference?: Reference; medicationCodeableConcept?: CodeableConcept }): CatalogueEntry | undefined {
  const ref = medication.medicationReference?.reference;
  if (ref) return ref.startsWith('Medication/') ? byId.get(ref.slice('Medication/'.length)) : undefined;
  const codings = medication.medicationCodeableConcept?.coding ?? [];
  const fest = codings.find((c) => c.system === FEST_ID_SYSTEM && c.code);
  if (fest) return byId.get(fest.code!);
  const atc = codings.find((c) => c.system === ATC_SYSTEM && c.code)?.code;
  return atc ? CATALOGUE.find((e) => e.atc === atc) : undefined;
}

export function medicationResource(e: CatalogueEntry): Medication {
  const code: CodeableConcept = {
    coding: [
      { system: FEST_ID_SYSTEM, code: e.id, display: e.name },
      ...(e.atc ? [{ system: ATC_SYSTEM, code: e.atc, display: e.substance }] : []),
    ],
    text: e.name,
  };
  return {
    resourceType: 'Medication',
    id: e.id,
    extension: [{ url: PRODUCT_KIND_EXT, valueCoding: { system: PRODUCT_KIND_SYSTEM, code: e.kind } }],
    identifier: [{ system: FEST_ID_SYSTEM, value: e.id }],
    code,
    status: 'active',
    form: { text: e.form },
    ...(e.strength
      ? {
          ingredient: [
            {
              itemCodeableConcept: { coding: e.atc ? [{ system: ATC_SYSTEM, code: e.atc, display: e.substance }] : [], text: e.substance },
              isActive: true,
              strength: { numerator: { value: e.strength[0], unit: e.strength[1] }, denominator: { value: 1, unit: e.form } },
            },
          ],
        }
      : {}),
  };
}

/** The catalogue as Medication resources (module.referenceData). */
export function catalogueResources(): Medication[] {
  return CATALOGUE.map(medicationResource);
}
