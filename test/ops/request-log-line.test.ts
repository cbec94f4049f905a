// The request log line is built by hand (src/ops/request-log.ts): it must be exactly what pino would
// have written for the same fields, escape what it quotes, and follow the logger's level.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RequestSummary } from '../../src/gateway/observer.js';
import { createLogger } from '../../src/ops/logger.js';
import { requestLog } from '../../src/ops/request-log.js';

function capture(level = 'info') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level, destination: destination as never });
  return { logger, lines };
}

const summaries: RequestSummary[] = [
  {
    requestId: '6f1c0c1e-9a4e-4c55-9d2e-5d0f3f4b8a11',
    method: 'GET',
    path: '/static/app.css',
    route: '/**',
    client: '203.0.113.7',
    userAgent: 'Mozilla/5.0 "quoted" \\ agent',
    outcome: 'bypassed',
    status: 200,
    bytes: 1834,
    completed: true,
    upstreamMs: 0.81234,
    totalMs: 1.23456,
  },
  {
    requestId: '0b7f2a9c-1d3e-4f5a-8b6c-7d8e9f0a1b2c',
    method: 'POST',
    path: '/say "hi"\\/x',
    route: '/say "hi"\\/*',
    surface: 'article-page',
    identityType: 'jwt',
    plans: ['pro', 'registered'],
    outcome: 'denied',
    deniedFeature: 'articles',
    status: 402,
    completed: false,
    degraded: true,
    decisionMs: 0.0004,
    totalMs: 12,
  },
  {
    requestId: 'c0ffee00-0000-4000-8000-000000000000',
    method: 'GET',
    path: '/%2e%2e/etc',
    route: '-',
    client: '2001:db8::1',
    outcome: 'rejected',
    status: 0,
    completed: false,
    totalMs: 0.5,
    websocket: true,
  },
];

describe('request log line', () => {
  it('equals what pino writes for the same fields, field for field and in the same order', () => {
    const hand = capture();
    const viaPino = capture();
    const log = requestLog(hand.logger);
    for (const s of summaries) {
      log.requestDone(s);
      const round = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms * 1000) / 1000);
      viaPino.logger.info({
        code: 'request',
        requestId: s.requestId,
        method: s.method,
        path: s.path,
        route: s.route,
        surface: s.surface,
        client: s.client,
        userAgent: s.userAgent,
        identityType: s.identityType,
        plans: s.plans,
        outcome: s.outcome,
        deniedFeature: s.deniedFeature,
        status: s.status,
        bytes: s.bytes,
        completed: s.completed,
        degraded: s.degraded,
        websocket: s.websocket,
        decisionMs: round(s.decisionMs),
        upstreamMs: round(s.upstreamMs),
        totalMs: round(s.totalMs),
      });
    }
    expect(hand.lines).toHaveLength(summaries.length);
    const withoutTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"-"');
    expect(hand.lines.map(withoutTime)).toEqual(viaPino.lines.map(withoutTime));
    for (const line of hand.lines) expect(JSON.parse(line).time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(JSON.parse(hand.lines[1]).route).toBe('/say "hi"\\/*');
  });

  it('is not written when the logger level is above info', () => {
    const quiet = capture('warn');
    requestLog(quiet.logger).requestDone(summaries[0]);
    expect(quiet.lines).toEqual([]);
  });
});

describe('batched stdout lines', () => {
  it('hands lines on in order, one write per batch, and everything on flushSync', async () => {
    const { BatchedLines } = await import('../../src/ops/logger.js');
    const writes: string[] = [];
    let syncFlushes = 0;
    const batched = new BatchedLines({ write: (text: string) => writes.push(text), flushSync: () => syncFlushes++ }, 30);
    batched.write('line one\n'); // 9 chars
    batched.write('line two\n'); // 18
    expect(writes).toEqual([]); // below the batch size: nothing written yet
    batched.write('line three, long enough\n'); // 42 >= 30: one write with all three
    expect(writes).toEqual(['line one\nline two\nline three, long enough\n']);
    batched.write('tail\n');
    batched.flushSync();
    expect(writes).toEqual(['line one\nline two\nline three, long enough\n', 'tail\n']);
    expect(syncFlushes).toBe(1);
    batched.flush(); // nothing pending: no empty write
    expect(writes).toHaveLength(2);
  });
});
