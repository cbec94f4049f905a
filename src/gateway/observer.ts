// What the gateway reports about each request when it is done: one summary per request, consumed
// by the ops layer (the JSON request log line and the Prometheus metrics). Never holds a token,
// cookie value or secret.
import type { RequestOutcome } from './pipeline.js';

export interface RequestSummary {
  /** The request id (also sent upstream and used by header signing). */
  requestId: string;
  method: string;
  /** The matched route's path pattern (`/articles/*`), or `-` when no route was matched (a rejected path). */
  route: string;
  surface?: string;
  identityType?: 'anonymous' | 'jwt';
  plans?: readonly string[];
  outcome: RequestOutcome;
  /** The status the client got (0 when the connection closed before a head was written). */
  status: number;
  /** Whether the response completed (false: the client or upstream went away mid-stream). */
  completed: boolean;
  degraded?: boolean;
  decisionMs?: number;
  /** From forwarding to the upstream's response head. */
  upstreamMs?: number;
  totalMs: number;
  websocket?: boolean;
}

export interface GatewayObserver {
  requestDone(summary: RequestSummary): void;
}
