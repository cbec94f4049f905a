// What the gateway does to a response head (PRODUCT.md §3 and §7): applied to the upstream's head as
// it passes (the body then streams through untouched) or to a fresh head when the surface behavior
// answers with a body itself. Pure functions over plain header records; nothing here writes.
import { validateHeaderName, validateHeaderValue, type IncomingHttpHeaders } from 'node:http';
import type { HttpBehavior } from '../engine/types.js';

export type HeaderRecord = Record<string, string | string[]>;

export interface ResponseHead {
  status: number;
  statusText?: string;
  /** Lowercased names. */
  headers: HeaderRecord;
}

/** What the gateway adds to every response of a decided (non-bypass) request. */
export interface GatewayAdditions {
  /** Appended to the response's `Set-Cookie` (the anonymous cookie). */
  setCookies: readonly string[];
  /** Make the response private to the visitor: it was shaped by who they are. */
  privateCache: boolean;
}

/** Reports a part of a surface behavior that cannot be sent (bad header name or value, bad status). */
export type BehaviorProblem = (what: string) => void;

/** Connection-scoped response headers: never passed from upstream to the client. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'trailer']);
const PRINTABLE = /^[\t\x20-\x7e]*$/;

export function statusAllowsBody(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 205 && status !== 304;
}

/** The upstream's head minus hop-by-hop headers (and any it named in its own `Connection`). */
export function upstreamHead(upstream: { statusCode?: number; statusMessage?: string; headers: IncomingHttpHeaders }): ResponseHead {
  const source = upstream.headers;
  const connection = source.connection;
  // Names the upstream listed in its own `Connection` are connection-scoped too (rare: usually just keep-alive/close).
  let named: string[] | undefined;
  if (typeof connection === 'string' && connection !== 'keep-alive' && connection !== 'close')
    named = connection.split(',').map((token) => token.trim().toLowerCase());
  // Copied name by name, leaving out what must not pass (never deleted from a copy: a V8 object with
  // deleted properties becomes a slow dictionary).
  const headers: HeaderRecord = {};
  for (const name in source) {
    const value = source[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.includes(name)) continue;
    headers[name] = value;
  }
  return { status: upstream.statusCode ?? 502, statusText: upstream.statusMessage, headers };
}

/**
 * Applies `surfaceBehavior.http` to a head, in the MonetizationOS order: headers (replace), cookies
 * (replace), addHeaders (set), removeHeaders, addCookies (append), status, statusText. Unsendable
 * parts are skipped and reported, never thrown.
 */
export function applyHttpBehavior(head: ResponseHead, http: HttpBehavior, problem: BehaviorProblem): ResponseHead {
  let headers: HeaderRecord = { ...head.headers };
  const setHeader = (name: string, value: string) => {
    const lower = name.toLowerCase();
    if (!sendable(name, value, problem)) return;
    headers[lower] = value;
  };
  if (http.headers !== undefined) {
    const cookies = headers['set-cookie'];
    headers = {};
    if (cookies !== undefined) headers['set-cookie'] = cookies;
    for (const [name, value] of Object.entries(http.headers)) {
      if (name.toLowerCase() === 'set-cookie') problem('headers.set-cookie: use `cookies` to set cookies');
      else setHeader(name, String(value));
    }
  }
  if (http.cookies !== undefined) headers['set-cookie'] = validCookies(http.cookies, 'cookies', problem);
  for (const { name, value } of http.addHeaders ?? []) {
    if (String(name).toLowerCase() === 'set-cookie') problem('addHeaders.set-cookie: use `addCookies` to add cookies');
    else setHeader(String(name), String(value));
  }
  for (const name of http.removeHeaders ?? []) delete headers[String(name).toLowerCase()];
  if (http.addCookies !== undefined) headers['set-cookie'] = [...asList(headers['set-cookie']), ...validCookies(http.addCookies, 'addCookies', problem)];
  let { status, statusText } = head;
  if (http.status !== undefined) {
    if (Number.isInteger(http.status) && http.status >= 200 && http.status <= 599) {
      status = http.status;
      statusText = undefined; // the upstream's reason phrase belongs to its own status
    } else problem(`status ${String(http.status)}: a final status is an integer from 200 to 599`);
  }
  if (http.statusText !== undefined) {
    if (typeof http.statusText === 'string' && PRINTABLE.test(http.statusText)) statusText = http.statusText;
    else problem('statusText: printable ASCII only');
  }
  return { status, statusText, headers };
}

/** The head of a response the gateway writes itself from a surface behavior with a `body`. */
export function bodyAnswer(http: HttpBehavior, problem: BehaviorProblem): { head: ResponseHead; body: string } {
  const head = applyHttpBehavior({ status: 200, headers: {} }, http, problem);
  const body = statusAllowsBody(head.status) ? (http.body ?? '') : '';
  // The default of the Fetch API that MonetizationOS workers answer with.
  if (head.headers['content-type'] === undefined && statusAllowsBody(head.status)) head.headers['content-type'] = 'text/plain;charset=UTF-8';
  if (statusAllowsBody(head.status)) head.headers['content-length'] = String(Buffer.byteLength(body));
  else delete head.headers['content-length'];
  return { head, body };
}

/** The gateway's own additions, applied last so a workflow cannot make a per-visitor answer public. */
export function addGatewayHeaders(head: ResponseHead, additions: GatewayAdditions): ResponseHead {
  const headers: HeaderRecord = {};
  for (const name in head.headers) {
    const value = head.headers[name];
    headers[name] = additions.privateCache && sharedCacheHeader(name) ? notStoredByCdns(name, value) : value;
  }
  if (additions.setCookies.length > 0) headers['set-cookie'] = [...asList(headers['set-cookie']), ...additions.setCookies];
  if (additions.privateCache) headers['cache-control'] = privateCacheControl(headers['cache-control']);
  return head.statusText === undefined ? { status: head.status, headers } : { status: head.status, statusText: head.statusText, headers };
}

/**
 * Caching headers that CDNs and proxies obey instead of `Cache-Control` (RFC 9213's
 * `CDN-Cache-Control` and every `<vendor>-CDN-Cache-Control`, `Surrogate-Control`, Akamai's
 * `Edge-Control`, nginx's `X-Accel-Expires`): left as they were, `max-age=3600` there would let a
 * CDN serve one visitor's decided page to everyone, whatever `Cache-Control: private` says.
 */
function sharedCacheHeader(name: string): boolean {
  return name.endsWith('cdn-cache-control') || name === 'surrogate-control' || name === 'edge-control' || name === 'x-accel-expires';
}

/** The same header, saying "do not store" in its own syntax (kept, not removed: a CDN without it may fall back to its own default TTL). */
function notStoredByCdns(name: string, value: string | string[]): string {
  if (name === 'x-accel-expires') return '0'; // nginx: zero disables caching
  if (name !== 'surrogate-control') return 'no-store';
  // Edge Side Includes are switched on in Surrogate-Control (`content="ESI/1.0"`): keep that part.
  const esi = splitDirectives(asList(value).join(',')).filter((d) => d.split('=')[0].trim().toLowerCase() === 'content');
  return [...esi, 'no-store'].join(', ');
}

/** `Cache-Control` with `private` and without `public` and `s-maxage` (other directives kept, in order). */
export function privateCacheControl(value: string | string[] | undefined): string {
  // An upstream sends the same few values again and again: each is rewritten once.
  if (value === undefined) return 'private';
  if (typeof value !== 'string') return rewriteCacheControl(value);
  let rewritten = privateCacheControls.get(value);
  if (rewritten === undefined) {
    rewritten = rewriteCacheControl(value);
    if (privateCacheControls.size >= 256) privateCacheControls.clear();
    privateCacheControls.set(value, rewritten);
  }
  return rewritten;
}

const privateCacheControls = new Map<string, string>();

function rewriteCacheControl(value: string | string[] | undefined): string {
  const directives = splitDirectives(asList(value).join(',')).filter((d) => {
    const name = d.split('=')[0].trim().toLowerCase();
    return name !== 'public' && name !== 's-maxage' && name !== 'private';
  });
  return ['private', ...directives].join(', ');
}

/** Splits on commas outside quoted strings (`no-cache="set-cookie, x"` is one directive). */
function splitDirectives(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      if (current.trim() !== '') out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function validCookies(cookies: unknown, where: string, problem: BehaviorProblem): string[] {
  if (!Array.isArray(cookies)) {
    problem(`${where}: a list of Set-Cookie strings`);
    return [];
  }
  return cookies.map(String).filter((c) => sendable('set-cookie', c, problem));
}

function sendable(name: string, value: string, problem: BehaviorProblem): boolean {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    if (!PRINTABLE.test(value)) throw new Error('non-ASCII');
    return true;
  } catch {
    problem(`header ${JSON.stringify(name.slice(0, 64))}: not a valid header name or printable ASCII value`);
    return false;
  }
}
