import type { AccessContext } from '../../access/policy.ts';

/**
 * Some of the service's data may only be written by its own operations, which check what a single
 * resource cannot show (how many dispenses are left, which PLL version a reconciliation was based
 * on). The operation marks the request's access context while it writes; the write rules
 * (rules.ts) let such writes through only inside the mark. The context lives for one request and
 * the mark cannot be set from outside the process.
 */
export type MedicationOperation = 'dispense' | 'revoke' | 'renew' | 'pll';

const active = new WeakMap<AccessContext, Set<MedicationOperation>>();

export async function within<T>(ctx: AccessContext, op: MedicationOperation, fn: () => Promise<T>): Promise<T> {
  const ops = active.get(ctx) ?? new Set();
  active.set(ctx, ops);
  ops.add(op);
  try {
    return await fn();
  } finally {
    ops.delete(op);
  }
}

export function isWithin(ctx: AccessContext, op: MedicationOperation): boolean {
  return active.get(ctx)?.has(op) ?? false;
}
