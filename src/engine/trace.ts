// What one decision did, step by step, for `plangate explain` (docs/admin.md "Explain"): filled in by
// the engine's own steps when a request carries a trace, never a second implementation of them.
import type { MeterCall, MeterCallResult } from './meters/store.js';
import type { PlanValue } from './model.js';
import type { PlanSource, ResolvedIdentity } from './types.js';

export interface DecisionTrace {
  /** The identity the decision was made for. */
  identity?: ResolvedIdentity;
  /** Every plan in effect and where it came from. */
  plans?: PlanSource[];
  /** Each property in effect: the plan whose value won (under the property's conflict rule) and the value. */
  values?: { property: string; plan: string; value: PlanValue; counterId?: string }[];
  /** Every store call, in order: what was asked, what the store answered (or why it could not), how long it took. */
  storeCalls: { call: Omit<MeterCall, 'visitor'>; result?: MeterCallResult; error?: string; ms: number }[];
  /** Every workflow run: provisioning (all together), surface, components. */
  workflows: { kind: 'provisioning' | 'surface' | 'component'; file: string; ms: number; ok: boolean }[];
  /** The declared consumption's verdict (the route's requirement, the consumption). */
  gate?: { allowed: boolean; reason?: 'requirement' | 'consumption' };
}

export function newDecisionTrace(): DecisionTrace {
  return { storeCalls: [], workflows: [] };
}
