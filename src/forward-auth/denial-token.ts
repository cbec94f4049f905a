// nginx's `auth_request` passes only 2xx, 401 and 403 on from the decision, so every answer plangate
// gives itself (a paywall, a redirect, an error page) travels as a denial token: the answer's head and
// body, deflated and MACed, in a response header of the 403. nginx's `error_page` hands it to a named
// location, which asks plangate to render it; rendering only opens the token, it never decides again.
// The token is short-lived and bound to the keys of the config (docs/forward-auth.md "nginx").
import { createHmac, timingSafeEqual } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { SigningKey } from '../gateway/model.js';
import type { HeaderRecord, ResponseHead } from '../gateway/response-merge.js';

export interface SealedAnswer {
  head: ResponseHead;
  body: string;
}

/** A token older than this is refused: nginx renders it within the same request. */
export const DENIAL_TOKEN_TTL_SECONDS = 60;
/** Longer tokens are not made: they ride in a response header (nginx's `proxy_buffer_size` is set to 16k) and back in a request header. */
export const MAX_DENIAL_TOKEN_LENGTH = 8_000;

const CONTEXT = 'plangate-denial:v1:';

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(CONTEXT).update(payload).digest();
}

/** The token, or undefined when the answer is too large to carry. `keys[0]` seals. */
export function sealDenial(answer: SealedAnswer, keys: readonly SigningKey[], now = Date.now()): string | undefined {
  const expires = Math.floor(now / 1000) + DENIAL_TOKEN_TTL_SECONDS;
  const { status, statusText, headers } = answer.head;
  const payload = deflateRawSync(Buffer.from(JSON.stringify([expires, status, statusText ?? null, headers, answer.body]), 'utf8')).toString('base64url');
  const token = `${payload}.${mac(keys[0].secret, payload).toString('base64url')}`;
  return token.length > MAX_DENIAL_TOKEN_LENGTH ? undefined : token;
}

/** The answer inside a token sealed by one of `keys` and not expired, else undefined. */
export function openDenial(token: string | undefined, keys: readonly SigningKey[], now = Date.now()): SealedAnswer | undefined {
  if (token === undefined || token.length > MAX_DENIAL_TOKEN_LENGTH) return undefined;
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const valid = keys.some((key) => {
    const expected = mac(key.secret, payload);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!valid) return undefined;
  try {
    const [expires, status, statusText, headers, body] = JSON.parse(inflateRawSync(Buffer.from(payload, 'base64url')).toString('utf8')) as [
      number,
      number,
      string | null,
      HeaderRecord,
      string,
    ];
    if (expires < Math.floor(now / 1000)) return undefined;
    return { head: statusText === null ? { status, headers } : { status, statusText, headers }, body };
  } catch {
    return undefined;
  }
}
