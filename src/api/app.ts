// The decision API as an express app: CORS, API keys, JSON bodies, three endpoints, one error shape;
// with `admin`, the admin endpoints too (docs/admin.md).
import express, { type Express } from 'express';
import { accessChecks } from './access-checks.js';
import { adminRouter } from './admin.js';
import { explainEndpoint, type ExplainFunction } from './explain.js';
import { createKeyRing, requireApiKey, type KeyRing } from './auth.js';
import type { EngineSource } from './context.js';
import { counterUpdates } from './counter-updates.js';
import { cors } from './cors.js';
import { ApiError, errorHandler } from './errors.js';
import { surfaceDecisions } from './surface-decisions.js';
import type { EventLogger } from '../events.js';

export const API_PATHS = ['/api/v1/surface-decisions', '/api/v1/access-checks', '/api/v1/counter-updates'] as const;

export interface ApiAppOptions {
  engine: EngineSource;
  events: EventLogger;
  /**
   * Whether the admin endpoints exist (default true). The gateway's mount has them only with
   * `api.adminOnGatewayMount`: without it they answer 404, whatever the key.
   */
  admin?: boolean;
  /** `POST /api/v1/explain` (secret keys), when the process runs a gateway to explain. */
  explain?: ExplainFunction;
}

export function createApiApp(options: ApiAppOptions): Express {
  const { engine, events } = options;
  // One key ring per engine (the keys change only with a config reload).
  let ring: { for: unknown; keys: KeyRing } | undefined;
  const keys = () => {
    const model = engine().model;
    if (ring?.for !== model) ring = { for: model, keys: createKeyRing(model.apiKeys) };
    return ring.keys;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(cors(() => engine().model.corsOrigins));
  app.use(express.json({ limit: engine().model.server.maxBodyBytes, type: () => true, strict: false }));

  app.post('/api/v1/surface-decisions', requireApiKey(keys), surfaceDecisions(engine));
  app.post('/api/v1/access-checks', requireApiKey(keys), accessChecks(engine));
  app.post('/api/v1/counter-updates', requireApiKey(keys), counterUpdates(engine));
  if (options.explain !== undefined) app.post('/api/v1/explain', requireApiKey(keys), explainEndpoint(options.explain));
  if (options.admin !== false) {
    app.use('/api/v1/admin', requireApiKey(keys));
    app.use(adminRouter(engine));
  }
  app.all(API_PATHS as unknown as string[], (req, res, next) => {
    res.setHeader('Allow', 'POST, OPTIONS');
    next(new ApiError('method-not-allowed', `method ${req.method} is not allowed on ${req.path}; use POST`));
  });
  app.use((req, _res, next) => next(new ApiError('not-found', `no such endpoint: ${req.method} ${req.path}`)));
  app.use(errorHandler(events));
  return app;
}
