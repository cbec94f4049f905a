// The signed-headers format shared by the gateway (which signs) and the verification helper (which
// checks): the canonical string, the MAC and the signature header's syntax. docs/upstream.md spells
// the same format out for implementations in other languages; change both together.
import { createHmac, type KeyObject } from 'node:crypto';

/** First line of every canonical string: a new format gets a new version, never a silent change. */
export const SIGNATURE_VERSION = 'plangate-v1';

export interface SignedParts {
  /** Unix seconds. */
  timestamp: number;
  method: string;
  /** The `Host` header value exactly as the upstream receives it. */
  host: string;
  /** The request target (path and query) exactly as the upstream receives it. */
  target: string;
  requestId: string;
  /** The signed `<prefix>*` headers as `[lowercase name, value]`, sorted by name. */
  headers: readonly (readonly [string, string])[];
}

/** `plangate-v1`, timestamp, method, host, target, request id, then one `name:value` line per header; joined by LF. */
export function canonicalString(parts: SignedParts): string {
  let text = `${SIGNATURE_VERSION}\n${parts.timestamp}\n${parts.method}\n${parts.host}\n${parts.target}\n${parts.requestId}`;
  for (const [name, value] of parts.headers) text += `\n${name}:${value}`;
  return text;
}

/** HMAC-SHA256 of the canonical string, base64url without padding. */
export function signatureMac(key: KeyObject | Buffer, parts: SignedParts): string {
  return createHmac('sha256', key).update(canonicalString(parts), 'utf8').digest('base64url');
}

export interface SignatureFields {
  timestamp: number;
  keyId: string;
  /** Signed header names, sorted, as listed in `h=`. */
  names: readonly string[];
  /** base64url MAC. */
  mac: string;
}

/** `t=<unix seconds>, kid=<key id>, h=<name>;<name>;..., s=<base64url MAC>` */
export function formatSignature(fields: SignatureFields): string {
  return `t=${fields.timestamp}, kid=${fields.keyId}, h=${fields.names.join(';')}, s=${fields.mac}`;
}

const TIMESTAMP = /^[0-9]{1,12}$/;
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const HEADER_NAME = /^[a-z0-9-]+$/;
const MAC = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url, no padding

/** The parsed header, or undefined when it is not exactly the four fields in their syntax. */
export function parseSignature(value: string): SignatureFields | undefined {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq === -1) return undefined;
    const key = part.slice(0, eq).trim();
    if (fields.has(key)) return undefined;
    fields.set(key, part.slice(eq + 1).trim());
  }
  const t = fields.get('t');
  const kid = fields.get('kid');
  const h = fields.get('h');
  const s = fields.get('s');
  if (fields.size !== 4 || t === undefined || kid === undefined || h === undefined || s === undefined) return undefined;
  if (!TIMESTAMP.test(t) || !KEY_ID.test(kid) || !MAC.test(s)) return undefined;
  const names = h === '' ? [] : h.split(';');
  if (!names.every((n) => HEADER_NAME.test(n))) return undefined;
  return { timestamp: Number(t), keyId: kid, names, mac: s };
}
