import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { issue } from '../../fhir/outcome.ts';
import type { ServiceModule } from '../module.ts';
import { PROFILES } from './profiles.ts';
import { criticalInfoRoutes } from './routes.ts';
import { syntheticCriticalInformation } from './synthetic.ts';
import { claimsKjProfile, hasServiceTag, isKjType, KJ_TYPES, PROFILE } from './terms.ts';

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

export const module: ServiceModule = {
  name: 'critical-information',
  routes: criticalInfoRoutes,
  profiles: () => PROFILES,
  // Published too, so clients can read them at /fhir/StructureDefinition/<name>.
  referenceData: () => PROFILES,
  validate,
  synthetic: syntheticCriticalInformation,
};
