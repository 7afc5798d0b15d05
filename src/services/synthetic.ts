import type { Organization, Patient, Practitioner, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { ageAt } from '../registry/dates.ts';
import { wellKnownIdentities } from '../registry/generator.ts';
import { Prng } from '../registry/prng.ts';
import { SYSTEM } from '../registry/systems.ts';
import { SERVICE_MODULES } from './index.ts';
import type { SyntheticClinician, SyntheticOrganisation, SyntheticPerson, SyntheticWorld } from './module.ts';

/**
 * Adds each service module's clinical history to the synthetic population as it streams past.
 * The registry generator yields organisations and personnel before any citizen, so by the first
 * Patient the world is known. Each citizen's history is drawn from its own PRNG stream (seed and
 * patient id), so it does not depend on batch sizes or on the other citizens.
 */
export class ClinicalHistories {
  private readonly world: SyntheticWorld;
  private readonly practitioners = new Map<string, Practitioner>();
  private readonly roles = new Map<string, SyntheticClinician & { roleKind: string }>();
  private readonly orgnrById = new Map<string, string>();
  private readonly wellKnown: Set<string>;
  private hprResolved = false;

  constructor(
    private readonly seed: number | string,
    referenceDate: string
  ) {
    const organisations: SyntheticOrganisation[] = [];
    const clinicians: SyntheticWorld['clinicians'] = [];
    const memo = new Map<string, unknown>();
    // Keyed by what was asked and by the lists' lengths, so a list that grew is worked out again.
    const once = <T>(key: string, make: () => T): T => {
      const k = `${key}#${organisations.length}#${clinicians.length}`;
      if (!memo.has(k)) memo.set(k, make());
      return memo.get(k) as T;
    };
    this.world = {
      referenceDate,
      organisations,
      clinicians,
      cliniciansWhere: (categories, roleKind) =>
        once(`c:${categories.join(',')}:${roleKind ?? ''}`, () => clinicians.filter((c) => categories.includes(c.category) && (!roleKind || c.roleKind === roleKind))),
      organisationsOfKind: (kind) => once(`o:${kind}`, () => organisations.filter((o) => o.kind === kind)),
    };
    const wk = wellKnownIdentities(seed, referenceDate);
    this.wellKnown = new Set(Object.values(wk).flatMap((v) => (v && typeof v === 'object' && 'patientId' in v ? [v.patientId as string] : [])));
  }

  /** The batch with every citizen's clinical history appended. */
  extend(batch: Resource[]): Resource[] {
    const out = [...batch];
    for (const r of batch) {
      if (r.resourceType === 'Organization') this.addOrganisation(r);
      else if (r.resourceType === 'Practitioner') this.practitioners.set(r.id!, r);
      else if (r.resourceType === 'PractitionerRole') this.addRole(r);
      else if (r.resourceType === 'Patient') out.push(...this.historyOf(r));
    }
    return out;
  }

  private addOrganisation(o: Organization) {
    const orgnr = o.identifier?.find((i) => i.system === SYSTEM.orgnr)?.value ?? '';
    this.orgnrById.set(o.id!, orgnr);
    const kind = o.type?.flatMap((t) => t.coding ?? []).find((c) => c.system === SYSTEM.organizationKind)?.code ?? '';
    this.world.organisations.push({ organizationId: o.id!, orgnr, name: o.name ?? '', kind });
  }

  private addRole(role: PractitionerRole) {
    const practitionerId = role.practitioner?.reference?.split('/')[1] ?? '';
    const organizationId = role.organization?.reference?.split('/')[1] ?? '';
    const codings = role.code?.flatMap((c) => c.coding ?? []) ?? [];
    const practitioner = this.practitioners.get(practitionerId);
    const clinician = {
      practitionerId,
      roleId: role.id!,
      hpr: practitioner?.identifier?.find((i) => i.system === SYSTEM.hpr)?.value ?? '',
      category: codings.find((c) => c.system === SYSTEM.category9060)?.code ?? '',
      organizationId,
      orgnr: this.orgnrById.get(organizationId) ?? '',
      roleKind: codings.find((c) => c.system === SYSTEM.practitionerRoleKind)?.code ?? '',
    };
    this.roles.set(role.id!, clinician);
    this.world.clinicians.push(clinician);
  }

  private historyOf(patient: Patient): Resource[] {
    // A role may have streamed past before its Practitioner; the personnel all come before the first citizen.
    if (!this.hprResolved) {
      for (const c of this.world.clinicians) if (!c.hpr) c.hpr = this.practitioners.get(c.practitionerId)?.identifier?.find((i) => i.system === SYSTEM.hpr)?.value ?? '';
      this.hprResolved = true;
    }
    const gpRole = patient.generalPractitioner?.[0]?.reference?.split('/')[1];
    const gp = gpRole ? this.roles.get(gpRole) : undefined;
    const person: SyntheticPerson = {
      patient: patient as SyntheticPerson['patient'],
      patientId: patient.id!,
      nin: patient.identifier?.[0]?.value ?? '',
      birthDate: patient.birthDate ?? this.world.referenceDate,
      gender: patient.gender === 'female' ? 'female' : 'male',
      age: ageAt(patient.birthDate ?? this.world.referenceDate, this.world.referenceDate),
      deceased: !!patient.deceasedDateTime,
      gp: gp && { ...gp },
      wellKnown: this.wellKnown.has(patient.id!),
    };
    const out: Resource[] = [];
    for (const m of SERVICE_MODULES) {
      if (!m.synthetic) continue;
      out.push(...m.synthetic(person, this.world, new Prng(this.seed, `${m.name}/${patient.id}`)));
    }
    return out;
  }
}
