import type { OperationOutcomeIssue, Resource, SearchParameter } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcome.ts';
import type { ServiceModule } from '../module.ts';
import { PROFILES } from './profiles.ts';
import { criticalInfoRoutes } from './routes.ts';
import { syntheticCriticalInformation } from './synthetic.ts';
import { claimsKjProfile, EXT, hasServiceTag, isKjType, KJ_TYPES, PROFILE } from './terms.ts';

/**
 * Whoever writes (API, import, seeding): a resource tagged as critical information is one of the
 * four critical-information types and claims its profile, so the validator checks it against the
 * profile. (API writes of untagged AllergyIntolerance and Flag must claim it too: rules.ts.)
 */
function validate(resource: Resource): OperationOutcomeIssue[] {
  if (!hasServiceTag(resource)) return [];
  const type = resource.resourceType;
  if (!isKjType(type))
    return [issue('invalid', 'kj-type-not-allowed', `Critical information is one of ${KJ_TYPES.join(', ')}, not ${type}`, `${type}.meta.tag`)];
  if (!claimsKjProfile(resource))
    return [issue('invalid', 'kj-profile-required', `Critical information must claim the profile ${PROFILE[type]} in meta.profile`, `${type}.meta.profile`)];
  return [];
}

/**
 * `valid-until` searches the kj-valid-until extension, e.g. entries that ended before a date:
 * `GET /Condition?patient=<id>&valid-until=lt2026-01-01`. Data stored before the parameter was
 * known needs `npm run reindex` to be found by it.
 */
const VALID_UNTIL_PARAMETER: SearchParameter = {
  resourceType: 'SearchParameter',
  id: 'kj-valid-until',
  url: 'https://samhandling.dev/fhir/SearchParameter/kj-valid-until',
  name: 'valid-until',
  status: 'active',
  description: 'When a critical-information entry stops being active (extension kj-valid-until)',
  code: 'valid-until',
  base: [...KJ_TYPES],
  type: 'date',
  expression: KJ_TYPES.map((t) => `${t}.extension.where(url = '${EXT.validUntil}').value`).join(' | '),
};

export const module: ServiceModule = {
  name: 'critical-information',
  routes: criticalInfoRoutes,
  profiles: () => PROFILES,
  // Published too, so clients can read them at /fhir/StructureDefinition/<name>; and the validUntil search.
  referenceData: () => [...PROFILES, VALID_UNTIL_PARAMETER],
  validate,
  synthetic: syntheticCriticalInformation,
};
