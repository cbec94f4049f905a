// One JSON log line per gateway request (code `request`). Fields are picked one by one from the
// gateway's summary, never spread, so nothing the summary might grow later (a header, a cookie, a
// token) can reach the log by accident.
//
// The line is built here and written straight to the logger's destination: pino's generic path
// (serializing an object of optional fields, a fresh ISO timestamp) cost about 15 µs per request in
// the benchmark's profile, an eighth of a bypassed request. The line has exactly pino's shape
// (`level`, `time`, the logger's bindings, then the fields; undefined fields left out), and the
// logger's level still decides whether it is written.
import { pino } from 'pino';
import type { GatewayObserver, RequestSummary } from '../gateway/observer.js';
import type { EventCode } from '../events.js';
import type { Logger } from './logger.js';

const INFO = 30;
/** The catalogue's code for this line (src/events.ts), written into the prebuilt prefix below. */
const CODE: EventCode = 'request';

export function requestLog(logger: Logger): GatewayObserver {
  const destination = (logger as unknown as Record<symbol, { write(line: string): unknown }>)[pino.symbols.streamSym];
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
  const clock = isoClock();
  const prefix = `{"level":${INFO},"time":"`;
  const fixed = `"${bindings},"code":"${CODE}","requestId":`;
  return {
    requestDone(s: RequestSummary) {
      if (logger.levelVal > INFO) return;
      let line = prefix + clock() + fixed + JSON.stringify(s.requestId) + ',"method":' + quoted(s.method) + ',"path":' + JSON.stringify(s.path);
      line += ',"route":' + quoted(s.route);
      if (s.surface !== undefined) line += ',"surface":' + quoted(s.surface);
      if (s.client !== undefined) line += ',"client":' + JSON.stringify(s.client);
      if (s.userAgent !== undefined) line += ',"userAgent":' + JSON.stringify(s.userAgent);
      if (s.identityType !== undefined) line += ',"identityType":"' + s.identityType + '"';
      if (s.plans !== undefined) line += ',"plans":' + JSON.stringify(s.plans);
      line += ',"outcome":"' + s.outcome + '"';
      if (s.deniedFeature !== undefined) line += ',"deniedFeature":' + quoted(s.deniedFeature);
      line += ',"status":' + s.status;
      if (s.bytes !== undefined) line += ',"bytes":' + s.bytes;
      line += ',"completed":' + s.completed;
      if (s.degraded !== undefined) line += ',"degraded":' + s.degraded;
      if (s.wouldDeny !== undefined) line += ',"wouldDeny":"' + s.wouldDeny.reason + '","wouldDenyFeature":' + quoted(s.wouldDeny.feature);
      if (s.websocket !== undefined) line += ',"websocket":' + s.websocket;
      if (s.decisionMs !== undefined) line += ',"decisionMs":' + round(s.decisionMs);
      if (s.upstreamMs !== undefined) line += ',"upstreamMs":' + round(s.upstreamMs);
      destination.write(line + ',"totalMs":' + round(s.totalMs) + '}\n');
    },
  };
}

/** Several observers behind one (the gateway takes one). */
export function observers(...list: GatewayObserver[]): GatewayObserver {
  return {
    requestDone(summary) {
      for (const observer of list) observer.requestDone(summary);
    },
  };
}

/** Method names, route patterns, surface slugs and feature slugs repeat: each is JSON-quoted once. */
const quotedCache = new Map<string, string>();
const QUOTED_CACHE_MAX = 1024;
function quoted(value: string): string {
  let json = quotedCache.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    if (quotedCache.size < QUOTED_CACHE_MAX) quotedCache.set(value, json);
  }
  return json;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The current time as pino's isoTime writes it; the part up to the second is formatted once per second. */
function isoClock(): () => string {
  let second = -1;
  let head = '';
  return () => {
    const now = Date.now();
    const ms = now % 1000;
    if (now - ms !== second) {
      second = now - ms;
      head = new Date(second).toISOString().slice(0, 20); // YYYY-MM-DDTHH:MM:SS.
    }
    return head + (ms < 10 ? '00' : ms < 100 ? '0' : '') + ms + 'Z';
  };
}
