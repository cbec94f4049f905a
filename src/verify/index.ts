// Verifying the headers plangate injects (docs/upstream.md): a plain function for any server and a
// connect/express middleware. The upstream shares the signing keys with the gateway; a request whose
// `<prefix>*` headers were forged, altered, removed, added to, replayed on another method, host or
// target, or signed too long ago (or with a key no longer listed) is refused.
import { createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseSignature, signatureMac } from './canonical.js';

export interface VerifyKey {
  id: string;
  /** The same secret as in the gateway's `gateway.signing.keys`. */
  secret: string | Buffer;
}

export interface VerifyOptions {
  /** Every key accepted (current and previous); a signature by a key not listed is refused. */
  keys: readonly VerifyKey[];
  /** How old (or how far in the future, for clock skew) a signature may be. Default 30. */
  maxAgeSeconds?: number;
  /** The gateway's `headerPrefix`. Default `x-plangate-`. */
  prefix?: string;
  /** The gateway's `signing.header`. Default `<prefix>signature`. */
  header?: string;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

export interface VerifyInput {
  method: string;
  /** The request target (path and query) as this server received it (`req.originalUrl` in express). */
  target: string;
  /** The `Host` header as this server received it. */
  host: string | undefined;
  /** Lowercase names, as in node's `req.headers`. */
  headers: Record<string, string | string[] | undefined>;
}

export type VerifyFailure =
  | 'missing-signature'
  | 'malformed-signature'
  | 'unknown-key'
  | 'expired'
  | 'from-the-future'
  | 'missing-request-id'
  | 'duplicate-header'
  | 'header-set-mismatch'
  | 'bad-signature';

export interface VerifiedHeaders {
  ok: true;
  requestId: string;
  keyId: string;
  /** Unix seconds when the gateway signed. */
  timestamp: number;
  /** Every signed `<prefix>*` header, raw values, by lowercase name (prefix included). */
  headers: Record<string, string>;
  /** Absent on bypass routes (forwarded undecided, signed with the request id only). */
  identity?: { id: string; authType: string; authenticated: boolean };
  plans?: string[];
  degraded?: boolean;
  /** `requirement` or `consumption`, only on `deny.action: forward`. */
  denied?: string;
  /** A dry run (HEAD, CORS preflight, prefetch): decided as if consumed, nothing recorded, the body never reaches the visitor. */
  dryRun?: boolean;
}

export type VerifyResult = VerifiedHeaders | { ok: false; reason: VerifyFailure };

interface Prepared {
  keys: Map<string, KeyObject>;
  maxAgeSeconds: number;
  prefix: string;
  header: string;
  now: () => number;
}

function prepare(options: VerifyOptions): Prepared {
  if (options.keys.length === 0) throw new Error('plangate verifier: keys is empty; pass the keys of gateway.signing.keys');
  const prefix = (options.prefix ?? 'x-plangate-').toLowerCase();
  const keys = new Map<string, KeyObject>();
  for (const key of options.keys) {
    const bytes = typeof key.secret === 'string' ? Buffer.from(key.secret, 'utf8') : key.secret;
    if (bytes.length < 32) throw new Error(`plangate verifier: key '${key.id}' is ${bytes.length} bytes; signing secrets are at least 32 bytes`);
    keys.set(key.id, createSecretKey(bytes));
  }
  return {
    keys,
    maxAgeSeconds: options.maxAgeSeconds ?? 30,
    prefix,
    header: (options.header ?? `${prefix}signature`).toLowerCase(),
    now: options.now ?? Date.now,
  };
}

function check(p: Prepared, input: VerifyInput): VerifyResult {
  const raw = input.headers[p.header];
  if (raw === undefined) return { ok: false, reason: 'missing-signature' };
  if (Array.isArray(raw)) return { ok: false, reason: 'duplicate-header' };
  const signature = parseSignature(raw);
  if (signature === undefined) return { ok: false, reason: 'malformed-signature' };
  const key = p.keys.get(signature.keyId);
  if (key === undefined) return { ok: false, reason: 'unknown-key' };
  const age = Math.floor(p.now() / 1000) - signature.timestamp;
  if (age > p.maxAgeSeconds) return { ok: false, reason: 'expired' };
  if (age < -p.maxAgeSeconds) return { ok: false, reason: 'from-the-future' };

  // The signed set must be exactly the prefixed headers present: none added, none removed.
  const present: [string, string][] = [];
  for (const [name, value] of Object.entries(input.headers)) {
    // An underscore spelling (x_plangate_id) is the same header to CGI-style servers, and never signed:
    // a proxy that passes such headers (Traefik, Envoy) cannot slip one past this check.
    if (value !== undefined && name.includes('_') && name.replaceAll('_', '-').startsWith(p.prefix)) return { ok: false, reason: 'header-set-mismatch' };
    if (!name.startsWith(p.prefix) || name === p.header || value === undefined) continue;
    if (Array.isArray(value)) return { ok: false, reason: 'duplicate-header' };
    present.push([name, value]);
  }
  present.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (present.length !== signature.names.length || present.some(([name], i) => name !== signature.names[i]))
    return { ok: false, reason: 'header-set-mismatch' };
  const headers = Object.fromEntries(present);
  const requestId = headers[`${p.prefix}request-id`];
  if (requestId === undefined) return { ok: false, reason: 'missing-request-id' };

  const expected = Buffer.from(
    signatureMac(key, { timestamp: signature.timestamp, method: input.method, host: input.host ?? '', target: input.target, requestId, headers: present }),
    'base64url',
  );
  const given = Buffer.from(signature.mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  return { ok: true, requestId, keyId: signature.keyId, timestamp: signature.timestamp, headers, ...decisionFields(headers, p.prefix) };
}

function decisionFields(headers: Record<string, string>, prefix: string): Pick<VerifiedHeaders, 'identity' | 'plans' | 'degraded' | 'denied' | 'dryRun'> {
  const id = headers[`${prefix}id`];
  if (id === undefined) return {};
  const plans = headers[`${prefix}plans`];
  const denied = headers[`${prefix}denied`];
  return {
    identity: { id: safeDecode(id), authType: headers[`${prefix}auth-type`] ?? '', authenticated: headers[`${prefix}authenticated`] === 'true' },
    plans: plans ? plans.split(',') : [],
    degraded: headers[`${prefix}degraded`] === 'true',
    dryRun: headers[`${prefix}dry-run`] === '1',
    ...(denied === undefined ? {} : { denied }),
  };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Checks one request's plangate headers. Throws only for unusable options (no keys, a short secret). */
export function verifyPlangateHeaders(input: VerifyInput, options: VerifyOptions): VerifyResult {
  return check(prepare(options), input);
}

/** A request that passed `plangateVerifier`. */
export interface PlangateRequest extends IncomingMessage {
  plangate?: VerifiedHeaders;
}

/**
 * connect/express middleware: a request with forged or stale plangate headers gets 401 JSON
 * (`{ status: 'error', statusCode: 401, message, reason }`); a genuine one continues with the
 * verified data on `req.plangate`. Keys are prepared once, here.
 */
export function plangateVerifier(options: VerifyOptions): (req: PlangateRequest, res: ServerResponse, next: (error?: unknown) => void) => void {
  const prepared = prepare(options);
  return (req, res, next) => {
    const target = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '';
    const result = check(prepared, { method: req.method ?? '', target, host: req.headers.host, headers: req.headers });
    if (result.ok) {
      req.plangate = result;
      next();
      return;
    }
    const body = JSON.stringify({ status: 'error', statusCode: 401, message: `plangate headers rejected: ${result.reason}`, reason: result.reason });
    res.writeHead(401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  };
}

export { canonicalString, SIGNATURE_VERSION } from './canonical.js';
