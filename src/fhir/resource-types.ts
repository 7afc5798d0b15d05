import { definitions } from './definitions.ts';

/** The resource types of FHIR R4 4.0.1 (from the base StructureDefinitions). */
export const RESOURCE_TYPES: ReadonlySet<string> = new Set(
  definitions('fhir/r4/profiles-resources.json')
    .entry.map((e: any) => e.resource)
    // medplum's bundle also carries SubscriptionStatus from FHIR 4.3; only R4's own count.
    .filter((sd: any) => sd.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract && sd.fhirVersion === '4.0.1')
    .map((sd: any) => sd.type as string)
);

export const isResourceType = (t: string) => RESOURCE_TYPES.has(t);

/** The FHIR id rule: 1–64 of [A-Za-z0-9\-.] */
export const isValidId = (id: string) => /^[A-Za-z0-9\-.]{1,64}$/.test(id);
