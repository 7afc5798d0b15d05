/**
 * Lets timers and I/O run before the caller goes on, so that long work on the event loop (a
 * transaction of thousands of entries) takes turns with other requests instead of holding them.
 * A timer, not setImmediate: an immediate set from an I/O callback (a database reply) runs before
 * the loop polls for I/O again.
 */
export const takeTurns = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));
