// What the gateway reports about each request when it is done: one summary per request, consumed
// by the ops layer (the JSON request log line and the Prometheus metrics). Never holds a token,
// cookie value or secret.
import type { DecisionTrace } from '../engine/trace.js';
import type { ResolvedIdentity } from '../engine/types.js';

export type RequestOutcome = 'forwarded' | 'bypassed' | 'denied' | 'answered' | 'prefetch-refused' | 'rejected' | 'shed' | 'error';

/** What the pipeline's stages learn about a request, filled in as it goes. */
export interface RequestTrace {
  /** The request id: a trusted proxy's `X-Request-Id`, or minted (sent upstream, used by header signing, returned to the client). */
  requestId: string;
  /** The visitor's address as `trustProxy` allows (the peer, or the first untrusted `X-Forwarded-For` hop). */
  client?: string;
  /** The matched route's path pattern (`/articles/*`), or `-` when no route was matched (a rejected path). */
  route: string;
  surface?: string;
  identityType?: 'anonymous' | 'jwt';
  plans?: readonly string[];
  degraded?: boolean;
  decisionMs?: number;
  /**
   * Set by `plangate explain` only (never from a request): the decision is a dry run and records what
   * the engine did; `identity`, when given, is used instead of resolving one (a provided user id, or a
   * new anonymous visitor without minting an id).
   */
  explain?: { decision: DecisionTrace; identity?: ResolvedIdentity };
  /** Report-only: the decision would have denied the request (`feature` is the feature slug, `-` when unknown). */
  wouldDeny?: { reason: 'requirement' | 'consumption'; feature: string };
  /** For a denial: the feature whose requirement or consumption was refused (from the config, so a bounded label). */
  deniedFeature?: string;
}

/** The trace, plus how the request ended: one per HTTP request and per websocket upgrade. */
export interface RequestSummary extends RequestTrace {
  method: string;
  /** The request target's path as the client sent it, without the query (which may carry tokens), at most 2,048 characters. */
  path: string;
  userAgent?: string;
  outcome: RequestOutcome;
  /** The status the client got (0 when the connection closed before a head was written). */
  status: number;
  /** Whether the response completed (false: the client or upstream went away mid-stream). */
  completed: boolean;
  /** Bytes written to the client for this response, head included (absent for websockets). */
  bytes?: number;
  /** From forwarding to the upstream's response head. */
  upstreamMs?: number;
  totalMs: number;
  websocket?: boolean;
}

export interface GatewayObserver {
  requestDone(summary: RequestSummary): void;
}

/** Longer paths are cut in the summary (and so in the log line). */
const MAX_LOGGED_PATH = 2048;

/** A request target as the summary logs it: the path without the query (which may carry tokens), at most 2,048 characters. */
export function loggedPath(url: string): string {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  return path.length > MAX_LOGGED_PATH ? path.slice(0, MAX_LOGGED_PATH) : path;
}
