import { Worker } from 'node:worker_threads';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { Validator } from './validation.ts';
import { takeTurns } from '../event-loop.ts';
import type { ToWorker, FromWorker } from './validation-worker.ts';

/**
 * A validator that also validates many resources at once on worker threads. Validation is the
 * largest share of a write's CPU; on the event loop a transaction Bundle of a long Synthea life
 * held every other request for as long as its resources took to check, and the loop was the bound
 * of ingest while another core had room.
 *
 * Each thread holds, for each validator, one with the same profiles as the main one (the R4
 * definitions are loaded once per thread), told of them in the order the calls below are made,
 * so a resource validated after a profile was added is held to it. Until a thread is started and
 * has loaded its definitions, and for a part whose thread failed, resources are validated on the
 * event loop by the main validator, a slice at a time, so that a large call does not hold other
 * requests for its whole length.
 */
export interface ThreadedValidator extends Validator {
  /** Issues for each resource, as `validate` gives them. */
  validateMany(resources: Resource[]): Promise<OperationOutcomeIssue[][]>;
  /** Starts the threads if they are not, and resolves once one is ready to take work (at once without threads). */
  ready(): Promise<void>;
  /** Forgets this validator's profiles on the threads (which stay for the process's other validators). */
  close(): void;
}

/** Fewer resources than this are checked where they are: the round trip would cost more than it saves. */
const MIN_OFFLOAD = 2;
/** A call is split across threads only in parts of at least this many resources. */
const MIN_PART = 64;
/**
 * At most this many resources go to a thread in one message, and the event loop takes its turn
 * between messages: the JSON of a transaction of 10,000 resources took ~0.15 s to make at once,
 * and the thread can start on the first part while the next is made.
 */
const MAX_PART = 500;
/**
 * Validated on the event loop (no thread, or none ready yet), a call lets other work in after
 * each this many resources (~25–40 ms): a transaction of 10,000 resources validated before the
 * threads were ready held every other request for 1.5 s.
 */
const SLICE = 250;
/**
 * A thread takes ~1.5 s of CPU to start (the modules and the R4 definitions, again): it is
 * started once the process has validated this many resources in bulk on the event loop, so a
 * process that writes little (a test, a small import) never pays for it. A server reaches it with
 * its first large Bundle or the seeding at start.
 */
const START_AFTER = 2000;

interface Thread {
  worker: Worker;
  ready: boolean;
  /** Resolves when the thread has loaded its definitions, or has failed. */
  settled: Promise<void>;
  pending: Map<number, { resolve: (issues: OperationOutcomeIssue[][]) => void; reject: (err: Error) => void; size: number }>;
}

/**
 * The process's threads, shared by its validators: a process normally has one platform, but tests
 * and benchmarks create many, and a thread per platform would load the definitions and warm its
 * JIT again for each. Started when a process has validated enough in bulk (START_AFTER); they
 * keep the process alive only while they have work.
 */
const threads: Thread[] = [];
/** Each validator's profiles, to tell a thread that starts (or starts again after a failure). */
const owners = new Map<number, Map<string, StructureDefinition>>();
let nextOwner = 0;
let nextCall = 0;
/** Set when a thread failed to start: every call is validated on the event loop from then on. */
let unavailable: Error | undefined;
/** Resources validated in bulk on the event loop before any thread was started. */
let validatedHere = 0;

function startThread(): Thread {
  const worker = new Worker(
    // Through tsx's API: on Node 20 a worker does not get the loader the process was started with.
    `import('tsx/esm/api').then((tsx) => tsx.tsImport(${JSON.stringify(new URL('./validation-worker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`,
    { eval: true }
  );
  let settle!: () => void;
  const t: Thread = { worker, ready: false, settled: new Promise((resolve) => (settle = resolve)), pending: new Map() };
  for (const [owner, profiles] of owners) for (const sd of profiles.values()) worker.postMessage({ kind: 'add-profile', owner, sd } satisfies ToWorker);
  worker.on('message', (m: FromWorker) => {
    if (m.kind === 'ready') {
      t.ready = true;
      settle();
      return;
    }
    const p = t.pending.get(m.id);
    if (!p) return;
    t.pending.delete(m.id);
    if (t.pending.size === 0) worker.unref();
    if (m.issues) p.resolve(m.issues);
    else p.reject(new Error(m.error));
  });
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    settle();
    // Its calls are validated on the event loop instead, and a new thread takes its place; one
    // that could not even start (no tsx, no memory) is not tried again.
    process.emitWarning(`A validation thread failed (${err.message}); its work is validated on the event loop`);
    for (const p of t.pending.values()) p.reject(err);
    t.pending.clear();
    const at = threads.indexOf(t);
    if (t.ready) threads[at] = startThread();
    else {
      threads.splice(at, 1);
      unavailable = err;
    }
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`validation thread exited with code ${code}`)));
  // An idle thread does not keep the process alive; one with work does (see onThread). After the
  // listeners: adding a 'message' listener refs the thread's port again.
  worker.unref();
  return t;
}

/** Resources sent to a thread and not answered: new work goes to the least loaded thread. */
function loadOf(t: Thread): number {
  let n = 0;
  for (const p of t.pending.values()) n += p.size;
  return n;
}

function broadcast(msg: ToWorker): void {
  for (const t of threads) t.worker.postMessage(msg);
}

function onThread(t: Thread, owner: number, resources: Resource[]): Promise<OperationOutcomeIssue[][]> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    // One string: cloned for the thread as one copy, where an array of them or the objects
    // themselves cost a structured clone of each. Plain JSON: validation reads decimals as numbers.
    // Made in here, so that what JSON.stringify throws rejects the call.
    const text = JSON.stringify(resources);
    // Referenced while it has work: an import on the embedded database has no other handle open
    // while it waits for the answer, and the process would end with the transaction half done.
    if (t.pending.size === 0) t.worker.ref();
    t.pending.set(id, { resolve, reject, size: resources.length });
    t.worker.postMessage({ kind: 'validate', id, owner, text } satisfies ToWorker);
  });
}

/** `count` threads at most (0: validate on the event loop); the process has as many as its validators asked for at most. */
export function validationThreads(validator: Validator, count: number): ThreadedValidator {
  const owner = nextOwner++;
  const profiles = new Map<string, StructureDefinition>();
  owners.set(owner, profiles);
  let closed = false;

  /** Into `out` from `at`; in slices between which the event loop takes its turn. */
  async function here(resources: Resource[], out: OperationOutcomeIssue[][] = [], at = 0): Promise<OperationOutcomeIssue[][]> {
    for (let i = 0; i < resources.length; i++) {
      if (i > 0 && i % SLICE === 0) await takeTurns();
      out[at + i] = validator.validate(resources[i]);
    }
    return out;
  }

  return {
    validate: (resource) => validator.validate(resource),

    addProfile(sd) {
      const warnings = validator.addProfile(sd);
      // One the main validator cannot use, the threads could not either.
      if (warnings.length === 0 && typeof sd.url === 'string') {
        profiles.set(sd.url, sd);
        broadcast({ kind: 'add-profile', owner, sd });
      }
      return warnings;
    },

    removeProfile(url) {
      validator.removeProfile(url);
      profiles.delete(url);
      broadcast({ kind: 'remove-profile', owner, url });
    },

    async ready() {
      if (count < 1 || unavailable) return;
      while (threads.length < count) threads.push(startThread());
      // Referenced while loading: nothing else may keep the process alive meanwhile.
      for (const t of threads) t.worker.ref();
      try {
        await Promise.race(threads.map((t) => t.settled));
      } finally {
        for (const t of threads) if (t.pending.size === 0) t.worker.unref();
      }
    },

    async validateMany(resources) {
      if (count < 1 || closed || unavailable || resources.length < MIN_OFFLOAD) return here(resources);
      if (threads.length === 0 && (validatedHere += resources.length) <= START_AFTER) return here(resources);
      while (threads.length < count) threads.push(startThread());
      const out: OperationOutcomeIssue[][] = new Array(resources.length);
      const sent: Promise<unknown>[] = [];
      let at = 0;
      let sentSinceTurn = 0;
      while (at < resources.length) {
        const ready = threads.filter((t) => t.ready);
        if (ready.length === 0) {
          // The threads are still loading: a slice here, then look again.
          if (at > 0) await takeTurns();
          const slice = resources.slice(at, at + SLICE);
          await here(slice, out, at);
          at += slice.length;
          continue;
        }
        if (sentSinceTurn >= MAX_PART) {
          await takeTurns();
          sentSinceTurn = 0;
        }
        // Spread over the ready threads, in parts of MIN_PART to MAX_PART resources (a rest
        // smaller than MIN_PART goes along with the part before it).
        const left = resources.length - at;
        let size = Math.min(MAX_PART, Math.max(MIN_PART, Math.ceil(left / Math.min(ready.length, count))));
        if (left - size < MIN_PART) size = left;
        const part = resources.slice(at, at + size);
        const from = at;
        at += part.length;
        sentSinceTurn += part.length;
        const t = ready.reduce((a, b) => (loadOf(b) < loadOf(a) ? b : a));
        sent.push(
          onThread(t, owner, part).then(
            (issues) => issues.forEach((x, k) => (out[from + k] = x)),
            // A thread that failed: its part is validated here (a new thread is on its way).
            () => here(part, out, from)
          )
        );
      }
      await Promise.all(sent);
      return out;
    },

    close() {
      closed = true;
      owners.delete(owner);
      broadcast({ kind: 'forget', owner });
    },
  };
}
