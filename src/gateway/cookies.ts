// Cookies the gateway reads (the JWT cookie, its anonymous id) and the one it sets (PRODUCT.md §3).
import { parseCookie, stringifySetCookie } from 'cookie';

/** Any RFC 9562 UUID shape (versions 1-8, the RFC 4122 variant), lowercase or uppercase. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** 400 days: the longest lifetime current browsers honour for a cookie. */
export const ANONYMOUS_COOKIE_MAX_AGE = 400 * 24 * 60 * 60;

export function readCookies(header: string | undefined): Record<string, string | undefined> {
  return header ? parseCookie(header) : {};
}

export function isAnonymousId(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}

export function anonymousSetCookie(name: string, id: string, secure: boolean): string {
  return stringifySetCookie(name, id, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: ANONYMOUS_COOKIE_MAX_AGE, secure });
}

/** The `Cookie` header without the named cookie (for `forwardCredentials: false`); undefined when nothing is left. */
export function withoutCookie(header: string, name: string): string | undefined {
  if (!header.includes(name)) return header; // the common case: nothing to take out
  const kept = header
    .split(';')
    .filter((pair) => {
      const eq = pair.indexOf('=');
      return (eq === -1 ? pair : pair.slice(0, eq)).trim() !== name;
    })
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '');
  return kept.length > 0 ? kept.join('; ') : undefined;
}

/**
 * A UUID (version 8, RFC 9562 "custom") derived from a 64-hex-digit hash: under `cookie+ip` a visitor
 * without a cookie gets the id of their network, so the cookie minted on that visit and later
 * cookie-less visits from the same network share one meter.
 */
export function uuidFromHash(hex: string): string {
  const h = hex.slice(0, 32).split('');
  h[12] = '8';
  h[16] = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
