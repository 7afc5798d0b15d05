import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Observation, ParametersParameter } from '@medplum/fhirtypes';
import type { ServiceDeps } from '../module.ts';
import { badRequest } from '../../fhir/outcome.ts';
import { search } from '../../store/search/index.ts';
import { MAX_COUNT } from '../../fhir/paging.ts';
import { patientNamedIn } from '../../access/policy.ts';
import { sendResource } from '../../api/http.ts';

/**
 * GET /fhir/Observation/$trend?code=<system>|<code>[&patient=<Patient id>]: one analyte's results
 * over time, oldest first, as points for a chart (docs/services/lab-results.md). It is the search
 * `Observation?patient=&code=&_sort=date` under the caller's access filter, so release, blocks,
 * quality-assurance-only results and discipline switches apply exactly as to any search.
 */
export async function trendRoutes(app: FastifyInstance, deps: ServiceDeps): Promise<void> {
  app.get('/Observation/$trend', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    if (!q.code || !q.code.includes('|')) throw badRequest('trend-code-missing', "Parameter 'code' (<system>|<code>) names the analyte", 'code');
    const patient = patientOf(request, q.patient);
    const bundle = await search(deps.repo.db, {
      resourceType: 'Observation',
      params: [
        ['patient', patient],
        ['code', q.code],
        ['_sort', 'date'],
        ['_count', String(MAX_COUNT)],
      ],
      baseUrl: deps.fhirBase(),
      accessFilter: request.access.searchFilter('Observation'),
    });
    const observations = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is Observation => r?.resourceType === 'Observation');
    request.returnedResources = observations;
    const [system, code] = [q.code.slice(0, q.code.indexOf('|')), q.code.slice(q.code.indexOf('|') + 1)];
    return sendResource(request, reply, {
      resourceType: 'Parameters',
      parameter: [
        { name: 'patient', valueReference: { reference: `Patient/${patient}` } },
        { name: 'code', valueCoding: { system, code } },
        ...observations.map(point),
      ],
    });
  });
}

/** The Patient id: the parameter, else the one patient the request is about (nhn-patient-nin or the citizen). */
function patientOf(request: FastifyRequest, given: string | undefined): string {
  if (given) return given.replace(/^Patient\//, '');
  const grant = patientNamedIn(request.access.context);
  if (grant) return grant.patientId;
  throw badRequest('trend-patient-missing', "Name the patient: parameter 'patient' (a Patient id) or header nhn-patient-nin", 'patient');
}

function point(o: Observation): ParametersParameter {
  const part: ParametersParameter[] = [];
  const time = o.effectiveDateTime ?? o.effectivePeriod?.start ?? o.effectiveInstant ?? o.issued;
  if (time) part.push({ name: 'time', valueDateTime: time });
  if (o.valueQuantity) {
    part.push({ name: 'value', valueQuantity: o.valueQuantity });
    if (o.valueQuantity.unit ?? o.valueQuantity.code) part.push({ name: 'unit', valueString: o.valueQuantity.unit ?? o.valueQuantity.code });
  } else if (o.valueString !== undefined) part.push({ name: 'value', valueString: o.valueString });
  else if (o.valueCodeableConcept) part.push({ name: 'value', valueCodeableConcept: o.valueCodeableConcept });
  const range = o.referenceRange?.[0];
  if (range?.low) part.push({ name: 'low', valueQuantity: range.low });
  if (range?.high) part.push({ name: 'high', valueQuantity: range.high });
  if (range?.text) part.push({ name: 'range', valueString: range.text });
  const flag = o.interpretation?.[0]?.coding?.[0];
  if (flag) part.push({ name: 'flag', valueCoding: flag });
  part.push({ name: 'observation', valueReference: { reference: `Observation/${o.id}` } });
  return { name: 'point', part };
}
