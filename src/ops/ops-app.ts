// The ops port's express app: /healthz (the process is up), /readyz (ready to take traffic, see
// health.ts) and /metrics (Prometheus text). Bound to 127.0.0.1 by default (server.ops).
import express, { type Express } from 'express';
import type { ErrorCode } from '../errors.js';
import type { Readiness } from './health.js';

export interface OpsAppOptions {
  /**
   * Readiness now (health.ts `checkReadiness` for one process; the primary's combination of its
   * workers' answers with `--workers`). Not ready once a shutdown began, so load balancers stop
   * sending traffic.
   */
  readiness: () => Promise<Readiness>;
  /** The Prometheus exposition: one process's registry, or the workers' aggregated. */
  metrics: { text(): Promise<string>; contentType(): string };
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
      const readiness = await options.readiness();
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
