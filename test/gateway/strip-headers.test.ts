import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { compileTrust } from '../../src/gateway/client-ip.js';
import { setForwardedHeaders, stripClientHeaders } from '../../src/gateway/strip-headers.js';

/** Node's merged view of raw headers, close enough for these cases (last wins is irrelevant here). */
function merged(raw: string[]): IncomingHttpHeaders {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    headers[name] = headers[name] === undefined ? raw[i + 1] : `${headers[name]}, ${raw[i + 1]}`;
  }
  return headers;
}

function strip(raw: string[]): IncomingHttpHeaders {
  return stripClientHeaders({ rawHeaders: raw, headers: merged(raw), prefix: 'x-plangate-' });
}

describe('stripClientHeaders', () => {
  const removed: [label: string, raw: string[], gone: string][] = [
    ['prefixed', ['X-Plangate-Id', 'evil'], 'x-plangate-id'],
    ['prefixed, any case', ['x-PLANGATE-plans', 'premium'], 'x-plangate-plans'],
    ['prefixed, underscores', ['X_Plangate_Id', 'evil'], 'x_plangate_id'],
    ['prefixed, mixed', ['x-plangate_authenticated', 'true'], 'x-plangate_authenticated'],
    ['prefixed, empty value', ['X-Plangate-Degraded', ''], 'x-plangate-degraded'],
    ['prefixed, duplicated', ['X-Plangate-Id', 'a', 'x-plangate-id', 'b'], 'x-plangate-id'],
    ['hop-by-hop', ['Keep-Alive', 'timeout=5'], 'keep-alive'],
    ['transfer-encoding', ['Transfer-Encoding', 'chunked'], 'transfer-encoding'],
    ['upgrade', ['Upgrade', 'websocket'], 'upgrade'],
    ['proxy-authorization', ['Proxy-Authorization', 'Basic x'], 'proxy-authorization'],
    ['x-original-url', ['X-Original-URL', '/premium/x'], 'x-original-url'],
    ['x-rewrite-url', ['X-Rewrite-Url', '/premium/x'], 'x-rewrite-url'],
    ['named in Connection', ['Connection', 'close, X-Custom', 'X-Custom', '1'], 'x-custom'],
    ['named in Connection with _', ['Connection', 'x_custom', 'X-Custom', '1'], 'x-custom'],
    ['connection itself', ['Connection', 'keep-alive'], 'connection'],
    // Even from a trusted proxy (strip() does not drop forwarding headers): the gateway sets the dash spellings.
    ['X_Forwarded_For', ['X_Forwarded_For', '203.0.113.9'], 'x_forwarded_for'],
    ['x_real_ip', ['x_real_ip', '203.0.113.9'], 'x_real_ip'],
    ['X-Forwarded_Host', ['X-Forwarded_Host', 'evil.example'], 'x-forwarded_host'],
  ];
  it.each(removed)('removes %s', (_label, raw, gone) => {
    const out = strip([...raw, 'Accept', 'text/html']);
    expect(out).not.toHaveProperty(gone);
    expect(out.accept).toBe('text/html');
  });

  it('never lets Connection remove Host', () => {
    expect(strip(['Host', 'site.example', 'Connection', 'host']).host).toBe('site.example');
  });

  it('does not modify its input', () => {
    const raw = ['X-Plangate-Id', 'evil'];
    const headers = merged(raw);
    stripClientHeaders({ rawHeaders: raw, headers, prefix: 'x-plangate-' });
    expect(headers['x-plangate-id']).toBe('evil');
  });
});

describe('setForwardedHeaders', () => {
  const original: IncomingHttpHeaders = {
    host: 'site.example',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.example',
    forwarded: 'for=1.2.3.4',
    'x-real-ip': '1.2.3.4',
  };
  it('replaces client claims with its own view when no proxy is trusted', () => {
    const out: IncomingHttpHeaders = { ...original };
    setForwardedHeaders(out, original, { peerAddress: '198.51.100.7', encrypted: false, trusted: compileTrust(false)('198.51.100.7', 0) });
    expect(out).toMatchObject({ 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'site.example' });
    expect(out).not.toHaveProperty('forwarded');
    expect(out).not.toHaveProperty('x-real-ip');
  });
  it('appends to the chain of a trusted proxy', () => {
    for (const trustProxy of [true, 1]) {
      const out: IncomingHttpHeaders = { ...original };
      setForwardedHeaders(out, original, { peerAddress: '10.0.0.2', encrypted: false, trusted: compileTrust(trustProxy)('10.0.0.2', 0) });
      expect(out).toMatchObject({ 'x-forwarded-for': '203.0.113.9, 10.0.0.2', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' });
    }
  });
  it('uses its own view when a trusted proxy sent none', () => {
    const out: IncomingHttpHeaders = { host: 'site.example' };
    setForwardedHeaders(out, { host: 'site.example' }, { peerAddress: '10.0.0.2', encrypted: true, trusted: compileTrust(true)('10.0.0.2', 0) });
    expect(out).toMatchObject({ 'x-forwarded-for': '10.0.0.2', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'site.example' });
  });
});
