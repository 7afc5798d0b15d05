/**
 * Real municipalities of every county in the 2024 county structure (15 counties), with their
 * official numbers, approximate population in thousands (SSB, 2024, rounded: only used as
 * sampling weights) and a real postal code and post town in each. Not every municipality is
 * listed; each county has several, its largest among them.
 */
export interface Municipality {
  number: string;
  name: string;
  county: string;
  /** Population in thousands, a sampling weight. */
  population: number;
  postalCode: string;
  postTown: string;
}

export interface County {
  number: string;
  name: string;
  /** The regional health authority serving the county. */
  rhf: 'hso' | 'vest' | 'midt' | 'nord';
}

export const COUNTIES: County[] = [
  { number: '03', name: 'Oslo', rhf: 'hso' },
  { number: '11', name: 'Rogaland', rhf: 'vest' },
  { number: '15', name: 'Møre og Romsdal', rhf: 'midt' },
  { number: '18', name: 'Nordland', rhf: 'nord' },
  { number: '31', name: 'Østfold', rhf: 'hso' },
  { number: '32', name: 'Akershus', rhf: 'hso' },
  { number: '33', name: 'Buskerud', rhf: 'hso' },
  { number: '34', name: 'Innlandet', rhf: 'hso' },
  { number: '39', name: 'Vestfold', rhf: 'hso' },
  { number: '40', name: 'Telemark', rhf: 'hso' },
  { number: '42', name: 'Agder', rhf: 'hso' },
  { number: '46', name: 'Vestland', rhf: 'vest' },
  { number: '50', name: 'Trøndelag', rhf: 'midt' },
  { number: '55', name: 'Troms', rhf: 'nord' },
  { number: '56', name: 'Finnmark', rhf: 'nord' },
];

// [number, name, population (thousands), postal code, post town]
const ROWS: [string, string, number, string, string][] = [
  ['0301', 'Oslo', 717, '0150', 'OSLO'],
  ['1101', 'Eigersund', 15, '4370', 'EGERSUND'],
  ['1103', 'Stavanger', 149, '4006', 'STAVANGER'],
  ['1106', 'Haugesund', 38, '5527', 'HAUGESUND'],
  ['1108', 'Sandnes', 83, '4306', 'SANDNES'],
  ['1120', 'Klepp', 20, '4353', 'KLEPP STASJON'],
  ['1121', 'Time', 19, '4340', 'BRYNE'],
  ['1124', 'Sola', 28, '4050', 'SOLA'],
  ['1127', 'Randaberg', 11, '4070', 'RANDABERG'],
  ['1149', 'Karmøy', 43, '4250', 'KOPERVIK'],
  ['1505', 'Kristiansund', 24, '6509', 'KRISTIANSUND N'],
  ['1506', 'Molde', 33, '6413', 'MOLDE'],
  ['1508', 'Ålesund', 58, '6002', 'ÅLESUND'],
  ['1515', 'Herøy', 9, '6090', 'FOSNAVÅG'],
  ['1520', 'Ørsta', 11, '6150', 'ØRSTA'],
  ['1577', 'Volda', 11, '6100', 'VOLDA'],
  ['1580', 'Haram', 10, '6270', 'BRATTVÅG'],
  ['1804', 'Bodø', 53, '8006', 'BODØ'],
  ['1806', 'Narvik', 21, '8514', 'NARVIK'],
  ['1820', 'Alstahaug', 7, '8800', 'SANDNESSJØEN'],
  ['1824', 'Vefsn', 13, '8656', 'MOSJØEN'],
  ['1833', 'Rana', 26, '8622', 'MO I RANA'],
  ['1841', 'Fauske', 10, '8200', 'FAUSKE'],
  ['1860', 'Vestvågøy', 12, '8370', 'LEKNES'],
  ['1865', 'Vågan', 10, '8300', 'SVOLVÆR'],
  ['1866', 'Hadsel', 8, '8450', 'STOKMARKNES'],
  ['3101', 'Halden', 31, '1771', 'HALDEN'],
  ['3103', 'Moss', 50, '1530', 'MOSS'],
  ['3105', 'Sarpsborg', 58, '1706', 'SARPSBORG'],
  ['3107', 'Fredrikstad', 85, '1606', 'FREDRIKSTAD'],
  ['3118', 'Indre Østfold', 46, '1820', 'SPYDEBERG'],
  ['3201', 'Bærum', 130, '1337', 'SANDVIKA'],
  ['3203', 'Asker', 97, '1384', 'ASKER'],
  ['3205', 'Lillestrøm', 91, '2000', 'LILLESTRØM'],
  ['3207', 'Nordre Follo', 62, '1400', 'SKI'],
  ['3209', 'Ullensaker', 43, '2050', 'JESSHEIM'],
  ['3212', 'Nesodden', 20, '1450', 'NESODDTANGEN'],
  ['3216', 'Vestby', 18, '1540', 'VESTBY'],
  ['3218', 'Ås', 21, '1430', 'ÅS'],
  ['3222', 'Lørenskog', 47, '1470', 'LØRENSKOG'],
  ['3232', 'Nittedal', 25, '1482', 'NITTEDAL'],
  ['3240', 'Eidsvoll', 27, '2080', 'EIDSVOLL'],
  ['3301', 'Drammen', 104, '3015', 'DRAMMEN'],
  ['3303', 'Kongsberg', 28, '3611', 'KONGSBERG'],
  ['3305', 'Ringerike', 31, '3510', 'HØNEFOSS'],
  ['3312', 'Lier', 27, '3400', 'LIER'],
  ['3314', 'Øvre Eiker', 20, '3300', 'HOKKSUND'],
  ['3316', 'Modum', 14, '3370', 'VIKERSUND'],
  ['3324', 'Gol', 5, '3550', 'GOL'],
  ['3401', 'Kongsvinger', 18, '2211', 'KONGSVINGER'],
  ['3403', 'Hamar', 32, '2317', 'HAMAR'],
  ['3405', 'Lillehammer', 29, '2609', 'LILLEHAMMER'],
  ['3407', 'Gjøvik', 31, '2815', 'GJØVIK'],
  ['3411', 'Ringsaker', 35, '2380', 'BRUMUNDDAL'],
  ['3413', 'Stange', 21, '2335', 'STANGE'],
  ['3420', 'Elverum', 21, '2408', 'ELVERUM'],
  ['3901', 'Horten', 28, '3187', 'HORTEN'],
  ['3903', 'Holmestrand', 25, '3080', 'HOLMESTRAND'],
  ['3905', 'Tønsberg', 58, '3110', 'TØNSBERG'],
  ['3907', 'Sandefjord', 65, '3210', 'SANDEFJORD'],
  ['3909', 'Larvik', 48, '3256', 'LARVIK'],
  ['3911', 'Færder', 27, '3140', 'NØTTERØY'],
  ['4001', 'Porsgrunn', 37, '3915', 'PORSGRUNN'],
  ['4003', 'Skien', 56, '3725', 'SKIEN'],
  ['4005', 'Notodden', 13, '3674', 'NOTODDEN'],
  ['4012', 'Bamble', 14, '3960', 'STATHELLE'],
  ['4014', 'Kragerø', 10, '3770', 'KRAGERØ'],
  ['4201', 'Risør', 7, '4950', 'RISØR'],
  ['4202', 'Grimstad', 24, '4876', 'GRIMSTAD'],
  ['4203', 'Arendal', 46, '4836', 'ARENDAL'],
  ['4204', 'Kristiansand', 116, '4610', 'KRISTIANSAND S'],
  ['4205', 'Lindesnes', 24, '4515', 'MANDAL'],
  ['4206', 'Farsund', 10, '4550', 'FARSUND'],
  ['4207', 'Flekkefjord', 9, '4400', 'FLEKKEFJORD'],
  ['4601', 'Bergen', 291, '5003', 'BERGEN'],
  ['4602', 'Kinn', 17, '6900', 'FLORØ'],
  ['4612', 'Sveio', 6, '5550', 'SVEIO'],
  ['4613', 'Bømlo', 12, '5430', 'BREMNES'],
  ['4614', 'Stord', 19, '5411', 'STORD'],
  ['4621', 'Voss', 16, '5700', 'VOSS'],
  ['4626', 'Øygarden', 39, '5353', 'STRAUME'],
  ['4627', 'Askøy', 30, '5300', 'KLEPPESTØ'],
  ['4631', 'Alver', 30, '5914', 'ISDALSTØ'],
  ['4640', 'Sogndal', 12, '6856', 'SOGNDAL'],
  ['4647', 'Sunnfjord', 22, '6800', 'FØRDE'],
  ['5001', 'Trondheim', 214, '7010', 'TRONDHEIM'],
  ['5006', 'Steinkjer', 24, '7713', 'STEINKJER'],
  ['5007', 'Namsos', 15, '7800', 'NAMSOS'],
  ['5014', 'Frøya', 5, '7260', 'SISTRANDA'],
  ['5025', 'Røros', 6, '7374', 'RØROS'],
  ['5028', 'Melhus', 17, '7224', 'MELHUS'],
  ['5035', 'Stjørdal', 25, '7500', 'STJØRDAL'],
  ['5037', 'Levanger', 20, '7600', 'LEVANGER'],
  ['5038', 'Verdal', 15, '7650', 'VERDAL'],
  ['5059', 'Orkland', 18, '7300', 'ORKANGER'],
  ['5501', 'Tromsø', 78, '9008', 'TROMSØ'],
  ['5503', 'Harstad', 25, '9405', 'HARSTAD'],
  ['5520', 'Bardu', 4, '9360', 'BARDU'],
  ['5524', 'Målselv', 7, '9321', 'MOEN'],
  ['5530', 'Senja', 15, '9300', 'FINNSNES'],
  ['5532', 'Balsfjord', 6, '9050', 'STORSTEINNES'],
  ['5601', 'Alta', 21, '9510', 'ALTA'],
  ['5603', 'Hammerfest', 11, '9600', 'HAMMERFEST'],
  ['5605', 'Sør-Varanger', 10, '9900', 'KIRKENES'],
  ['5607', 'Vadsø', 6, '9800', 'VADSØ'],
  ['5610', 'Karasjok', 3, '9730', 'KARASJOK'],
  ['5612', 'Kautokeino', 3, '9520', 'KAUTOKEINO'],
  ['5622', 'Porsanger', 4, '9700', 'LAKSELV'],
];

export const MUNICIPALITIES: Municipality[] = ROWS.map(([number, name, population, postalCode, postTown]) => ({
  number,
  name,
  county: number.slice(0, 2),
  population,
  postalCode,
  postTown,
}));

export const municipalityByNumber = new Map(MUNICIPALITIES.map((m) => [m.number, m]));
