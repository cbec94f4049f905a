import { describe, expect, it } from 'vitest';
import { periodEnd, periodStart, periodStartHttpDate } from '../../../src/engine/meters/periods.js';

describe('periods (UTC, calendar-aligned)', () => {
  it('lifetime starts at the epoch', () => {
    expect(periodStartHttpDate('lifetime', Date.now())).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    expect(periodEnd('lifetime', Date.now())).toBe(Number.POSITIVE_INFINITY);
  });
  it('the last millisecond of a month and the first of the next are in different buckets', () => {
    const last = Date.UTC(2026, 0, 31, 23, 59, 59, 999);
    expect(periodStart('month', last)).toBe(Date.UTC(2026, 0, 1));
    expect(periodStart('month', last + 1)).toBe(Date.UTC(2026, 1, 1));
    expect(periodEnd('month', last)).toBe(last + 1);
  });
  it('days, ISO weeks (Monday) and years', () => {
    const sunday = Date.UTC(2026, 10, 29, 23, 59, 59, 999); // Sunday 29 Nov 2026
    expect(periodStart('week', sunday)).toBe(Date.UTC(2026, 10, 23));
    expect(periodStart('week', sunday + 1)).toBe(Date.UTC(2026, 10, 30));
    expect(periodStart('day', sunday)).toBe(Date.UTC(2026, 10, 29));
    expect(periodStart('day', sunday + 1)).toBe(Date.UTC(2026, 10, 30));
    const newYear = Date.UTC(2027, 0, 1);
    expect(periodStart('year', newYear - 1)).toBe(Date.UTC(2026, 0, 1));
    expect(periodStart('year', newYear)).toBe(newYear);
    expect(periodStartHttpDate('month', Date.UTC(2026, 10, 28, 12))).toBe('Sun, 01 Nov 2026 00:00:00 GMT');
  });
});
