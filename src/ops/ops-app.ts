// The ops port's express app: /healthz (the process is up), /readyz (ready to take traffic, see
// health.ts) and /metrics (Prometheus text). Bound to 127.0.0.1 by default (server.ops).
import express, { type Express } from 'express';
import type { Engine } from '../engine/engine.js';
import type { ErrorCode } from '../errors.js';
import type { StoreHealth } from '../engine/meters/redis.js';
import { checkReadiness } from './health.js';
import type { Metrics } from './metrics.js';

export interface OpsAppOptions {
  /** The engine serving now (it changes on reload). */
  engine: () => Engine;
  store: StoreHealth;
  metrics: Metrics;
  /** True once a shutdown began: /readyz answers 503 so load balancers stop sending traffic. */
  shuttingDown?: () => boolean;
}

export function createOpsApp(options: OpsAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res, next) => {
    try {
      const readiness = await checkReadiness(options.engine(), options.store, options.shuttingDown?.() ?? false);
      res.status(readiness.ready ? 200 : 503).json({ status: readiness.ready ? 'ready' : 'not-ready', ...readiness });
    } catch (error) {
      next(error);
    }
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      const text = await options.metrics.text();
      res.setHeader('Content-Type', options.metrics.contentType());
      res.send(text);
    } catch (error) {
      next(error);
    }
  });
  app.use((req, res) => {
    res
      .status(404)
      .json({
        status: 'error',
        statusCode: 404,
        code: 'not-found' satisfies ErrorCode,
        message: `no such endpoint: ${req.method} ${req.path}; the ops port serves /healthz, /readyz and /metrics`,
      });
  });
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ status: 'error', statusCode: 500, code: 'internal-error' satisfies ErrorCode, message: `ops endpoint failed: ${error.message}` });
  });
  return app;
}
