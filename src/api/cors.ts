// CORS for browser clients: a configured list of allowed origins, no credentials, `Vary: Origin`.
import type { RequestHandler } from 'express';
import { sendError } from './errors.js';

const ALLOWED_HEADERS = 'Authorization, Content-Type, X-MOS-Proxy-Version, X-MOS-Proxy-Client, X-MOS-Browser-Version';

export function cors(origins: () => readonly string[]): RequestHandler {
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.headers.origin;
    const allowed = origin !== undefined && (origins().includes(origin) || origins().includes('*'));
    if (allowed) res.setHeader('Access-Control-Allow-Origin', origin);
    if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return next();
    if (!allowed) return sendError(res, 'origin-not-allowed', `origin ${origin ?? '(none)'} is not allowed: add it to cors.origins in the config`);
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  };
}
