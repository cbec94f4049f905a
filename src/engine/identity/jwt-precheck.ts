// Cheap structural checks run before any signature work: size bounds, the compact shape, headers that
// name keys, and claim nesting. The payload is decoded here unverified, only to pick the integration.
import type { JwtRejectReason } from './jwt-verifier.js';

/** Whole-token bound: far above any real token, low enough that hashing and parsing stay cheap. */
export const MAX_TOKEN_CHARS = 16 * 1024;
/** docs/jwt.md "What is checked, in order": a payload over 8 KB makes the token invalid. */
export const MAX_PAYLOAD_BYTES = 8 * 1024;
/** docs/jwt.md "What is checked, in order": nesting deeper than 32 makes the token invalid. */
export const MAX_CLAIM_DEPTH = 32;
/** Longer `kid`s cannot name a configured key (the schema caps them at 256), so no fetch is spent on them. */
export const MAX_KID_CHARS = 256;

/** Header parameters that carry or point at keys; a gateway must never trust them, so we refuse them. */
const KEY_BEARING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface TokenHeader {
  alg: string;
  kid?: string;
}

export type Precheck =
  { ok: true; header: TokenHeader; issuer: string | undefined; payloadJson: string; signatureEmpty: boolean } | { ok: false; reason: JwtRejectReason };

const fail = (reason: JwtRejectReason): Precheck => ({ ok: false, reason });

export function precheckToken(token: string): Precheck {
  if (typeof token !== 'string' || token.length === 0) return fail('malformed');
  if (token.length > MAX_TOKEN_CHARS) return fail('too-large');
  const segments = token.split('.');
  if (segments.length !== 3) return fail('malformed');
  const [headerText, payloadText, signatureText] = segments as [string, string, string];
  if (!isBase64url(headerText) || !isBase64url(payloadText) || !BASE64URL.test(signatureText)) return fail('malformed');
  // Decoded size from the encoded length, before decoding anything.
  if (Math.floor((payloadText.length * 3) / 4) > MAX_PAYLOAD_BYTES) return fail('too-large');

  const header = parseJson(decodeSegment(headerText));
  if (!isPlainObject(header)) return fail('malformed');
  for (const name of KEY_BEARING_HEADERS) if (Object.hasOwn(header, name)) return fail('malformed');
  const { alg, kid } = header;
  if (typeof alg !== 'string' || alg.length === 0) return fail('malformed');
  if (kid !== undefined && typeof kid !== 'string') return fail('malformed');

  const payloadJson = decodeSegment(payloadText);
  const payload = parseJson(payloadJson);
  if (!isPlainObject(payload) || depthExceeds(payload, MAX_CLAIM_DEPTH)) return fail('malformed');
  const issuer = typeof payload.iss === 'string' && Object.hasOwn(payload, 'iss') ? payload.iss : undefined;
  return { ok: true, header: kid === undefined ? { alg } : { alg, kid }, issuer, payloadJson: payloadJson ?? '', signatureEmpty: signatureText.length === 0 };
}

/** Non-empty and a length base64url can produce (a remainder of 1 is never valid). */
function isBase64url(segment: string): boolean {
  return segment.length > 0 && segment.length % 4 !== 1 && BASE64URL.test(segment);
}

function decodeSegment(segment: string): string | undefined {
  try {
    return utf8.decode(Buffer.from(segment, 'base64url'));
  } catch {
    return undefined;
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when objects/arrays nest more than `limit` levels (the top-level object is level 1). */
export function depthExceeds(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit <= 0) return true;
  const children = Array.isArray(value) ? value : Object.values(value);
  for (const child of children) if (depthExceeds(child, limit - 1)) return true;
  return false;
}
