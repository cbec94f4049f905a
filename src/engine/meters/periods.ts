// Calendar periods in UTC. A bucket is identified by its start; lifetime starts at the epoch.
import type { Period } from './store.js';

const DAY_MS = 86_400_000;

interface Bucket {
  from: number;
  to: number;
  /** The start as an HTTP date, made on first use. */
  text: string | undefined;
}

/** The current bucket per period, computed once per period turnover (most calls are inside it). */
const currentBuckets = new Map<Period, Bucket>();

/** The bucket containing `now`: the remembered one, or a new one that becomes the remembered one. */
function bucketAt(period: Period, now: number): Bucket {
  const last = currentBuckets.get(period);
  if (last !== undefined && now >= last.from && now < last.to) return last;
  const bucket: Bucket = { from: computeStart(period, now), to: computeEnd(period, now), text: undefined };
  // An injected clock may jump back and forth: only the newest bucket is kept.
  if (last === undefined || bucket.from >= last.from) currentBuckets.set(period, bucket);
  return bucket;
}

/** Start of the period containing `now` (epoch ms), in UTC. Weeks are ISO weeks starting Monday. */
export function periodStart(period: Period, now: number): number {
  return bucketAt(period, now).from;
}

function computeStart(period: Period, now: number): number {
  const d = new Date(now);
  switch (period) {
    case 'lifetime':
      return 0;
    case 'day':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    case 'week': {
      const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      const sinceMonday = (d.getUTCDay() + 6) % 7;
      return dayStart - sinceMonday * DAY_MS;
    }
    case 'month':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case 'year':
      return Date.UTC(d.getUTCFullYear(), 0, 1);
  }
}

/** Start of the next period (the moment the bucket containing `now` stops counting); Infinity for lifetime. */
export function periodEnd(period: Period, now: number): number {
  return bucketAt(period, now).to;
}

function computeEnd(period: Period, now: number): number {
  const start = new Date(computeStart(period, now));
  switch (period) {
    case 'lifetime':
      return Number.POSITIVE_INFINITY;
    case 'day':
      return start.getTime() + DAY_MS;
    case 'week':
      return start.getTime() + 7 * DAY_MS;
    case 'month':
      return Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1);
    case 'year':
      return Date.UTC(start.getUTCFullYear() + 1, 0, 1);
  }
}

/** `periodStart` as the HTTP date MonetizationOS reports ("Thu, 01 Jan 1970 00:00:00 GMT" for lifetime). */
export function periodStartHttpDate(period: Period, now: number): string {
  const bucket = bucketAt(period, now);
  bucket.text ??= new Date(bucket.from).toUTCString();
  return bucket.text;
}
