import { parentPort } from 'node:worker_threads';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { createValidator, type Validator } from './validation.ts';

/**
 * A validation thread (validation-threads.ts): for each validator of the main thread (its
 * `owner`) one here, told of its profiles in the order they were added and removed there.
 */
export type ToWorker =
  | { kind: 'validate'; id: number; owner: number; /** the resources, a JSON array */ text: string }
  | { kind: 'add-profile'; owner: number; sd: StructureDefinition }
  | { kind: 'remove-profile'; owner: number; url: string }
  | { kind: 'forget'; owner: number };

export type FromWorker = { kind: 'ready' } | { kind: 'result'; id: number; issues?: OperationOutcomeIssue[][]; error?: string };

const validators = new Map<number, Validator>();
const validatorOf = (owner: number) => validators.get(owner) ?? validators.set(owner, createValidator()).get(owner)!;
// The definitions are loaded before the thread says it is ready.
createValidator();

const port = parentPort!;
port.on('message', (m: ToWorker) => {
  if (m.kind === 'add-profile') validatorOf(m.owner).addProfile(m.sd);
  else if (m.kind === 'remove-profile') validatorOf(m.owner).removeProfile(m.url);
  else if (m.kind === 'forget') validators.delete(m.owner);
  else {
    let answer: FromWorker;
    try {
      const validator = validatorOf(m.owner);
      answer = { kind: 'result', id: m.id, issues: (JSON.parse(m.text) as Resource[]).map((r) => validator.validate(r)) };
    } catch (err) {
      answer = { kind: 'result', id: m.id, error: String((err as Error)?.stack ?? err) };
    }
    port.postMessage(answer);
  }
});
port.postMessage({ kind: 'ready' } satisfies FromWorker);
