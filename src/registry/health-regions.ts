/**
 * The specialist health service's structure: the four regional health authorities (RHF), their
 * health trusts (HF) and hospitals, with real names and the municipality each hospital is in.
 * Organisation numbers, HER-ids and RESH-ids are generated (synthetic), never the real ones.
 */
export interface Rhf {
  key: 'hso' | 'vest' | 'midt' | 'nord';
  name: string;
  municipality: string;
  trusts: { name: string; municipality: string; hospitals: { name: string; municipality: string }[] }[];
}

const h = (name: string, municipality: string) => ({ name, municipality });

export const HEALTH_REGIONS: Rhf[] = [
  {
    key: 'hso',
    name: 'Helse Sør-Øst RHF',
    municipality: '3403',
    trusts: [
      { name: 'Oslo universitetssykehus HF', municipality: '0301', hospitals: [h('Rikshospitalet', '0301'), h('Ullevål sykehus', '0301')] },
      { name: 'Akershus universitetssykehus HF', municipality: '3205', hospitals: [h('Ahus Nordbyhagen', '3205')] },
      { name: 'Sykehuset Østfold HF', municipality: '3105', hospitals: [h('Sykehuset Østfold Kalnes', '3105'), h('Sykehuset Østfold Moss', '3103')] },
      {
        name: 'Vestre Viken HF',
        municipality: '3301',
        hospitals: [h('Drammen sykehus', '3301'), h('Bærum sykehus', '3201'), h('Ringerike sykehus', '3305'), h('Kongsberg sykehus', '3303')],
      },
      {
        name: 'Sykehuset Innlandet HF',
        municipality: '3403',
        hospitals: [h('Sykehuset Innlandet Hamar', '3403'), h('Sykehuset Innlandet Lillehammer', '3405'), h('Sykehuset Innlandet Gjøvik', '3407'), h('Sykehuset Innlandet Elverum', '3420'), h('Sykehuset Innlandet Kongsvinger', '3401')],
      },
      { name: 'Sykehuset i Vestfold HF', municipality: '3905', hospitals: [h('Sykehuset i Vestfold Tønsberg', '3905'), h('Sykehuset i Vestfold Larvik', '3909')] },
      { name: 'Sykehuset Telemark HF', municipality: '4003', hospitals: [h('Sykehuset Telemark Skien', '4003'), h('Sykehuset Telemark Notodden', '4005')] },
      {
        name: 'Sørlandet sykehus HF',
        municipality: '4204',
        hospitals: [h('Sørlandet sykehus Kristiansand', '4204'), h('Sørlandet sykehus Arendal', '4203'), h('Sørlandet sykehus Flekkefjord', '4207')],
      },
    ],
  },
  {
    key: 'vest',
    name: 'Helse Vest RHF',
    municipality: '1103',
    trusts: [
      { name: 'Helse Stavanger HF', municipality: '1103', hospitals: [h('Stavanger universitetssjukehus', '1103')] },
      { name: 'Helse Fonna HF', municipality: '1106', hospitals: [h('Haugesund sjukehus', '1106'), h('Stord sjukehus', '4614')] },
      { name: 'Helse Bergen HF', municipality: '4601', hospitals: [h('Haukeland universitetssjukehus', '4601'), h('Voss sjukehus', '4621')] },
      { name: 'Helse Førde HF', municipality: '4647', hospitals: [h('Førde sentralsjukehus', '4647')] },
    ],
  },
  {
    key: 'midt',
    name: 'Helse Midt-Norge RHF',
    municipality: '5035',
    trusts: [
      { name: 'St. Olavs hospital HF', municipality: '5001', hospitals: [h('St. Olavs hospital', '5001'), h('Orkdal sjukehus', '5059'), h('Røros sykehus', '5025')] },
      { name: 'Helse Nord-Trøndelag HF', municipality: '5006', hospitals: [h('Sykehuset Levanger', '5037'), h('Sykehuset Namsos', '5007')] },
      {
        name: 'Helse Møre og Romsdal HF',
        municipality: '1508',
        hospitals: [h('Ålesund sjukehus', '1508'), h('Molde sjukehus', '1506'), h('Kristiansund sjukehus', '1505'), h('Volda sjukehus', '1577')],
      },
    ],
  },
  {
    key: 'nord',
    name: 'Helse Nord RHF',
    municipality: '1804',
    trusts: [
      { name: 'Universitetssykehuset Nord-Norge HF', municipality: '5501', hospitals: [h('UNN Tromsø', '5501'), h('UNN Harstad', '5503'), h('UNN Narvik', '1806')] },
      { name: 'Nordlandssykehuset HF', municipality: '1804', hospitals: [h('Nordlandssykehuset Bodø', '1804'), h('Nordlandssykehuset Vesterålen', '1866'), h('Nordlandssykehuset Lofoten', '1860')] },
      { name: 'Helgelandssykehuset HF', municipality: '1833', hospitals: [h('Helgelandssykehuset Mo i Rana', '1833'), h('Helgelandssykehuset Mosjøen', '1824'), h('Helgelandssykehuset Sandnessjøen', '1820')] },
      { name: 'Finnmarkssykehuset HF', municipality: '5603', hospitals: [h('Klinikk Hammerfest', '5603'), h('Klinikk Kirkenes', '5605')] },
    ],
  },
];

/** The departments every hospital gets, and which staff categories (9060) work there. */
export const DEPARTMENTS: { name: string; kind: 'clinical' | 'maternity' | 'laboratory'; staff: string[] }[] = [
  { name: 'Medisinsk avdeling', kind: 'clinical', staff: ['LE', 'LE', 'SP', 'SP'] },
  { name: 'Kirurgisk avdeling', kind: 'clinical', staff: ['LE', 'LE', 'SP', 'SP'] },
  { name: 'Akuttmottak', kind: 'clinical', staff: ['LE', 'SP', 'SP'] },
  { name: 'Barne- og ungdomsavdeling', kind: 'clinical', staff: ['LE', 'SP'] },
  { name: 'Kvinneklinikken, fødeavdeling', kind: 'maternity', staff: ['LE', 'JO', 'JO', 'SP'] },
  { name: 'Avdeling for medisinsk biokjemi', kind: 'laboratory', staff: ['LE', 'BI'] },
];
