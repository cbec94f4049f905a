// The one canonical form of a request target (docs/gateway.md "The canonical path"). It is computed once per request and is
// both what routes match and what the upstream receives, so no spelling of a protected path can be
// matched as one thing and served as another.
//
// Rules, in order of application:
// - origin-form (`/path?query`) is taken as is; absolute-form (`http://host/path`) keeps only its path
//   and query (the authority is ignored, never used for routing); anything else is rejected;
// - the query (from the first `?`) is kept byte for byte and never matched;
// - `%XX` of an unreserved character (ALPHA DIGIT - . _ ~) is decoded; other encodings are kept with
//   uppercase hex; printable ASCII that may not appear raw in a path (`"`, `<`, `|`, ...) and raw bytes
//   above 0x7F are percent-encoded;
// - `;` path parameters are rejected, or stripped up to the next `/` when allowPathParameters is on;
// - empty segments collapse, `.` and `..` (also spelled `%2e`) resolve; a trailing slash is kept;
// - rejected: malformed `%`, encoded bytes that are not valid UTF-8 (overlong forms included), `%2F`,
//   `%5C`, a raw `\`, NUL, control characters, paths over 8 KB.

export type PathRejectReason =
  | 'not-origin-form'
  | 'path-too-long'
  | 'malformed-percent'
  | 'invalid-utf8'
  | 'encoded-slash'
  | 'encoded-backslash'
  | 'backslash'
  | 'nul'
  | 'control-character'
  | 'path-parameter'
  | 'invalid-character';

export type CanonicalPath =
  | {
      ok: true;
      /** The canonical path, forwarded upstream. */
      path: string;
      /** `?...` exactly as received, or ''. */
      query: string;
      /** The path used for matching and as resource id: lowercased unless case-sensitive, no trailing slash. */
      matchPath: string;
      /** matchPath split into segments (no empty ones). */
      segments: string[];
    }
  | { ok: false; reason: PathRejectReason };

export interface CanonicalPathOptions {
  caseSensitive: boolean;
  allowPathParameters: boolean;
}

export const MAX_TARGET_LENGTH = 8192;

const HEX = '0123456789ABCDEF';
const ABSOLUTE_FORM = /^https?:\/\//i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

// Per byte: 1 = keep raw (unreserved, sub-delims, ':' '@'), 2 = unreserved (decode when encoded).
const RAW = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-._~]/.test(ch)) RAW[c] = 2;
  else if ("!$&'()*+,=:@".includes(ch)) RAW[c] = 1;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function encodeByte(byte: number): string {
  return '%' + HEX[byte >> 4] + HEX[byte & 15];
}

/** Why a byte (raw or decoded) may never appear in a path, or undefined when it may. */
function forbidden(byte: number, encoded: boolean): PathRejectReason | undefined {
  if (byte === 0) return 'nul';
  if (byte < 0x20 || byte === 0x7f) return 'control-character';
  if (byte === 0x5c) return encoded ? 'encoded-backslash' : 'backslash';
  if (byte === 0x2f && encoded) return 'encoded-slash';
  return undefined;
}

export function canonicalizeTarget(target: string, options: CanonicalPathOptions): CanonicalPath {
  if (target.length > MAX_TARGET_LENGTH) return { ok: false, reason: 'path-too-long' };
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* / */) {
    if (!ABSOLUTE_FORM.test(target)) return { ok: false, reason: 'not-origin-form' };
    const afterScheme = target.indexOf('//') + 2;
    let end = afterScheme;
    while (end < target.length && target[end] !== '/' && target[end] !== '?') end++;
    if (end === afterScheme) return { ok: false, reason: 'not-origin-form' };
    start = end;
  }
  const queryAt = target.indexOf('?', start);
  const pathEnd = queryAt === -1 ? target.length : queryAt;
  const query = queryAt === -1 ? '' : target.slice(queryAt);

  const segments: string[] = [];
  let segment = '';
  let inParameter = false;
  let sawHighByte = false;
  let lastWasDirectory = true; // the path ends in '/', '.' or '..'

  const endSegment = () => {
    if (segment === '' || segment === '.') lastWasDirectory = true;
    else if (segment === '..') {
      segments.pop();
      lastWasDirectory = true;
    } else {
      segments.push(segment);
      lastWasDirectory = false;
    }
    segment = '';
    inParameter = false;
  };

  for (let i = start; i < pathEnd; i++) {
    const code = target.charCodeAt(i);
    if (code === 47 /* / */) {
      endSegment();
      continue;
    }
    let out: string;
    if (code === 37 /* % */) {
      const hi = i + 2 < pathEnd ? hexValue(target.charCodeAt(i + 1)) : -1;
      const lo = hi === -1 ? -1 : hexValue(target.charCodeAt(i + 2));
      if (lo === -1) return { ok: false, reason: 'malformed-percent' };
      const byte = (hi << 4) | lo;
      i += 2;
      const bad = forbidden(byte, true);
      if (bad) return { ok: false, reason: bad };
      if (byte >= 0x80) sawHighByte = true;
      out = byte < 128 && RAW[byte] === 2 ? String.fromCharCode(byte) : encodeByte(byte);
    } else {
      if (code > 0xff) return { ok: false, reason: 'invalid-character' };
      const bad = forbidden(code, false);
      if (bad) return { ok: false, reason: bad };
      if (code === 59 /* ; */) {
        if (!options.allowPathParameters) return { ok: false, reason: 'path-parameter' };
        inParameter = true;
        continue;
      }
      if (code >= 0x80) sawHighByte = true;
      out = code < 128 && RAW[code] !== 0 ? target[i] : encodeByte(code);
    }
    if (!inParameter) segment += out;
  }
  endSegment();

  const joined = '/' + segments.join('/');
  if (sawHighByte && !validUtf8(joined)) return { ok: false, reason: 'invalid-utf8' };
  const path = lastWasDirectory && segments.length > 0 ? joined + '/' : joined;
  const matchPath = options.caseSensitive ? joined : joined.toLowerCase();
  return {
    ok: true,
    path,
    query,
    matchPath,
    segments: options.caseSensitive ? segments : segments.map((s) => s.toLowerCase()),
  };
}

/** The canonical path only contains ASCII and uppercase `%XX`; decode it to bytes and check UTF-8. */
function validUtf8(path: string): boolean {
  const bytes = new Uint8Array(path.length);
  let n = 0;
  for (let i = 0; i < path.length; i++) {
    if (path.charCodeAt(i) === 37) {
      bytes[n++] = (hexValue(path.charCodeAt(i + 1)) << 4) | hexValue(path.charCodeAt(i + 2));
      i += 2;
    } else bytes[n++] = path.charCodeAt(i);
  }
  try {
    utf8.decode(bytes.subarray(0, n));
    return true;
  } catch {
    return false;
  }
}
