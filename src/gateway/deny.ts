// What a denied request gets (docs/gateway.md "Denial actions"), per route: a paywall page (402 by
// default; HTML from a replaceable template, read at load, JSON for API clients), a redirect to a
// configured URL carrying the return path, or forwarding with the denial in the headers. Denied
// requests are never forwarded otherwise.
import { documentHead, escapeHtml, wantsJson } from './error-pages.js';
import type { Denial, Template } from './model.js';
import type { ResponseHead } from './response-merge.js';

export type DenialReason = 'requirement' | 'consumption';

function render(template: Template, values: Record<string, string>): string {
  // Odd indexes are placeholder names (split with a capture group).
  return template.parts.map((part, i) => (i % 2 === 0 ? part : escapeHtml(values[part] ?? ''))).join('');
}

export interface DeniedRequest {
  /** Canonical path plus the query as received: what the visitor asked for. */
  target: string;
  reason: DenialReason;
  accept: string | undefined;
}

export function paywallResponse(denial: Extract<Denial, { action: 'paywall' }>, request: DeniedRequest): { head: ResponseHead; body: string } {
  const json = wantsJson(request.accept);
  const body = json
    ? JSON.stringify({
        status: 'denied',
        statusCode: denial.status,
        reason: request.reason,
        path: request.target,
        message: 'Your current plan does not include this content.',
      })
    : render(denial.template, { status: String(denial.status), path: request.target, reason: request.reason, returnParam: encodeURIComponent(request.target) });
  return { head: documentHead(denial.status, body, json, 'private, no-store'), body };
}

/** A redirect to the configured URL; the return value is the canonical path and query only, never built from `Host`. */
export function redirectResponse(denial: Extract<Denial, { action: 'redirect' }>, request: DeniedRequest): { head: ResponseHead; body: string } {
  const separator = denial.url.includes('?') ? '&' : '?';
  const location = `${denial.url}${separator}${encodeURIComponent(denial.returnParam)}=${encodeURIComponent(request.target)}`;
  return { head: { status: denial.status, headers: { location, 'content-length': '0', 'cache-control': 'private, no-store' } }, body: '' };
}
