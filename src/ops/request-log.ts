// One JSON log line per gateway request (code `request`). Fields are picked one by one from the
// gateway's summary, never spread, so nothing the summary might grow later (a header, a cookie, a
// token) can reach the log by accident.
import type { GatewayObserver, RequestSummary } from '../gateway/observer.js';
import type { Logger } from './logger.js';

export function requestLog(logger: Logger): GatewayObserver {
  return {
    requestDone(s: RequestSummary) {
      logger.info({
        code: 'request',
        requestId: s.requestId,
        method: s.method,
        route: s.route,
        surface: s.surface,
        identityType: s.identityType,
        plans: s.plans,
        outcome: s.outcome,
        status: s.status,
        completed: s.completed,
        degraded: s.degraded,
        websocket: s.websocket,
        decisionMs: round(s.decisionMs),
        upstreamMs: round(s.upstreamMs),
        totalMs: round(s.totalMs),
      });
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

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 1000) / 1000;
}
