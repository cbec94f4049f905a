// API keys: `Authorization: Bearer sk_...|pk_...`, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from './errors.js';

export type KeyKind = 'secret' | 'publishable';

/** What a presented key is: its kind, the name the audit log gives it, whether it may use the admin endpoints. */
export interface KeyInfo {
  kind: KeyKind;
  name: string;
  admin: boolean;
}

export interface KeyRing {
  /** The presented key's info, or undefined when it matches no configured key. */
  lookup(presented: string): KeyInfo | undefined;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const digest = (key: string) => createHash('sha256').update(key).digest();

export function createKeyRing(keys: readonly { key: string; name?: string; scopes?: readonly string[] }[]): KeyRing {
  const entries = keys.map(({ key, name, scopes }, i) => {
    const kind: KeyKind = key.startsWith('sk_') ? 'secret' : 'publishable';
    // The config allows the admin scope on named secret keys only (config/cross-check.ts); checked again here.
    const info: KeyInfo = { kind, name: name ?? `apiKeys[${i}]`, admin: kind === 'secret' && name !== undefined && scopes?.includes('admin') === true };
    return { hash: digest(key), info };
  });
  return {
    lookup(presented) {
      const hash = digest(presented);
      let found: KeyInfo | undefined;
      // Compare with every key, without an early exit, so timing says nothing about which matched.
      for (const entry of entries) if (timingSafeEqual(hash, entry.hash)) found = entry.info;
      return found;
    },
  };
}

declare module 'express-serve-static-core' {
  interface Locals {
    keyKind?: KeyKind;
    apiKey?: KeyInfo;
  }
}

export function requireApiKey(ring: () => KeyRing): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : BEARER.exec(header);
    if (match === null) return next(new ApiError('missing-api-key', 'missing API key: send Authorization: Bearer sk_... (secret) or pk_... (publishable)'));
    const key = ring().lookup(match[1]);
    if (key === undefined) return next(new ApiError('unknown-api-key', 'unknown API key'));
    res.locals.keyKind = key.kind;
    res.locals.apiKey = key;
    next();
  };
}
