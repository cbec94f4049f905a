// POST /api/v1/counter-updates: secret keys only; adds `update` (a non-zero integer, default 1) to a
// counter, which never goes below 0.
import type { RequestHandler } from 'express';
import { CounterUpdateBody, bodyValidator } from './bodies.js';
import { isTrusted, type EngineSource } from './context.js';
import { ApiError } from './errors.js';

const validate = bodyValidator(CounterUpdateBody);

export function counterUpdates(engine: EngineSource): RequestHandler {
  return async (req, res) => {
    if (!isTrusted(res)) throw new ApiError('forbidden', 'counter updates need a secret (sk_) API key');
    const body = validate(req.body);
    await engine().updateCounter({ identity: body.identity, counterId: body.counterId, update: body.update ?? 1, resourceId: body.resourceId });
    res.json({ status: 'success' });
  };
}
