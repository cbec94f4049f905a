// POST /api/v1/surface-decisions: the full decision, in the MonetizationOS wire format.
import type { RequestHandler } from 'express';
import { SurfaceDecisionBody, bodyValidator } from './bodies.js';
import { isTrusted, refuseAssertedContext, workflowContext, type EngineSource } from './context.js';

const validate = bodyValidator(SurfaceDecisionBody);

export function surfaceDecisions(engine: EngineSource): RequestHandler {
  return async (req, res) => {
    const body = validate(req.body);
    refuseAssertedContext(res, body);
    const outcome = await engine().decide({
      surfaceSlug: body.surfaceSlug,
      identity: body.identity,
      trusted: isTrusted(res),
      resource: body.resource,
      context: workflowContext(body),
      dryRun: body.dryRun === true,
    });
    res.json(outcome.decision);
  };
}
