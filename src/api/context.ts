// What every endpoint shares: the current engine (swappable on reload) and the caller's key kind.
import type { Response } from 'express';
import type { Engine } from '../engine/engine.js';
import { ApiError } from './errors.js';

export type EngineSource = () => Engine;

export function isTrusted(res: Response): boolean {
  return res.locals.keyKind === 'secret';
}

/** Publishable keys ship in page source: they may not assert request context a proxy would send. */
export function refuseAssertedContext(res: Response, body: { http?: unknown; cloudflare?: unknown; fastly?: unknown }): void {
  if (isTrusted(res)) return;
  for (const field of ['http', 'cloudflare', 'fastly'] as const) {
    if (body[field] !== undefined)
      throw new ApiError('forbidden', `a publishable (pk_) key may not send '${field}' context; use a secret (sk_) key from a server`);
  }
}

export function workflowContext(body: {
  http?: Record<string, unknown>;
  cloudflare?: Record<string, unknown>;
  fastly?: Record<string, unknown>;
}): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  if (body.http !== undefined) context.http = body.http;
  if (body.cloudflare !== undefined) context.cloudflare = body.cloudflare;
  if (body.fastly !== undefined) context.fastly = body.fastly;
  return context;
}
