// API keys: `Authorization: Bearer sk_...|pk_...`, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from './errors.js';

export type KeyKind = 'secret' | 'publishable';

export interface KeyRing {
  /** The kind of the presented key, or undefined when it matches no configured key. */
  lookup(presented: string): KeyKind | undefined;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const digest = (key: string) => createHash('sha256').update(key).digest();

export function createKeyRing(keys: readonly { key: string }[]): KeyRing {
  const entries = keys.map(({ key }) => ({ hash: digest(key), kind: (key.startsWith('sk_') ? 'secret' : 'publishable') as KeyKind }));
  return {
    lookup(presented) {
      const hash = digest(presented);
      let found: KeyKind | undefined;
      // Compare with every key, without an early exit, so timing says nothing about which matched.
      for (const entry of entries) if (timingSafeEqual(hash, entry.hash)) found = entry.kind;
      return found;
    },
  };
}

declare module 'express-serve-static-core' {
  interface Locals {
    keyKind?: KeyKind;
  }
}

export function requireApiKey(ring: () => KeyRing): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : BEARER.exec(header);
    if (match === null) return next(new ApiError('missing-api-key', 'missing API key: send Authorization: Bearer sk_... (secret) or pk_... (publishable)'));
    const kind = ring().lookup(match[1]);
    if (kind === undefined) return next(new ApiError('unknown-api-key', 'unknown API key'));
    res.locals.keyKind = kind;
    next();
  };
}
