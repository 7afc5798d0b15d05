import type { FastifyReply, FastifyRequest } from 'fastify';
import { FhirError } from '../../fhir/outcome.ts';
import { patientInContext } from './context.ts';

type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * The core audits refusals of access (401, 403, hidden data); a refused change (a stale PLL version,
 * an exhausted prescription, an excluded product) is an attempt on the patient's record too, and the
 * patient's access log shows it.
 */
export const auditedRefusals =
  (handler: Handler): Handler =>
  async (request, reply) => {
    try {
      return await handler(request, reply);
    } catch (err) {
      if (err instanceof FhirError && err.status >= 400 && err.status !== 401 && err.status !== 403 && !request.auditDenial) {
        let patient: { id: string; nin: string } | undefined;
        try {
          const g = patientInContext(request.access.context);
          patient = { id: g.patientId, nin: g.nin };
        } catch {
          patient = undefined; // no patient in context: nothing to put in anyone's log
        }
        if (patient) request.access.audit({ interaction: 'operation', outcome: 'error', outcomeDescription: err.message, patient, operation: request.routeOptions?.url });
      }
      throw err;
    }
  };
