// POST /api/v1/access-checks: identity, customer and features; no surface logic, nothing consumed.
import type { RequestHandler } from 'express';
import { AccessCheckBody, bodyValidator } from './bodies.js';
import { isTrusted, refuseAssertedContext, workflowContext, type EngineSource } from './context.js';

const validate = bodyValidator(AccessCheckBody);

export function accessChecks(engine: EngineSource): RequestHandler {
  return async (req, res) => {
    const body = validate(req.body);
    refuseAssertedContext(res, body);
    res.json(await engine().checkAccess({ identity: body.identity, trusted: isTrusted(res), resource: body.resource, context: workflowContext(body) }));
  };
}
