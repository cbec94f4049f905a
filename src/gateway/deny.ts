// What a denied request gets (docs/gateway.md "Denial actions"), per route: a paywall page (402 by
// default; HTML from a template compiled at load, JSON for API clients), a redirect to a configured
// URL carrying the return path, or forwarding with the denial in the headers. Denied requests are
// never forwarded otherwise.
import { withReturn, type TemplateValues } from '../engine/template-values.js';
import { documentHead, wantsJson } from './error-pages.js';
import type { Denial } from './model.js';
import type { ResponseHead } from './response-merge.js';

export type DenialReason = 'requirement' | 'consumption';

export interface DeniedRequest {
  /** Canonical path plus the query as received: what the visitor asked for. */
  target: string;
  reason: DenialReason;
  accept: string | undefined;
  /** The decision in a reader's terms (remaining, plans, links ...), from the engine. */
  values: TemplateValues;
}

export function paywallResponse(denial: Extract<Denial, { action: 'paywall' }>, request: DeniedRequest): { head: ResponseHead; body: string } {
  const json = wantsJson(request.accept);
  const { values } = request;
  const body = json
    ? JSON.stringify({
        status: 'denied',
        statusCode: denial.status,
        reason: request.reason,
        path: request.target,
        message: 'Your current plan does not include this content.',
        ...(values.loginUrl === '' ? {} : { loginUrl: values.loginUrl }),
        ...(values.plansUrl === '' ? {} : { plansUrl: values.plansUrl }),
      })
    : denial.template.render({ ...values, status: denial.status, path: values.returnPath });
  return { head: documentHead(denial.status, body, json, 'private, no-store'), body };
}

/** A redirect to the configured URL; the return value is the canonical path and query only, never built from `Host`. */
export function redirectResponse(
  denial: Extract<Denial, { action: 'redirect' }>,
  request: Pick<DeniedRequest, 'target'>,
): { head: ResponseHead; body: string } {
  const location = withReturn(denial.url, denial.returnParam, request.target);
  return { head: { status: denial.status, headers: { location, 'content-length': '0', 'cache-control': 'private, no-store' } }, body: '' };
}
