// Cookies the gateway reads (the JWT cookie, its anonymous id) and the one it sets (PRODUCT.md §3).
import { parseCookie, stringifySetCookie } from 'cookie';

/** 400 days: the longest lifetime current browsers honour for a cookie. */
export const ANONYMOUS_COOKIE_MAX_AGE = 400 * 24 * 60 * 60;

export function readCookies(header: string | undefined): Record<string, string | undefined> {
  return header ? parseCookie(header) : {};
}

/** `value` is the signed id (engine/identity/anonymous-ids.ts). */
export function anonymousSetCookie(name: string, value: string, secure: boolean): string {
  return stringifySetCookie(name, value, { httpOnly: true, sameSite: 'lax', path: '/', maxAge: ANONYMOUS_COOKIE_MAX_AGE, secure });
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
