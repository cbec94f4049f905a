// `Idempotency-Key` on the admin endpoints that change something (docs/admin.md): the first request
// with a key claims it in the meter store (shared by every process) and acts; the same key again,
// from the same API key on the same endpoint with the same body, gets the stored answer without
// acting. A request that arrives while the first is still acting waits for its answer.
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { StoreUnavailableError } from '../engine/meters/store.js';
import type { EngineSource } from './context.js';
import { ApiError } from './errors.js';

/** How long an answer is kept for replays. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** How long a request waits for another one acting on the same key, and how often it looks. */
const WAIT_MS = 10_000;
const POLL_MS = 25;
const KEY = /^[\x21-\x7e]{1,255}$/;

/** What an admin handler answers: sent as JSON, and stored under the request's Idempotency-Key. */
export interface Answer {
  status: number;
  body: unknown;
}

interface Stored {
  /** SHA-256 of the body, so a key reused with another body is refused instead of replayed. */
  f: string;
  s: number;
  b: unknown;
}

export async function answerOnce(engine: EngineSource, req: Request, res: Response, act: () => Promise<Answer>): Promise<void> {
  const header = req.get('idempotency-key');
  if (header === undefined) return send(res, await act());
  if (!KEY.test(header)) throw new ApiError('invalid-request', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  const admin = engine().store.admin;
  // Scoped to the API key and the endpoint: two keys (or two endpoints) never share an answer.
  const scope = `${res.locals.apiKey?.name ?? ''}\n${req.method} ${req.path}\n${header}`;
  const fingerprint = createHash('sha256').update(JSON.stringify(req.body ?? null)).digest('base64url');
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const claim = await unavailableAs503(() => admin.claimIdempotency(scope, IDEMPOTENCY_TTL_MS));
    if (claim.state === 'claimed') {
      let answer: Answer;
      try {
        answer = await act();
      } catch (err) {
        // Nothing was done (or it failed): the key is free for a retry.
        await admin.settleIdempotency(scope, null, IDEMPOTENCY_TTL_MS).catch(() => {});
        throw err;
      }
      const stored: Stored = { f: fingerprint, s: answer.status, b: answer.body };
      await unavailableAs503(() => admin.settleIdempotency(scope, JSON.stringify(stored), IDEMPOTENCY_TTL_MS));
      return send(res, answer);
    }
    if (claim.state === 'done') {
      const stored = JSON.parse(claim.answer) as Stored;
      if (stored.f !== fingerprint)
        throw new ApiError('idempotency-key-reused', `Idempotency-Key '${header}' was used with another body on ${req.path}: use a new key for a new request`);
      res.setHeader('Idempotent-Replayed', 'true');
      return send(res, { status: stored.s, body: stored.b });
    }
    if (Date.now() > deadline)
      throw new ApiError('idempotency-in-progress', `another request with Idempotency-Key '${header}' is still being acted on; retry later for its answer`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function send(res: Response, answer: Answer): void {
  res.status(answer.status).json(answer.body);
}

async function unavailableAs503<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw new ApiError('store-unavailable', 'the meter store is unavailable; nothing was changed, retry later');
    throw err;
  }
}
