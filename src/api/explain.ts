// POST /api/v1/explain (docs/admin.md "Explain"): secret keys only. Why a gateway request would be
// allowed or denied, from the gateway's own pipeline run dry; the caller (cli/run-gateway.ts) hands
// in the function, since the API knows nothing of the gateway.
import type { RequestHandler } from 'express';
import type { IdentityInput } from '../engine/engine.js';
import { bodyValidator, ExplainBody } from './bodies.js';
import { isTrusted } from './context.js';
import { ApiError } from './errors.js';

export type ExplainFunction = (request: { path: string; method?: string; identity?: Pick<IdentityInput, 'userIdentifier' | 'anonymousIdentifier' | 'userJwt'> }) => Promise<unknown>;

const validate = bodyValidator(ExplainBody);

export function explainEndpoint(explain: ExplainFunction): RequestHandler {
  return async (req, res) => {
    if (!isTrusted(res)) throw new ApiError('forbidden', 'explain needs a secret (sk_) API key');
    const body = validate(req.body);
    res.json({ status: 'success', explanation: await explain(body) });
  };
}
