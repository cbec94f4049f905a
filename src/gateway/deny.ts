// What a denied request gets (PRODUCT.md §3), per route: a paywall page (402 by default; HTML from a
// replaceable template, JSON for API clients), a redirect to a configured URL carrying the return
// path, or forwarding with the denial in the headers. Denied requests are never forwarded otherwise.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RouteConfig } from '../config/schema.js';
import { documentHead, escapeHtml, wantsJson } from './error-pages.js';
import type { ResponseHead } from './response-merge.js';

export type DenialReason = 'requirement' | 'consumption';

export type Denial =
  { action: 'paywall'; status: number; template: Template } | { action: 'redirect'; status: number; url: string; returnParam: string } | { action: 'forward' };

/** A template split once at start into literal parts and placeholder names. */
export interface Template {
  file: string;
  parts: readonly string[];
}

const PLACEHOLDER = /\{\{\s*([a-zA-Z]+)\s*\}\}/;

export function compileTemplate(file: string): Template {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(
      `paywall template ${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); check gateway.paywallTemplate or the route's deny.template`,
    );
  }
  return { file, parts: text.split(new RegExp(PLACEHOLDER.source, 'g')) };
}

function render(template: Template, values: Record<string, string>): string {
  // Odd indexes are placeholder names (split with a capture group).
  return template.parts.map((part, i) => (i % 2 === 0 ? part : escapeHtml(values[part] ?? ''))).join('');
}

/** The template shipped with plangate (config/templates/paywall.html), from source or from dist. */
export function defaultTemplateFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../config/templates/paywall.html'), resolve(here, '../../../config/templates/paywall.html')];
  return candidates.find((file) => existsSync(file)) ?? candidates[0];
}

/** Compiles every route's denial at start; `configDir` anchors relative template paths. */
export function compileDenial(route: RouteConfig, defaultTemplate: Template, configDir: string, cache: Map<string, Template>): Denial {
  const deny = route.deny;
  if (deny?.action === 'forward') return { action: 'forward' };
  if (deny?.action === 'redirect') return { action: 'redirect', status: deny.status ?? 302, url: deny.url ?? '/', returnParam: deny.returnParam ?? 'return' };
  let template = defaultTemplate;
  if (deny?.template !== undefined) {
    const file = isAbsolute(deny.template) ? deny.template : resolve(configDir, deny.template);
    template = cache.get(file) ?? compileTemplate(file);
    cache.set(file, template);
  }
  return { action: 'paywall', status: deny?.status ?? 402, template };
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
