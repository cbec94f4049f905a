// Components at the gateway, the request side (docs/components.md "At the gateway"): which of a
// decision's component behaviours the response gets, whether the page must be cut (a soft denial),
// and what the forwarded request must not carry so that the response can be transformed.
import type { IncomingHttpHeaders } from 'node:http';
import type { ComponentBehavior, ComponentContent, SurfaceDecision } from '../engine/types.js';
import { decodableAcceptEncoding } from './components/index.js';
import type { ResponseHead } from './response-merge.js';

export interface ComponentPlan {
  /** The behaviours with content, in the components' order (each checked by the engine). */
  behaviors: Record<string, ComponentBehavior>;
  /** A soft denial: the page goes out cut, or this (the route's paywall or redirect) goes instead. */
  hardDenial?: { head: ResponseHead; body: string };
}

export type PlanResult =
  | { kind: 'none' }
  | { kind: 'apply'; plan: ComponentPlan }
  /** A soft denial with nothing that cuts: the page would go out whole, so the hard denial is the answer. */
  | { kind: 'refuse' };

const cuts = (behavior: ComponentBehavior) => {
  const content = behavior.content as ComponentContent | undefined;
  return content?.remove === true || content?.replaceRange !== undefined;
};

/** What to apply to this decision's response; `hardDenial` makes it a soft denial. */
export function componentPlan(decision: SurfaceDecision, hardDenial?: { head: ResponseHead; body: string }): PlanResult {
  let behaviors: Record<string, ComponentBehavior> | undefined;
  let cutting = false;
  for (const slug in decision.componentBehaviors) {
    const behavior = decision.componentBehaviors[slug];
    if (behavior.content === undefined) continue;
    (behaviors ??= {})[slug] = behavior;
    if (cuts(behavior)) cutting = true;
  }
  if (hardDenial !== undefined) return cutting ? { kind: 'apply', plan: { behaviors: behaviors!, hardDenial } } : { kind: 'refuse' };
  return behaviors === undefined ? { kind: 'none' } : { kind: 'apply', plan: { behaviors } };
}

/** Request headers that would make the upstream answer something other than the whole page. */
const PARTIAL_OR_CONDITIONAL = ['range', 'if-range', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since'] as const;

/**
 * The forwarded request of a response that will be transformed asks for the whole page (no `Range`,
 * `If-Range` or conditional headers: a part or a 304 of the untransformed page cannot be transformed,
 * and a 304 would let a browser show a copy it kept from before) in an encoding plangate decodes.
 */
export function askForWholePage(headers: IncomingHttpHeaders): void {
  // Set to undefined, never deleted (see pipeline.ts): undefined headers are not sent.
  for (const name of PARTIAL_OR_CONDITIONAL) if (headers[name] !== undefined) headers[name] = undefined;
  if (headers['accept-encoding'] !== undefined) headers['accept-encoding'] = decodableAcceptEncoding(headers['accept-encoding']);
}
