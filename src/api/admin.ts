// The admin endpoints (docs/admin.md): secret keys with the admin scope only. Grants, a visitor's
// meters, forgetting a visitor; each is one call of the engine's admin functions (the CLI calls the
// same ones). What changes something honours Idempotency-Key.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { IdentityInput } from '../engine/engine.js';
import type { Visitor } from '../engine/meters/store.js';
import { bodyValidator, ForgetBody, GrantBody, ImportBody, MeterAdjustBody, MeterResetBody, RevokeBody } from './bodies.js';
import type { EngineSource } from './context.js';
import { ApiError } from './errors.js';
import { answerOnce, type Answer } from './idempotency.js';

export const ADMIN_PATHS: Record<string, 'GET' | 'POST'> = {
  '/api/v1/admin/grants': 'POST',
  '/api/v1/admin/grants/revoke': 'POST',
  '/api/v1/admin/grants/import': 'POST',
  '/api/v1/admin/grants/list': 'GET',
  '/api/v1/admin/grants/export': 'GET',
  '/api/v1/admin/meters': 'GET',
  '/api/v1/admin/meters/reset': 'POST',
  '/api/v1/admin/meters/adjust': 'POST',
  '/api/v1/admin/forget': 'POST',
};

const requireAdmin: RequestHandler = (_req, res, next) => {
  if (res.locals.apiKey?.admin !== true)
    return next(new ApiError('admin-scope-required', 'admin endpoints need a secret (sk_) key with scopes: [admin] in the config'));
  next();
};

/** Who the audit log says acted: the key's name. */
const who = (res: Response): string => res.locals.apiKey!.name;

/** The visitor a GET names in its query: exactly one of userIdentifier, anonymousIdentifier, userJwt. */
function queryIdentity(req: Request): IdentityInput {
  const identity: IdentityInput = {};
  for (const field of ['userIdentifier', 'anonymousIdentifier', 'userJwt'] as const) {
    const value = req.query[field];
    if (typeof value === 'string') identity[field] = value;
    else if (value !== undefined) throw new ApiError('invalid-request', `${field} must be given once`);
  }
  return identity;
}

export function adminRouter(engine: EngineSource): Router {
  const router = Router();
  router.use('/api/v1/admin', requireAdmin);
  const visitor = (identity: IdentityInput): Promise<Visitor> => engine().visitorOf(identity);
  /** A POST that changes something: validated, then acted on once per Idempotency-Key. */
  const change = <B>(validate: (body: unknown) => B, act: (body: B, res: Response) => Promise<Answer>): RequestHandler => {
    return async (req, res) => {
      const body = validate(req.body);
      await answerOnce(engine, req, res, () => act(body, res));
    };
  };
  const ok = (fields: Record<string, unknown>): Answer => ({ status: 200, body: { status: 'success', ...fields } });

  router.post(
    '/api/v1/admin/grants',
    change(bodyValidator(GrantBody), async (body, res) => {
      const grant = await engine().admin.grant(await visitor(body.identity), { plan: body.plan, expiresAt: body.expiresAt, note: body.note }, who(res));
      return ok({ grant });
    }),
  );
  router.post(
    '/api/v1/admin/grants/revoke',
    change(bodyValidator(RevokeBody), async (body, res) => ok(await engine().admin.revoke(await visitor(body.identity), body.plan, who(res)))),
  );
  router.post(
    '/api/v1/admin/grants/import',
    change(bodyValidator(ImportBody), async (body, res) => {
      const lines = body.grants.map((line) => JSON.stringify(line)).join('\n');
      return ok(await engine().admin.importGrants(lines, who(res)));
    }),
  );
  router.get('/api/v1/admin/grants/list', async (req, res) => {
    res.json({ status: 'success', grants: await engine().admin.grants(await visitor(queryIdentity(req))) });
  });
  router.get('/api/v1/admin/grants/export', async (_req, res) => {
    res.type('application/x-ndjson');
    for await (const line of engine().admin.exportGrants()) res.write(`${JSON.stringify(line)}\n`);
    res.end();
  });
  router.get('/api/v1/admin/meters', async (req, res) => {
    res.json({ status: 'success', meters: await engine().admin.meters(await visitor(queryIdentity(req))) });
  });
  router.post(
    '/api/v1/admin/meters/reset',
    change(bodyValidator(MeterResetBody), async (body, res) => ok({ meter: await engine().admin.resetMeter(await visitor(body.identity), body.counterId, who(res)) })),
  );
  router.post(
    '/api/v1/admin/meters/adjust',
    change(bodyValidator(MeterAdjustBody), async (body, res) =>
      ok({ meter: await engine().admin.adjustMeter(await visitor(body.identity), body.counterId, body.units, who(res)) }),
    ),
  );
  router.post(
    '/api/v1/admin/forget',
    change(bodyValidator(ForgetBody), async (body, res) => ok(await engine().admin.forget(await visitor(body.identity), who(res)))),
  );
  for (const [path, method] of Object.entries(ADMIN_PATHS)) {
    router.all(path, (req, res, next) => {
      res.setHeader('Allow', `${method}, OPTIONS`);
      next(new ApiError('method-not-allowed', `method ${req.method} is not allowed on ${req.path}; use ${method}`));
    });
  }
  return router;
}
