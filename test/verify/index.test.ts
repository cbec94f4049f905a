// The verification helper on its own: the canonical string and MAC pinned to the worked example in
// docs/upstream.md (also computed by the Python recipe there), and its answers to malformed input.
import express from 'express';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import { canonicalString, signatureMac, formatSignature } from '../../src/verify/canonical.js';
import { plangateVerifier, verifyPlangateHeaders, type PlangateRequest, type VerifyInput } from '../../src/verify/index.js';
import { closeServer, listen } from '../gateway/harness.js';

// The worked example of docs/upstream.md.
const SECRET = 'example-secret-of-at-least-32-bytes!!';
const REQUEST_ID = '0b6f2c36-5c1e-4d55-9a0e-2f1a7c3e9b10';
const HEADERS: [string, string][] = [
  ['x-plangate-articles--enabled', 'access=1; remaining=2; limit=3'],
  ['x-plangate-auth-type', 'anonymous'],
  ['x-plangate-authenticated', 'false'],
  ['x-plangate-degraded', 'false'],
  ['x-plangate-id', '7d3c9a52-8a4e-4b7f-9c61-2e5d8f0a1b23'],
  ['x-plangate-plans', 'anonymous'],
  ['x-plangate-request-id', REQUEST_ID],
  ['x-plangate-surface-properties', 'e30'],
];
const PARTS = { timestamp: 1764291600, method: 'GET', host: 'news.example', target: '/articles/caf%C3%A9?ref=home', requestId: REQUEST_ID, headers: HEADERS };
const MAC = '-6M6mHyJOslg5siCeni4PnoaiLpNVAryMR6wz3rqpHQ'; // also what the Python recipe computes

function example(): VerifyInput {
  const signature = formatSignature({ timestamp: PARTS.timestamp, keyId: 'k1', names: HEADERS.map(([n]) => n), mac: MAC });
  return {
    method: 'GET',
    target: PARTS.target,
    host: 'news.example',
    headers: { ...Object.fromEntries(HEADERS), 'x-plangate-signature': signature, accept: '*/*' },
  };
}
const options = { keys: [{ id: 'k1', secret: SECRET }], now: () => PARTS.timestamp * 1000 + 5000 };

describe('canonical string and MAC', () => {
  it('matches the documented example byte for byte', () => {
    expect(canonicalString(PARTS)).toBe(
      'plangate-v1\n1764291600\nGET\nnews.example\n/articles/caf%C3%A9?ref=home\n0b6f2c36-5c1e-4d55-9a0e-2f1a7c3e9b10\n' +
        HEADERS.map(([n, v]) => `${n}:${v}`).join('\n'),
    );
    expect(signatureMac(Buffer.from(SECRET), PARTS)).toBe(MAC);
  });

  it('the example verifies and decodes the decision fields', () => {
    expect(verifyPlangateHeaders(example(), options)).toEqual({
      ok: true,
      requestId: REQUEST_ID,
      keyId: 'k1',
      timestamp: PARTS.timestamp,
      headers: Object.fromEntries(HEADERS),
      identity: { id: '7d3c9a52-8a4e-4b7f-9c61-2e5d8f0a1b23', authType: 'anonymous', authenticated: false },
      plans: ['anonymous'],
      degraded: false,
      dryRun: false,
    });
  });
});

describe('malformed and hostile input', () => {
  const withSignature = (value: string | string[]) => ({ ...example(), headers: { ...example().headers, 'x-plangate-signature': value } });
  it.each([
    ['not the four fields', 't=1, kid=k1, s=abc', 'malformed-signature'],
    ['a duplicated field', `t=1, t=2, kid=k1, h=x-plangate-id, s=${MAC}`, 'malformed-signature'],
    ['a short MAC', 't=1764291600, kid=k1, h=x-plangate-id, s=abc', 'malformed-signature'],
    ['a non-numeric timestamp', `t=soon, kid=k1, h=x-plangate-id, s=${MAC}`, 'malformed-signature'],
  ])('%s → %s', (_what, value, reason) => {
    expect(verifyPlangateHeaders(withSignature(value), options)).toEqual({ ok: false, reason });
  });

  it('a duplicated signature or prefixed header is refused', () => {
    expect(verifyPlangateHeaders(withSignature([example().headers['x-plangate-signature'] as string, 'x']), options)).toEqual({
      ok: false,
      reason: 'duplicate-header',
    });
    const input = example();
    expect(verifyPlangateHeaders({ ...input, headers: { ...input.headers, 'x-plangate-plans': ['anonymous', 'premium'] } }, options)).toEqual({
      ok: false,
      reason: 'duplicate-header',
    });
  });

  it('an underscore spelling of a prefixed header (x_plangate_plans) is refused: CGI-style servers read it as the dash one', () => {
    const input = example();
    for (const name of ['x_plangate_plans', 'x_plangate-id', 'x-plangate_tier'])
      expect(verifyPlangateHeaders({ ...input, headers: { ...input.headers, [name]: 'premium' } }, options), name).toEqual({
        ok: false,
        reason: 'header-set-mismatch',
      });
    expect(verifyPlangateHeaders({ ...input, headers: { ...input.headers, x_other: 'fine' } }, options).ok).toBe(true);
  });

  it('a signature from the future beyond the window is refused', () => {
    expect(verifyPlangateHeaders(example(), { ...options, now: () => (PARTS.timestamp - 31) * 1000 })).toEqual({ ok: false, reason: 'from-the-future' });
  });

  it('unusable options throw with what to fix', () => {
    expect(() => verifyPlangateHeaders(example(), { keys: [] })).toThrow(/keys is empty/);
    expect(() => verifyPlangateHeaders(example(), { keys: [{ id: 'k1', secret: 'short' }] })).toThrow(/'k1' is 5 bytes; signing secrets are at least 32 bytes/);
  });
});

describe('plangateVerifier on a plain node server', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    const verify = plangateVerifier({ ...options, maxAgeSeconds: 10 ** 9 });
    server = createServer((req, res) => verify(req, res, () => res.end(JSON.stringify((req as PlangateRequest).plangate?.plans))));
    url = await listen(server);
  });
  afterAll(() => closeServer(server));

  it('passes the genuine request and 401s a forged one', async () => {
    const { headers } = example();
    // node:http rather than fetch: fetch may not set Host.
    const send = (h: Record<string, unknown>) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        const { hostname, port } = new URL(url);
        request({ host: hostname, port, path: PARTS.target, headers: { ...(h as Record<string, string>), host: 'news.example' } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
        })
          .on('error', reject)
          .end();
      });
    const ok = await send(headers);
    expect(ok).toEqual({ status: 200, body: ['anonymous'] });
    const forged = await send({ ...headers, 'x-plangate-plans': 'premium' });
    expect(forged).toMatchObject({ status: 401, body: { reason: 'bad-signature' } });
  });
});

describe('plangateVerifier in express', () => {
  it('mounts with app.use and exposes req.plangate to later handlers', async () => {
    const app = express();
    app.use(plangateVerifier({ ...options, maxAgeSeconds: 10 ** 9 }));
    app.get('/articles/:slug', (req, res) => {
      res.json({ id: (req as PlangateRequest).plangate?.identity?.id, url: req.originalUrl });
    });
    const { headers } = example();
    const ok = await supertest(app)
      .get(PARTS.target)
      .set(headers as Record<string, string>)
      .set('host', 'news.example');
    expect([ok.status, ok.body]).toEqual([200, { id: '7d3c9a52-8a4e-4b7f-9c61-2e5d8f0a1b23', url: PARTS.target }]);
    const replayed = await supertest(app)
      .get('/articles/other')
      .set(headers as Record<string, string>)
      .set('host', 'news.example');
    expect(replayed.status).toBe(401);
  });
});
