// Acceptance: what the upstream receives. Client-sent prefix headers never get through (any case,
// `_` for `-`, duplicated, empty, named in Connection), rewrite headers change nothing, and hostile
// claims and properties are encoded, never injected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaveConfig } from './behave-config.js';
import { rawRequest, startStack, type SeenRequest, type Stack } from './harness.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(behaveConfig(), 'gw-headers');
});
afterAll(() => stack?.close());

async function raw(target: string, lines: string[]): Promise<{ status: number; seen: SeenRequest }> {
  const before = stack.upstream.seen.length;
  const res = await rawRequest(stack.gateway.url, target, lines);
  expect(stack.upstream.seen.length).toBe(before + 1);
  return { status: res.status, seen: stack.upstream.seen[before] };
}

/** Every header name the upstream received, as sent on the wire, with its values. */
function rawPairs(seen: SeenRequest): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) out.push([seen.rawHeaders[i], seen.rawHeaders[i + 1]]);
  return out;
}

describe('spoofing', () => {
  it('client prefix headers in any case, with _, duplicated or empty never reach upstream', async () => {
    const { status, seen } = await raw('/spoof', [
      'X-Plangate-Plans: premium',
      'x-plangate-id: spoofed',
      'x-plangate-id: spoofed-again',
      'X_PLANGATE_AUTHENTICATED: true',
      'x-plangate_auth-type: jwt',
      'X-PLANGATE-DEGRADED:',
      'x-plangate-news--locked: true',
      'X-Plangate-Surface-Properties: e30',
      'x-plangate-extra: 1',
    ]);
    expect(status).toBe(200);
    const pairs = rawPairs(seen);
    const prefixed = pairs.filter(([name]) => name.toLowerCase().replaceAll('_', '-').startsWith('x-plangate-'));
    // Only the gateway's own, each once, all lowercase-hyphenated.
    const names = prefixed.map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => n === n.toLowerCase() && !n.includes('_'))).toBe(true);
    expect(names).not.toContain('x-plangate-extra');
    expect(seen.headers).toMatchObject({
      'x-plangate-plans': 'anyone',
      'x-plangate-authenticated': 'false',
      'x-plangate-auth-type': 'anonymous',
      'x-plangate-degraded': 'false',
      'x-plangate-news--locked': 'false',
    });
    expect(seen.headers['x-plangate-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('a header named in Connection cannot remove an injected one', async () => {
    const { seen } = await raw('/conn', ['Connection: keep-alive, x-plangate-id, X-Plangate-Plans, x-forwarded-for', 'X-Custom: 1']);
    expect(seen.headers['x-plangate-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers['x-plangate-plans']).toBe('anyone');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('X-Original-URL and X-Rewrite-URL change nothing', async () => {
    const { seen } = await raw('/plain', ['X-Original-URL: /forward-denied/x', 'X-Rewrite-URL: /members/x']);
    expect(seen.target).toBe('/plain');
    expect(seen.headers).not.toHaveProperty('x-original-url');
    expect(seen.headers).not.toHaveProperty('x-rewrite-url');
    expect(seen.headers).not.toHaveProperty('x-plangate-denied');
  });

  it('X-Forwarded-* from an untrusted client are replaced by the gateway view', async () => {
    const { seen } = await raw('/xff', [
      'X-Forwarded-For: 203.0.113.9',
      'X-Forwarded-Proto: https',
      'X-Forwarded-Host: evil.example',
      'Forwarded: for=1.2.3.4',
    ]);
    expect(seen.headers).toMatchObject({ 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': '127.0.0.1' });
    expect(seen.headers).not.toHaveProperty('forwarded');
  });

  it('underscore spellings of X-Forwarded-* and X-Real-IP never reach the upstream', async () => {
    const { seen } = await raw('/xff-underscore', [
      'X_Forwarded_For: 203.0.113.9',
      'x_real_ip: 203.0.113.9',
      'X_FORWARDED_HOST: evil.example',
      'x_Forwarded_Proto: https',
      'X_Forwarded_Port: 443',
      'X-Forwarded_For: 203.0.113.10',
    ]);
    // CGI-style upstreams read `_` as `-`: the only forwarding headers left are the gateway's own.
    const forwarding = rawPairs(seen).filter(([name]) => /^x.(forwarded.|real.ip)/i.test(name));
    expect(forwarding).toEqual([
      ['x-forwarded-for', '127.0.0.1'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', '127.0.0.1'],
    ]);
  });
});

describe('header value encoding', () => {
  const ascii = /^[\x20-\x7e]*$/;
  function everyInjectedIsAscii(seen: SeenRequest): void {
    for (const [name, value] of rawPairs(seen)) if (name.startsWith('x-plangate-')) expect(value).toMatch(ascii);
  }

  it('claims with CR/LF and non-ASCII are percent-encoded', async () => {
    const token = await stack.keys.sign({ sub: 'evil\r\nX-Injected: 1 ü', note: 'zwölf\r\n' });
    const { status, seen } = await raw('/claims', [`Authorization: Bearer ${token}`]);
    expect(status).toBe(200);
    expect(seen.headers['x-plangate-id']).toBe(encodeURIComponent('evil\r\nX-Injected: 1 ü'));
    expect(seen.headers).not.toHaveProperty('x-injected');
    const decision = JSON.parse(Buffer.from(seen.headers['x-plangate-decision'] as string, 'base64url').toString());
    expect(decision.identity.jwtClaims.note).toBe('zwölf\r\n');
    everyInjectedIsAscii(seen);
  });

  it('properties with CR/LF and non-ASCII are encoded, fallbacks too', async () => {
    const { seen } = await raw('/hostile', []);
    expect(seen.headers['x-plangate-news--motto']).toBe(encodeURIComponent('Grüße\r\nSet-Cookie: evil=1'));
    expect(JSON.parse(Buffer.from(seen.headers['x-plangate-surface-properties'] as string, 'base64url').toString())).toEqual({
      'line\r\nbreak': 'välue\r\nX-Evil: 1',
      emoji: '\u{1F600}',
    });
    expect(seen.headers).not.toHaveProperty('x-evil');
    everyInjectedIsAscii(seen);
  });

  it('a decision over 8 KB is left out with a warning', async () => {
    const { status, seen } = await raw('/huge', []);
    expect(status).toBe(200);
    expect(seen.headers).not.toHaveProperty('x-plangate-decision');
    expect(seen.headers['x-plangate-surface-properties']).toBeDefined();
    expect(stack.logger.events.some((e) => e.code === 'decision-header-too-large' && e.level === 'warn')).toBe(true);
  });
});
