import type { HumanName, Resource } from '@medplum/fhirtypes';
import { addDays, ageAt, daysBetween, maxDate, yearsBefore } from './dates.ts';
import { DEPARTMENTS, HEALTH_REGIONS } from './health-regions.ts';
import { individualRange, makeNationalId, makeOrgnr } from './identifiers.ts';
import { COUNTIES, MUNICIPALITIES, municipalityByNumber, type Municipality } from './municipalities.ts';
import { FEMALE_NAMES, MALE_NAMES, STREETS, SURNAMES } from './names.ts';
import { cumulative, Prng } from './prng.ts';
import * as R from './resources.ts';
import type { AddressProtection } from './systems.ts';

/**
 * A deterministic synthetic Norway: organisations (the four RHFs with their trusts, hospitals and
 * departments; municipalities, health stations, pharmacies, laboratories, GP offices, each with
 * an Endpoint), health personnel with their roles, and a population in households with family
 * relations, GP list entries, address protection, deaths and powers of attorney.
 *
 * The output is a pure function of (persons, seed, referenceDate): every random choice comes from
 * seeded PRNG streams and every date is computed from the reference date.
 */

export interface PopulationOptions {
  /** Citizens to generate (at least the well-known identities, about 20, are always generated). */
  persons: number;
  seed: number | string;
  /** The "today" of the population: ages, list dates and deaths are relative to it. */
  referenceDate?: string;
  /** Resources per yielded batch. */
  batchSize?: number;
}

export const DEFAULT_REFERENCE_DATE = '2025-06-01';
/** Fastlegeordningen began on this date; nobody is on a GP list from before it. */
const GP_SCHEME_START = '2001-06-01';
/** About this many citizens on each GP's list, as in the real scheme. */
export const CITIZENS_PER_GP = 1000;

export interface WellKnownPerson {
  patientId: string;
  nin: string;
  name: string;
  birthDate: string;
  age: number;
}

export interface WellKnownPractitioner {
  practitionerId: string;
  roleId: string;
  hpr: string;
  nin: string;
  name: string;
  category: string;
  organizationId: string;
  orgnr: string;
}

export interface WellKnownIdentities {
  referenceDate: string;
  /** A mother of an 11- and a 13-year-old (the father lives with them too). */
  parent: WellKnownPerson;
  otherParent: WellKnownPerson;
  child11: WellKnownPerson;
  child13: WellKnownPerson;
  /** A 17-year-old with a 15-year-old sibling, living with both parents. */
  teen17: WellKnownPerson;
  teen15: WellKnownPerson;
  teenParent: WellKnownPerson;
  /** A 10-year-old living with the mother; the father lives elsewhere and shares parental responsibility. */
  childOfSeparated: WellKnownPerson;
  residentParent: WellKnownPerson;
  absentParent: WellKnownPerson;
  /** An 84-year-old who gave an ordinary power of attorney to powerHolder. */
  powerGiver: WellKnownPerson;
  powerHolder: WellKnownPerson;
  /** A 79-year-old with an assigned (tildelt) power of attorney held by assignedPowerHolder. */
  assignedPowerGiver: WellKnownPerson;
  assignedPowerHolder: WellKnownPerson;
  /** A citizen with a strictly confidential address (strengt fortrolig). */
  confidential: WellKnownPerson;
  /** A citizen who died a month before the reference date. */
  deceased: WellKnownPerson;
  /** The GP of every well-known citizen above (except the confidential and the deceased). */
  gp: WellKnownPractitioner;
  hospitalDoctor: WellKnownPractitioner;
  nurse: WellKnownPractitioner;
  midwife: WellKnownPractitioner;
  pharmacist: WellKnownPractitioner;
}

/** Yields the whole population in batches: organisations and personnel first, then households. */
export function* generatePopulation(opts: PopulationOptions): Generator<Resource[]> {
  const g = new PopulationGenerator(opts);
  const batchSize = opts.batchSize ?? 1000;
  let batch: Resource[] = [];
  for (const r of g.resources()) {
    // A group (an Organization and its Endpoint, which reference each other) stays in one batch.
    if (Array.isArray(r)) batch.push(...r);
    else batch.push(r);
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** The ready-made test identities of a seed's population (the same for any population size). */
export function wellKnownIdentities(seed: number | string, referenceDate = DEFAULT_REFERENCE_DATE): WellKnownIdentities {
  const g = new PopulationGenerator({ persons: 0, seed, referenceDate });
  for (const _ of g.resources());
  return g.wellKnown as WellKnownIdentities;
}

// Adults' age distribution per single year 18–100, after SSB's 2024 population by age (thousands per year).
const ADULT_AGE_WEIGHTS = Array.from({ length: 83 }, (_, i) => {
  const age = 18 + i;
  if (age < 20) return 65;
  if (age < 30) return 72;
  if (age < 40) return 76;
  if (age < 50) return 72;
  if (age < 60) return 74;
  if (age < 70) return 62;
  if (age < 80) return 50;
  if (age < 85) return 28;
  if (age < 90) return 16;
  if (age < 95) return 7;
  return age < 100 ? 2 : 0.3;
});
const ADULT_AGES = cumulative(ADULT_AGE_WEIGHTS);
const MUNICIPALITY_WEIGHTS = cumulative(MUNICIPALITIES.map((m) => m.population));

/** One resource, or resources that must be stored together. */
type Item = Resource | Resource[];

interface Person {
  id: string;
  nin: string;
  given: string;
  family: string;
  gender: 'male' | 'female';
  birthDate: string;
}

interface Gp {
  practitionerId: string;
  roleId: string;
  display: string;
  municipality: string;
}

class PopulationGenerator {
  readonly ref: string;
  readonly wellKnown: Partial<WellKnownIdentities> = {};
  private readonly persons: number;
  private readonly orgRng: Prng;
  private readonly staffRng: Prng;
  private readonly gpRng: Prng;
  private readonly peopleRng: Prng;
  private readonly usedNins = new Set<string>();
  private readonly ids = new Map<string, number>();
  private readonly serial = { orgnr: 31_000_000, herId: 8_100_000, resh: 4_200_000, hpr: 5_600_000 };
  private readonly orgnrById = new Map<string, string>();
  private readonly parentOf = new Map<string, string>();
  private readonly gpsByMunicipality = new Map<string, Gp[]>();
  private readonly gpsByCounty = new Map<string, Gp[]>();
  /** Recently generated adults, for the absent parent of a one-parent household and for power-of-attorney holders. */
  private readonly recentAdults: (Person & { householdNo: number })[] = [];
  private householdNo = 0;
  private emittedPersons = 0;

  constructor(opts: PopulationOptions) {
    this.ref = opts.referenceDate ?? DEFAULT_REFERENCE_DATE;
    this.persons = opts.persons;
    this.orgRng = new Prng(opts.seed, 'organisations');
    this.staffRng = new Prng(opts.seed, 'staff');
    this.gpRng = new Prng(opts.seed, 'gps');
    this.peopleRng = new Prng(opts.seed, 'people');
    this.wellKnown.referenceDate = this.ref;
  }

  *resources(): Generator<Item> {
    yield* this.organisations();
    yield* this.gps();
    yield* this.wellKnownPeople();
    while (this.emittedPersons < this.persons) yield* this.household();
  }

  private nextId(prefix: string): string {
    const n = (this.ids.get(prefix) ?? 0) + 1;
    this.ids.set(prefix, n);
    return `${prefix}-${String(n).padStart(6, '0')}`;
  }

  private orgnr(): string {
    for (;;) {
      const v = makeOrgnr(String(this.serial.orgnr++));
      if (v) return v;
    }
  }

  private next(kind: 'herId' | 'resh' | 'hpr'): string {
    return String(this.serial[kind]++);
  }

  /**
   * A synthetic fødselsnummer (Tenor's month + 80). Practitioners draw individual numbers 900–999
   * and citizens the rest of the range, so the two never compete for a number.
   */
  private nin(rng: Prng, birthDate: string, gender: 'male' | 'female', practitioner = false): string {
    const year = Number(birthDate.slice(0, 4));
    const [lo, hi] = practitioner ? [900, 999] : individualRange(year);
    for (;;) {
      let individual = rng.int(lo, hi);
      if ((individual % 2 === 0) !== (gender === 'female')) individual ^= 1;
      const v = makeNationalId({ birthDate, individual, synthetic: 'tenor' });
      if (v && !this.usedNins.has(v)) {
        this.usedNins.add(v);
        return v;
      }
    }
  }

  private birthDateFor(rng: Prng, age: number): string {
    return addDays(yearsBefore(this.ref, age), -rng.int(0, 363));
  }

  // ---- organisations and their personnel ----

  private *organisations(): Generator<Item> {
    const rng = this.orgRng;
    const self = this;
    function* org(o: Omit<Parameters<typeof R.organization>[0], 'id' | 'endpointId'>): Generator<Item, string> {
      const id = self.nextId('org');
      const endpointId = o.herId ? self.nextId('ep') : undefined;
      if (o.orgnr) self.orgnrById.set(id, o.orgnr);
      if (o.partOf) self.parentOf.set(id, o.partOf);
      const organization = R.organization({ ...o, id, endpointId });
      yield endpointId
        ? [organization, R.endpoint({ id: endpointId, name: `${o.name} (meldingsmottak)`, herId: o.herId!, organizationId: id })]
        : organization;
      return id;
    }
    const m = (n: string) => municipalityByNumber.get(n)!;

    for (const region of HEALTH_REGIONS) {
      const rhfId = yield* org({ kind: 'rhf', name: region.name, orgnr: this.orgnr(), herId: this.next('herId'), municipality: m(region.municipality) });
      for (const trust of region.trusts) {
        const hfId = yield* org({
          kind: 'hf',
          name: trust.name,
          orgnr: this.orgnr(),
          herId: this.next('herId'),
          resh: this.next('resh'),
          partOf: rhfId,
          municipality: m(trust.municipality),
        });
        for (const hospital of trust.hospitals) {
          const hospitalId = yield* org({
            kind: 'hospital',
            name: hospital.name,
            orgnr: this.orgnr(),
            herId: this.next('herId'),
            resh: this.next('resh'),
            partOf: hfId,
            municipality: m(hospital.municipality),
          });
          for (const dept of DEPARTMENTS) {
            const deptId = yield* org({
              kind: dept.kind === 'laboratory' ? 'laboratory' : 'department',
              name: `${dept.name}, ${hospital.name}`,
              herId: this.next('herId'),
              resh: this.next('resh'),
              partOf: hospitalId,
              municipality: m(hospital.municipality),
            });
            for (const category of dept.staff) {
              const kind = dept.kind === 'laboratory' ? 'laboratory' : 'hospital';
              const staff = yield* this.staff(category, deptId, kind, dept.name);
              if (hospital.name === 'Rikshospitalet' && dept.name === 'Medisinsk avdeling') {
                if (category === 'LE') this.wellKnown.hospitalDoctor ??= staff;
                if (category === 'SP') this.wellKnown.nurse ??= staff;
              }
              if (hospital.name === 'Rikshospitalet' && category === 'JO') this.wellKnown.midwife ??= staff;
            }
          }
        }
      }
    }

    for (const mun of MUNICIPALITIES) {
      const munId = yield* org({ kind: 'municipality', name: `${mun.name} kommune`, orgnr: this.orgnr(), herId: this.next('herId'), municipality: mun });
      const stationId = yield* org({ kind: 'health-station', name: `Helsestasjonen i ${mun.name}`, herId: this.next('herId'), partOf: munId, municipality: mun });
      yield* this.staff('SP', stationId, 'health-station', 'Helsesykepleier');
      yield* this.staff('JO', stationId, 'health-station');
      // About one pharmacy per 50,000 inhabitants, at least one in each municipality.
      const pharmacies = Math.max(1, Math.round(mun.population / 50));
      for (let i = 0; i < pharmacies; i++) {
        const name = i === 0 ? `${mun.name} apotek` : `${rng.pick(STREETS).replace(/(gata|veien|stien)$/, '')} apotek ${mun.name}`;
        const pharmacyId = yield* org({ kind: 'pharmacy', name, orgnr: this.orgnr(), herId: this.next('herId'), municipality: mun });
        const pharmacist = yield* this.staff('FA1', pharmacyId, 'pharmacy');
        yield* this.staff('FA2', pharmacyId, 'pharmacy');
        this.wellKnown.pharmacist ??= pharmacist;
      }
    }

    // Private medical laboratories in the largest cities.
    for (const n of ['0301', '4601', '5001', '1103']) {
      const mun = m(n);
      const labId = yield* org({ kind: 'laboratory', name: `Medisinsk laboratorium ${mun.name}`, orgnr: this.orgnr(), herId: this.next('herId'), municipality: mun });
      yield* this.staff('LE', labId, 'laboratory', 'Medisinsk biokjemi');
      yield* this.staff('BI', labId, 'laboratory');
    }
  }

  private *staff(
    category: string,
    organizationId: string,
    kind: 'hospital' | 'pharmacy' | 'health-station' | 'laboratory' | 'fastlege',
    speciality?: string,
    rng = this.staffRng
  ): Generator<Item, WellKnownPractitioner> {
    const gender = rng.chance(category === 'LE' ? 0.5 : 0.85) ? 'female' : 'male';
    const age = rng.int(27, 66);
    const birthDate = this.birthDateFor(rng, age);
    const given = rng.pick(gender === 'female' ? FEMALE_NAMES : MALE_NAMES);
    const family = rng.pick(SURNAMES);
    const practitionerId = this.nextId('prac');
    const roleId = this.nextId('role');
    const hpr = this.next('hpr');
    const nin = this.nin(rng, birthDate, gender, true);
    const authorisedSince = addDays(yearsBefore(this.ref, age - 26), -rng.int(0, 300));
    const since = addDays(authorisedSince, rng.int(0, Math.max(0, daysBetween(authorisedSince, this.ref) - 1)));
    yield R.practitioner({
      id: practitionerId,
      hpr,
      nin,
      given,
      family,
      gender,
      birthDate,
      category,
      authorisedSince,
      speciality: kind === 'fastlege' ? { code: '1', display: 'Allmennmedisin' } : speciality && category === 'LE' ? { display: speciality } : undefined,
    });
    yield R.practitionerRole({
      id: roleId,
      practitionerId,
      practitionerName: `${given} ${family}`,
      organizationId,
      category,
      kind,
      speciality,
      since,
      ...(kind === 'fastlege' ? { herId: this.next('herId') } : {}),
    });
    return { practitionerId, roleId, hpr, nin, name: `${given} ${family}`, category, organizationId, orgnr: this.orgnrOf(organizationId) };
  }

  /** The organisation number of the organisation or, for departments and stations, of the nearest one above it. */
  private orgnrOf(organizationId: string): string {
    for (let id: string | undefined = organizationId; id; id = this.parentOf.get(id)) {
      const orgnr = this.orgnrById.get(id);
      if (orgnr) return orgnr;
    }
    return '';
  }

  // ---- GPs (fastleger): about one per 1,000 citizens, at least one in each county ----

  private *gps(): Generator<Item> {
    const total = Math.max(COUNTIES.length, Math.round(this.persons / CITIZENS_PER_GP));
    const byCounty = apportion(
      COUNTIES.map((c) => MUNICIPALITIES.filter((m) => m.county === c.number).reduce((s, m) => s + m.population, 0)),
      total,
      1
    );
    for (const [ci, county] of COUNTIES.entries()) {
      const muns = MUNICIPALITIES.filter((m) => m.county === county.number);
      const perMunicipality = apportion(muns.map((m) => m.population), byCounty[ci], 0);
      for (const [mi, mun] of muns.entries()) {
        let office: string | undefined;
        for (let i = 0; i < perMunicipality[mi]; i++) {
          // Up to four GPs share an office.
          if (i % 4 === 0) {
            office = this.nextId('org');
            const endpointId = this.nextId('ep');
            const orgnr = this.orgnr();
            const herId = this.next('herId');
            const name = i === 0 ? `${mun.name} legesenter` : `${this.gpRng.pick(STREETS)} legekontor, ${mun.name}`;
            this.orgnrById.set(office, orgnr);
            yield [
              R.organization({ id: office, kind: 'gp-office', name, orgnr, herId, municipality: mun, endpointId }),
              R.endpoint({ id: endpointId, name: `${name} (meldingsmottak)`, herId, organizationId: office }),
            ];
          }
          const gp = yield* this.staff('LE', office!, 'fastlege', 'Allmennmedisin', this.gpRng);
          this.wellKnown.gp ??= gp;
          const entry: Gp = { practitionerId: gp.practitionerId, roleId: gp.roleId, display: `Fastlege ${gp.name}`, municipality: mun.number };
          push(this.gpsByMunicipality, mun.number, entry);
          push(this.gpsByCounty, mun.county, entry);
        }
      }
    }
  }

  private gpFor(rng: Prng, municipality: Municipality): Gp {
    return rng.pick(this.gpsByMunicipality.get(municipality.number) ?? this.gpsByCounty.get(municipality.county)!);
  }

  private gpSince(rng: Prng, birthDate: string): string {
    // Newborns are listed within their first month; nobody before the scheme began.
    let from = maxDate(addDays(birthDate, 30), GP_SCHEME_START);
    if (from > this.ref) from = birthDate;
    return addDays(from, rng.int(0, Math.max(0, daysBetween(from, this.ref) - 1)));
  }

  // ---- citizens ----

  private newPerson(rng: Prng, age: number, gender: 'male' | 'female', family: string): Person {
    const birthDate = this.birthDateFor(rng, age);
    return {
      id: this.nextId('pat'),
      nin: this.nin(rng, birthDate, gender),
      given: rng.pick(gender === 'female' ? FEMALE_NAMES : MALE_NAMES),
      family,
      gender,
      birthDate,
    };
  }

  private address(rng: Prng, municipality: Municipality, street?: string): R.HomeAddress {
    return {
      municipality,
      line: `${street ?? rng.pick(STREETS)} ${rng.int(1, 140)}${rng.chance(0.2) ? rng.pick(['A', 'B', 'C']) : ''}`,
      cadastralUnit: rng.int(1, 300),
      propertyUnit: rng.int(1, 900),
    };
  }

  private patient(
    p: Person,
    address: R.HomeAddress,
    protection: AddressProtection,
    gp: Gp | undefined,
    rng: Prng,
    deceasedDate?: string
  ): Resource {
    this.emittedPersons++;
    return R.patient({
      ...p,
      address,
      protection,
      deceasedDate,
      gp: gp && !deceasedDate ? { roleId: gp.roleId, display: gp.display, since: this.gpSince(rng, p.birthDate) } : undefined,
    });
  }

  private parentLinks(child: Person, parents: { person: Person; responsibility?: 'felles' | 'mor' | 'far' }[]): Resource[] {
    return parents.map(({ person, responsibility }) =>
      R.parentRelation({
        id: this.nextId('rel'),
        childId: child.id,
        parentNin: person.nin,
        parentName: R.nameOf(person.given, person.family),
        parentGender: person.gender,
        responsibility,
      })
    );
  }

  private power(giver: Person, holder: Person, kind: R.PowerKind, start: string, validUntil?: string): Resource {
    return R.powerOfAttorney({
      id: this.nextId('rel'),
      giverId: giver.id,
      holderNin: holder.nin,
      holderName: R.nameOf(holder.given, holder.family),
      kind,
      start,
      validUntil,
    });
  }

  private *wellKnownPeople(): Generator<Item> {
    const rng = this.peopleRng;
    const wk = this.wellKnown;
    const gp = this.gpsByMunicipality.get('0301')![0];
    const oslo = municipalityByNumber.get('0301')!;
    const known = (p: Person): WellKnownPerson => ({
      patientId: p.id,
      nin: p.nin,
      name: `${p.given} ${p.family}`,
      birthDate: p.birthDate,
      age: ageAt(p.birthDate, this.ref),
    });

    // A family with an 11- and a 13-year-old.
    {
      const home = this.address(rng, oslo, 'Karl Johans gate');
      const mother = this.newPerson(rng, 41, 'female', 'Nordmann');
      const father = this.newPerson(rng, 43, 'male', 'Nordmann');
      const c11 = this.newPerson(rng, 11, 'female', 'Nordmann');
      const c13 = this.newPerson(rng, 13, 'male', 'Nordmann');
      for (const p of [mother, father, c11, c13]) yield this.patient(p, home, 'ugradert', gp, rng);
      for (const c of [c11, c13]) yield* this.parentLinks(c, [{ person: mother, responsibility: 'felles' }, { person: father, responsibility: 'felles' }]);
      [wk.parent, wk.otherParent, wk.child11, wk.child13] = [mother, father, c11, c13].map(known);
    }
    // A 17-year-old and a 15-year-old with both parents.
    {
      const home = this.address(rng, oslo, 'Thereses gate');
      const mother = this.newPerson(rng, 46, 'female', 'Bakke');
      const father = this.newPerson(rng, 48, 'male', 'Bakke');
      const t17 = this.newPerson(rng, 17, 'male', 'Bakke');
      const t15 = this.newPerson(rng, 15, 'female', 'Bakke');
      for (const p of [mother, father, t17, t15]) yield this.patient(p, home, 'ugradert', gp, rng);
      for (const c of [t17, t15]) yield* this.parentLinks(c, [{ person: mother, responsibility: 'felles' }, { person: father, responsibility: 'felles' }]);
      [wk.teenParent, wk.teen17, wk.teen15] = [mother, t17, t15].map(known);
    }
    // Separated parents with shared responsibility; the child lives with the mother.
    {
      const mother = this.newPerson(rng, 38, 'female', 'Lie');
      const father = this.newPerson(rng, 40, 'male', 'Strand');
      const child = this.newPerson(rng, 10, 'female', 'Lie');
      const home = this.address(rng, oslo, 'Sognsveien');
      yield this.patient(mother, home, 'ugradert', gp, rng);
      yield this.patient(child, home, 'ugradert', gp, rng);
      yield this.patient(father, this.address(rng, oslo, 'Trondheimsveien'), 'ugradert', gp, rng);
      yield* this.parentLinks(child, [{ person: mother, responsibility: 'felles' }, { person: father, responsibility: 'felles' }]);
      [wk.residentParent, wk.absentParent, wk.childOfSeparated] = [mother, father, child].map(known);
    }
    // Powers of attorney: an ordinary one, and an assigned one (tildelt via the GP).
    {
      const giver = this.newPerson(rng, 84, 'female', 'Haugen');
      const holder = this.newPerson(rng, 56, 'male', 'Haugen');
      yield this.patient(giver, this.address(rng, oslo, 'Ekebergveien'), 'ugradert', gp, rng);
      yield this.patient(holder, this.address(rng, oslo, 'Kongsveien'), 'ugradert', gp, rng);
      yield this.power(giver, holder, 'ordinary', addDays(this.ref, -400));
      const aGiver = this.newPerson(rng, 79, 'male', 'Moen');
      const aHolder = this.newPerson(rng, 50, 'female', 'Moen');
      yield this.patient(aGiver, this.address(rng, oslo, 'Ullevålsveien'), 'ugradert', gp, rng);
      yield this.patient(aHolder, this.address(rng, oslo, 'Bygdøy allé'), 'ugradert', gp, rng);
      yield this.power(aGiver, aHolder, 'assigned', addDays(this.ref, -200), addDays(this.ref, 3 * 365));
      [wk.powerGiver, wk.powerHolder, wk.assignedPowerGiver, wk.assignedPowerHolder] = [giver, holder, aGiver, aHolder].map(known);
    }
    {
      const confidential = this.newPerson(rng, 35, 'female', 'Dahl');
      yield this.patient(confidential, this.address(rng, oslo), 'strengt_fortrolig', this.gpFor(rng, oslo), rng);
      const deceased = this.newPerson(rng, 88, 'male', 'Berg');
      yield this.patient(deceased, this.address(rng, oslo), 'ugradert', gp, rng, addDays(this.ref, -30));
      [wk.confidential, wk.deceased] = [confidential, deceased].map(known);
    }
  }

  /** One household: a family with children, a couple, or someone living alone. */
  private *household(): Generator<Item> {
    const rng = this.peopleRng;
    const householdNo = ++this.householdNo;
    const remaining = this.persons - this.emittedPersons;
    const municipality = MUNICIPALITIES[rng.weighted(MUNICIPALITY_WEIGHTS)];
    const address = this.address(rng, municipality);
    const protection = protectionLevel(rng);
    const gp = this.gpFor(rng, municipality);
    const onList = (p: Person) => (rng.chance(0.99) ? gp : undefined);
    const headAge = 18 + rng.weighted(ADULT_AGES);
    const headGender = rng.chance(0.5) ? 'female' : 'male';
    const family = rng.pick(SURNAMES);
    const head = this.newPerson(rng, headAge, headGender, family);

    const withChildren = remaining >= 2 && headAge >= 21 && headAge <= 57 && rng.chance(0.28);
    const partnered = remaining >= 2 && rng.chance(withChildren ? 0.8 : headAge < 25 ? 0.25 : 0.55);
    const adults: Person[] = [head];
    if (partnered) {
      const partnerAge = Math.min(100, Math.max(18, headAge + rng.int(-4, 4)));
      adults.push(this.newPerson(rng, partnerAge, headGender === 'female' ? 'male' : 'female', rng.chance(0.6) ? family : rng.pick(SURNAMES)));
    }
    const youngest = Math.min(...adults.map((a) => ageAt(a.birthDate, this.ref)));
    const children: Person[] = [];
    if (withChildren) {
      const count = Math.min(remaining - adults.length, [1, 2, 2, 2, 3, 3, 4][rng.int(0, 6)]);
      // Parents were at least 19 and at most 46 at each birth.
      const [lo, hi] = [Math.max(0, youngest - 46), Math.min(17, youngest - 19)];
      for (let i = 0; i < count && lo <= hi; i++) {
        children.push(this.newPerson(rng, rng.int(lo, hi), rng.chance(0.5) ? 'female' : 'male', family));
      }
    }

    for (const p of [...adults, ...children]) {
      const age = ageAt(p.birthDate, this.ref);
      // Deaths in the last year, more likely the older the person.
      const dies = age >= 60 && rng.chance(age >= 90 ? 0.12 : age >= 80 ? 0.05 : 0.01);
      yield this.patient(p, address, protection, onList(p), rng, dies ? addDays(this.ref, -rng.int(1, 365)) : undefined);
    }

    // One parent at home: the other lives elsewhere, and shares the responsibility about half the time.
    const childAges = children.map((c) => ageAt(c.birthDate, this.ref));
    const other =
      children.length && adults.length === 1
        ? this.recentAdult(rng, householdNo, head.gender === 'female' ? 'male' : 'female', Math.max(...childAges) + 19, Math.min(...childAges) + 50)
        : undefined;
    const shared = !!other && rng.chance(0.5);
    for (const child of children) {
      const parents: { person: Person; responsibility?: 'felles' | 'mor' | 'far' }[] = adults.map((person) => ({ person, responsibility: 'felles' }));
      if (adults.length === 1) {
        parents[0].responsibility = shared ? 'felles' : head.gender === 'female' ? 'mor' : 'far';
        if (other) parents.push({ person: other, responsibility: shared ? 'felles' : undefined });
      }
      yield* this.parentLinks(child, parents);
    }

    // Powers of attorney, given by about 4 % of citizens over 75, never by those with a protected address.
    for (const giver of adults) {
      if (ageAt(giver.birthDate, this.ref) < 75 || protection !== 'ugradert' || !rng.chance(0.04)) continue;
      const holder = this.recentAdult(rng, householdNo, rng.chance(0.5) ? 'female' : 'male', 18, 75);
      if (!holder) continue;
      const kind = rng.chance(0.25) ? 'assigned' : 'ordinary';
      const validUntil = rng.chance(0.3) ? addDays(this.ref, rng.int(30, 1000)) : undefined;
      yield this.power(giver, holder, kind, addDays(this.ref, -rng.int(1, 2000)), validUntil);
    }

    if (protection === 'ugradert') {
      for (const a of adults) {
        this.recentAdults.push({ ...a, householdNo });
        if (this.recentAdults.length > 64) this.recentAdults.shift();
      }
    }
  }

  private recentAdult(rng: Prng, householdNo: number, gender: 'male' | 'female', minAge: number, maxAge: number) {
    const fits = this.recentAdults.filter((a) => {
      const age = ageAt(a.birthDate, this.ref);
      return a.householdNo !== householdNo && a.gender === gender && age >= minAge && age <= maxAge;
    });
    return fits.length ? rng.pick(fits) : undefined;
  }
}

/** Address protection of a household: rare, as in Folkeregisteret (a few per ten thousand). */
function protectionLevel(rng: Prng): AddressProtection {
  const x = rng.next();
  if (x < 0.0005) return 'strengt_fortrolig';
  if (x < 0.0015) return 'fortrolig';
  if (x < 0.002) return 'klientadresse';
  return 'ugradert';
}

/** Splits `total` in proportion to `weights` (largest remainder), giving each at least `min`. */
function apportion(weights: number[], total: number, min: number): number[] {
  const result = weights.map(() => min);
  const rest = total - min * weights.length;
  if (rest <= 0) return result;
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / sum) * rest);
  exact.forEach((e, i) => (result[i] += Math.floor(e)));
  let left = rest - exact.reduce((s, e) => s + Math.floor(e), 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k++, left--) result[order[k % order.length][1]]++;
  return result;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export type { HumanName };
