// Redis key layout of the meter store. Every key of one visitor carries the same hash tag, so one
// store call touches a single Cluster slot:
//   <prefix>{a:<visitor hash>}:<counterId>:<period>:<bucket start, YYYY-MM-DD>     usage count
//   <prefix>{a:<visitor hash>}:<counterId>:<period>:<bucket start, YYYY-MM-DD>:r   resource hashes (set)
//   <prefix>{u:<visitor hash>}:grants                                               plan grants (hash, no TTL)
// `a` is an anonymous visitor, `u` an authenticated one (whatever the identity source).
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { periodEnd, periodStart } from './periods.js';
import type { Period, Visitor } from './store.js';

/** Period-bound keys outlive their period by this much, to absorb clock skew between gateway hosts. */
export const PERIOD_GRACE_MS = 3_600_000;
const DAY_MS = 86_400_000;

export function checkKeyPrefix(prefix: string): string {
  if (/[{}]/.test(prefix)) {
    throw new Error(`store.redis.keyPrefix: "${prefix}" contains { or }; the prefix must not hold a Redis hash tag (plangate adds one per visitor)`);
  }
  return prefix;
}

/**
 * The visitor part of every key: the identifier is hashed (any length, any characters) and wrapped
 * in braces as the Cluster hash tag. 128 bits of SHA-256 make collisions between visitors negligible.
 */
export function visitorTag(visitor: Visitor): string {
  const cache = visitor.userType === 'anonymous' ? anonymousTags : userTags;
  let tag = cache.get(visitor.identifier);
  if (tag === undefined) {
    tag = `{${visitor.userType === 'anonymous' ? 'a' : 'u'}:${hash('sha256', visitor.identifier, 'base64url').slice(0, 22)}}`;
    cache.set(visitor.identifier, tag);
  }
  return tag;
}

/** Visitors come back request after request: their tags are kept (bounded) rather than hashed each time. */
const anonymousTags = new LRUCache<string, string>({ max: 10_000 });
const userTags = new LRUCache<string, string>({ max: 10_000 });

export function bucketKey(prefix: string, tag: string, counterId: string, period: Period, now: number): string {
  return `${prefix}${tag}:${counterId}:${period}:${bucketDate(periodStart(period, now))}`;
}

/** `YYYY-MM-DD` of a bucket start: a handful of distinct values at any time, each formatted once. */
const bucketDates = new Map<number, string>();
function bucketDate(start: number): string {
  let text = bucketDates.get(start);
  if (text === undefined) {
    if (bucketDates.size >= 64) bucketDates.clear();
    text = new Date(start).toISOString().slice(0, 10);
    bucketDates.set(start, text);
  }
  return text;
}

/**
 * The new-id budget of one window: a counter per network and one for all networks, under one hash
 * tag (so one script on one Cluster slot; only new anonymous visitors touch it). The network's keyed
 * id is hashed once more: no address, nor anything derived from it without the secret, is stored.
 */
export function newIdKeys(prefix: string, networkId: string, window: number): [network: string, total: string] {
  return [`${prefix}{new-ids}:${hash('sha256', networkId, 'base64url').slice(0, 22)}:${window}`, `${prefix}{new-ids}:all:${window}`];
}

/** The visitor's plan grants: a hash of plan → grant JSON, without a TTL (the expiry lives in the value). */
export function grantsKey(prefix: string, tag: string): string {
  return `${prefix}${tag}:grants`;
}

/** Every key of one visitor, for SCAN MATCH (the braces of the tag are escaped: they are not glob characters, but `[` would be). */
export function visitorPattern(prefix: string, tag: string): string {
  return `${escapeGlob(prefix)}${escapeGlob(tag)}:*`;
}

/** Every visitor's grants hash, for SCAN MATCH. */
export function grantsPattern(prefix: string): string {
  return `${escapeGlob(prefix)}{*}:grants`;
}

/** An idempotency key's record: its own hash tag (spread over a Cluster), the key hashed. */
export function idempotencyKey(prefix: string, key: string): string {
  return `${prefix}{idem:${hash('sha256', key, 'base64url').slice(0, 22)}}`;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export function resourceSetKey(countKey: string): string {
  return `${countKey}:r`;
}

/**
 * Milliseconds a bucket written at `now` should live, or 0 for no expiry. Relative to the call's own
 * clock, so an injected clock gives the same TTLs as the real one.
 */
export function bucketTtlMs(period: Period, now: number, userType: Visitor['userType'], anonymousRetentionDays: number): number {
  if (period === 'lifetime') return userType === 'anonymous' ? anonymousRetentionDays * DAY_MS : 0;
  return periodEnd(period, now) - now + PERIOD_GRACE_MS;
}
