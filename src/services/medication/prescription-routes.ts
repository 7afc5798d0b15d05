import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AllergyIntolerance, MedicationDispense, MedicationRequest, Resource } from '@medplum/fhirtypes';
import { badRequest, conflict, FhirError, issue } from '../../fhir/outcome.ts';
import { sendResource } from '../../api/http.ts';
import type { ServiceDeps } from '../module.ts';
import { drugReactionRecord } from './drug-reaction.ts';
import { within } from './operation-scope.ts';
import { outputParameters, resourceParam, stringParam } from './params.ts';
import { operationParameters } from '../../fhir/parameters.ts';
import { allowedDispenses, notDispensableReason, remainingDispenses, withRemaining } from './prescriptions.ts';
import { practitionerIn } from './rules.ts';
import { SETTINGS } from './settings.ts';
import { isPharmacy, lockForUpdate, writeChecked } from './store.ts';
import { practitionerRef } from './context.ts';

/**
 * E-prescription operations (docs/services/medication.md, "API"):
 *   POST MedicationRequest/$prescribe        a prescription, optionally with a drug reaction, in one transaction
 *   POST MedicationRequest/<id>/$dispense    a pharmacy dispenses; counts down what is left, atomically
 *   POST MedicationRequest/<id>/$revoke      the prescription is revoked (M5)
 *   POST MedicationRequest/<id>/$renew       renewal with change: a new prescription replaces this one
 * A plain POST MedicationRequest prescribes too (the write rules stamp it the same way).
 */
export async function prescriptionRoutes(app: FastifyInstance, deps: ServiceDeps): Promise<void> {
  const { repo } = deps;
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  function sendWritten(request: FastifyRequest, reply: FastifyReply, written: Resource[], body: unknown, status: number, location?: Resource) {
    request.returnedResources = written;
    if (location) reply.header('location', `${deps.fhirBase()}/${location.resourceType}/${location.id}/_history/${location.meta?.versionId}`);
    return sendResource(request, reply, body, status);
  }

  /** The prescription, locked, after the caller's read check (hidden ones are 404s). */
  async function lockedPrescription(request: FastifyRequest, tx: Parameters<typeof lockForUpdate>[0]): Promise<MedicationRequest> {
    const mr = await lockForUpdate<MedicationRequest>(tx, 'MedicationRequest', idOf(request));
    await request.access.checkRead(mr, undefined, tx);
    return mr;
  }

  app.post('/MedicationRequest/$prescribe', async (request, reply) => {
    const params = operationParameters(request.body);
    const prescription = resourceParam<MedicationRequest>(params, 'prescription', 'MedicationRequest', true)!;
    const reaction = resourceParam<AllergyIntolerance>(params, 'drugReaction', 'AllergyIntolerance', false);
    const ctx = request.access.context;
    const doctor = practitionerIn(ctx, SETTINGS.prescriberCategories, 'prescriber-required', 'Prescribing');
    const written = await repo.inTransaction(async (w) => {
      const { id: _ignored, ...fresh } = prescription;
      const mr = await writeChecked(w, request.access, fresh as MedicationRequest);
      if (!reaction) return [mr];
      const { id: _none, ...r } = reaction;
      return [mr, await writeChecked(w, request.access, drugReactionRecord(r as AllergyIntolerance, mr, doctor, ctx.now))];
    });
    const [mr, allergy] = written;
    return sendWritten(request, reply, written, outputParameters([
      { name: 'prescription', resource: mr },
      ...(allergy ? [{ name: 'drugReaction', resource: allergy }] : []),
    ]), 201, mr);
  });

  app.post('/MedicationRequest/:id/$dispense', async (request, reply) => {
    const params = operationParameters(request.body);
    const ctx = request.access.context;
    const pharmacist = practitionerIn(ctx, SETTINGS.dispenserCategories, 'pharmacist-required', 'Dispensing');
    const pharmacy = pharmacist.childOrganisation ?? pharmacist.organisation;
    if (!(await isPharmacy(repo.db, pharmacy)))
      throw new FhirError(403, [issue('forbidden', 'not-a-pharmacy', `Dispensing is done at a pharmacy; organisation ${pharmacy ?? '(none)'} is not one`, 'authorization_details.practitioner.point_of_care')]);
    const handedOver = stringParam(params, 'whenHandedOver');
    if (handedOver !== undefined && Number.isNaN(Date.parse(handedOver)))
      throw badRequest('invalid-date', `whenHandedOver must be a dateTime, got ${JSON.stringify(handedOver)}`, 'Parameters.parameter.where(name = \'whenHandedOver\').valueString');
    const [dispense, prescription] = await within(ctx, 'dispense', () =>
      repo.inTransaction(async (w) => {
        // The row lock makes the count exact: of two dispenses of the last one, the second waits and then finds none left.
        const mr = await lockedPrescription(request, w.tx);
        const refused = notDispensableReason(mr, ctx.now);
        if (refused) throw conflict(refused.code, refused.message);
        const remaining = remainingDispenses(mr) - 1;
        const dispense = await writeChecked<MedicationDispense>(w, request.access, {
          resourceType: 'MedicationDispense',
          status: 'completed',
          ...(mr.medicationReference ? { medicationReference: mr.medicationReference } : { medicationCodeableConcept: mr.medicationCodeableConcept }),
          subject: mr.subject,
          performer: [
            {
              actor: practitionerRef(pharmacist),
            },
          ],
          authorizingPrescription: [{ reference: `MedicationRequest/${mr.id}` }],
          quantity: mr.dispenseRequest?.quantity,
          whenHandedOver: handedOver ?? ctx.now.toISOString(),
          dosageInstruction: mr.dosageInstruction,
        });
        const counted = withRemaining({ ...mr, ...(remaining === 0 ? { status: 'completed' as const } : {}) }, remaining);
        return [dispense, await writeChecked(w, request.access, counted, mr)] as const;
      })
    );
    return sendWritten(request, reply, [dispense, prescription], outputParameters([
      { name: 'dispense', resource: dispense },
      { name: 'prescription', resource: prescription },
      { name: 'remaining', valueInteger: remainingDispenses(prescription) },
    ]), 201, dispense);
  });

  app.post('/MedicationRequest/:id/$revoke', async (request, reply) => {
    const reason = stringParam(operationParameters(request.body), 'reason');
    const ctx = request.access.context;
    practitionerIn(ctx, SETTINGS.prescriberCategories, 'prescriber-required', 'Revoking a prescription');
    const revoked = await within(ctx, 'revoke', () =>
      repo.inTransaction(async (w) => {
        const mr = await lockedPrescription(request, w.tx);
        if (mr.status !== 'active') throw conflict('prescription-not-active', `The prescription is ${mr.status}: only an active one can be revoked`);
        return writeChecked(w, request.access, revokedPrescription(mr, reason ?? 'Tilbakekalt av forskriver'), mr);
      })
    );
    request.returnedResources = [revoked];
    return sendResource(request, reply, revoked);
  });

  app.post('/MedicationRequest/:id/$renew', async (request, reply) => {
    const replacement = resourceParam<MedicationRequest>(operationParameters(request.body), 'prescription', 'MedicationRequest', true)!;
    const ctx = request.access.context;
    practitionerIn(ctx, SETTINGS.prescriberCategories, 'prescriber-required', 'Renewing a prescription');
    const [renewed, old] = await within(ctx, 'renew', () =>
      repo.inTransaction(async (w) => {
        const mr = await lockedPrescription(request, w.tx);
        if (mr.status !== 'active' && mr.status !== 'completed')
          throw conflict('prescription-not-renewable', `The prescription is ${mr.status}: only an active or used-up prescription is renewed`);
        if (replacement.subject?.reference !== mr.subject?.reference)
          throw badRequest('renewal-other-patient', 'A renewal is for the same patient as the prescription it replaces', 'Parameters.parameter[0].resource.subject');
        const { id: _ignored, ...fresh } = replacement;
        const renewed = await writeChecked(w, request.access, { ...(fresh as MedicationRequest), priorPrescription: { reference: `MedicationRequest/${mr.id}` } });
        const replaced: MedicationRequest = { ...mr, status: 'stopped', statusReason: { text: `Fornyet med endring: erstattet av MedicationRequest/${renewed.id}` } };
        return [renewed, await writeChecked(w, request.access, replaced, mr)] as const;
      })
    );
    return sendWritten(request, reply, [renewed, old], outputParameters([
      { name: 'prescription', resource: renewed },
      { name: 'replaced', resource: old },
    ]), 201, renewed);
  });
}

/** A revoked prescription: cancelled if nothing was dispensed, stopped if some was. */
export function revokedPrescription(mr: MedicationRequest, reason: string): MedicationRequest {
  const untouched = remainingDispenses(mr) === allowedDispenses(mr);
  return { ...mr, status: untouched ? 'cancelled' : 'stopped', statusReason: { text: reason } };
}
