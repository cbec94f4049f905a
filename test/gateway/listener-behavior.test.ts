// Acceptance: enforcement through the real listener. Route denials (forward, redirect) and the
// workflow's surfaceBehavior.http in its replace and modify forms, with MonetizationOS semantics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaveConfig } from './behave-config.js';
import { startStack, UPSTREAM_COOKIE, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(behaveConfig(), 'gw-behave');
  stack.upstream.handlers.set('/modify', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream-only': '1', 'set-cookie': UPSTREAM_COOKIE, 'cache-control': 'public, max-age=600' });
    res.end('from upstream');
    return true;
  });
});
afterAll(() => stack?.close());

async function get(path: string, headers: Record<string, string> = {}) {
  const before = stack.upstream.seen.length;
  const res = await fetch(stack.gateway.url + path, { headers, redirect: 'manual' });
  const body = await res.text();
  return { status: res.status, statusText: res.statusText, headers: res.headers, body, upstreamCalls: stack.upstream.seen.length - before };
}

describe('surfaceBehavior.http', () => {
  it('replace form: the gateway answers with status, headers, cookies and body; upstream untouched', async () => {
    const res = await get('/replace');
    expect(res).toMatchObject({ status: 451, statusText: 'Unavailable For Legal Reasons', body: '<p>replaced</p>', upstreamCalls: 0 });
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(res.headers.get('x-replaced')).toBe('1');
    const cookies = res.headers.getSetCookie();
    expect(cookies[0]).toBe('wf=1; Path=/');
    expect(cookies[1]).toMatch(/^plangate_anon=/);
    expect(res.headers.get('cache-control')).toBe('private');
  });

  it('a redirect with an empty body never touches upstream', async () => {
    const res = await get('/redirect');
    expect(res).toMatchObject({ status: 302, body: '', upstreamCalls: 0 });
    expect(res.headers.get('location')).toBe('/elsewhere');
  });

  it('a null body is an empty answer, and 204 carries no body', async () => {
    expect(await get('/null-body')).toMatchObject({ status: 200, body: '', upstreamCalls: 0 });
    expect(await get('/no-content')).toMatchObject({ status: 204, body: '', upstreamCalls: 0 });
  });

  it('modify form: forwarded, then status, headers and cookies applied to the upstream response', async () => {
    const res = await get('/modify');
    expect(res).toMatchObject({ status: 203, statusText: 'Shaped', body: 'from upstream', upstreamCalls: 1 });
    expect(res.headers.get('x-added')).toBe('yes');
    expect(res.headers.get('x-upstream-only')).toBeNull();
    const cookies = res.headers.getSetCookie();
    expect(cookies.slice(0, 2)).toEqual([UPSTREAM_COOKIE, 'wf=2; Path=/']);
    expect(cookies[2]).toMatch(/^plangate_anon=/);
    // Even a workflow cannot make a per-visitor response publicly cacheable.
    expect(res.headers.get('cache-control')).toBe('private, max-age=60');
  });

  it('modify form redirect: the upstream response becomes a redirect', async () => {
    const res = await get('/modify-redirect');
    expect(res).toMatchObject({ status: 307, upstreamCalls: 1 });
    expect(res.headers.get('location')).toBe('/moved');
  });

  it('an unsendable header from a workflow is skipped and logged, never injected', async () => {
    const res = await get('/bad-header');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-bad')).toBeNull();
    expect(res.headers.getSetCookie().some((c) => c.startsWith('evil'))).toBe(false);
    expect(stack.logger.events.some((e) => e.code === 'invalid-http-behavior')).toBe(true);
  });
});

describe('route denials', () => {
  it('forward-with-denial reaches upstream with the denial in the headers', async () => {
    const res = await get('/forward-denied/x');
    expect(res).toMatchObject({ status: 200, upstreamCalls: 1 });
    const seen = stack.upstream.seen.at(-1)!;
    expect(seen.headers['x-plangate-denied']).toBe('requirement');
    expect(seen.headers['x-plangate-news--locked']).toBe('false');
  });

  it('redirect: to the configured URL with the return path, never built from Host', async () => {
    const res = await get('/members/area?tab=1', { host: 'evil.example' });
    expect(res).toMatchObject({ status: 302, upstreamCalls: 0 });
    expect(res.headers.get('location')).toBe('/subscribe?next=%2Fmembers%2Farea%3Ftab%3D1');
  });
});
