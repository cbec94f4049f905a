// Enforcement (docs/concepts.md "The decision pipeline", step 7): a route's denial wins over the workflow's
// surfaceBehavior.http; a behavior with a `body` (even "" or null) is answered by the gateway without
// contacting the upstream; any other behavior is applied to the upstream's response as it passes. A
// soft denial is forwarded, carrying the hard denial for a page that cannot be cut.
import type { DecisionOutcome } from '../engine/engine.js';
import type { HttpBehavior } from '../engine/types.js';
import { paywallResponse, redirectResponse, type DeniedRequest } from './deny.js';
import type { Denial } from './model.js';
import { bodyAnswer, type BehaviorProblem, type ResponseHead } from './response-merge.js';

export type Enforcement =
  /** The gateway answers; the upstream is never contacted. */
  | { kind: 'answer'; outcome: 'denied' | 'answered'; head: ResponseHead; body: string }
  /**
   * Forward; `http` (modify form) is applied to the upstream's head, `forwardedDenial` goes into the
   * headers. A soft denial carries the hard denial, sent instead of any response that cannot be cut.
   */
  | { kind: 'forward'; http?: HttpBehavior; forwardedDenial: boolean; hardDenial?: { head: ResponseHead; body: string } };

export function enforce(denial: Denial, outcome: DecisionOutcome, request: Pick<DeniedRequest, 'target' | 'accept'>, problem: BehaviorProblem): Enforcement {
  if (outcome.denied) {
    // The engine builds the template values for every denied decision.
    const denied: DeniedRequest = { ...request, reason: outcome.denialReason ?? 'requirement', values: outcome.templateValues! };
    if (denial.action === 'forward') return { kind: 'forward', forwardedDenial: true };
    const answer = denial.action === 'redirect' ? redirectResponse(denial, denied) : paywallResponse(denial, denied);
    if (denial.soft) return { kind: 'forward', forwardedDenial: true, hardDenial: answer };
    return { kind: 'answer', outcome: 'denied', ...answer };
  }
  const http = outcome.decision.surfaceBehavior.http;
  if (http === undefined || http === null) return { kind: 'forward', forwardedDenial: false };
  if (Object.hasOwn(http, 'body')) return { kind: 'answer', outcome: 'answered', ...bodyAnswer(http, problem) };
  return { kind: 'forward', http, forwardedDenial: false };
}
