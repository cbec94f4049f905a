// One JSON log line per gateway request, and no token, cookie value or secret anywhere in the log:
// requests with a JWT cookie, a Bearer token and the anonymous cookie (and decision API calls with a
// secret key) go through the real stack; the captured log text is grepped for every one of them.
import { afterEach, describe, expect, it } from 'vitest';
import { HMAC_SECRET, SECRET_API_KEY, SIGNING_SECRETS, startOpsStack, type OpsStack } from './harness.js';

let stack: OpsStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('request log', () => {
  it('writes one JSON line per request with the decision summary and never a token, cookie value or secret', async () => {
    stack = await startOpsStack('request-log');
    const base = stack.running.gateway.url;
    const cookieToken = await stack.keys.signRsa({ email: 'cookie-reader@example.com' });
    const bearerToken = await stack.keys.signHmac({ email: 'bearer-reader@example.com' });
    const badToken = `${cookieToken.slice(0, -6)}AAAAAA`;

    const first = await fetch(`${base}/articles/one`);
    await first.text();
    const anonCookie = first.headers.getSetCookie()[0].split(';')[0];
    const anonValue = anonCookie.split('=')[1];
    const sent = [
      await fetch(`${base}/articles/two`, { headers: { cookie: anonCookie } }),
      await fetch(`${base}/articles/three`, { headers: { cookie: `plangate_jwt=${cookieToken}; other=keep-me-secret-1234` } }),
      await fetch(`${base}/about`, { headers: { authorization: `Bearer ${bearerToken}` } }),
      await fetch(`${base}/about`, { headers: { cookie: `plangate_jwt=${badToken}` } }),
    ];
    for (const res of sent) expect(res.status).toBe(200);
    await Promise.all(sent.map((r) => r.text()));
    const api = await fetch(`${stack.running.api!.url}/api/v1/surface-decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ surfaceSlug: 'article', identity: { userJwt: bearerToken } }),
    });
    expect(api.status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));

    const text = stack.logText();
    const lines = stack.logLines(); // throws when a line is not JSON
    expect(lines.length).toBe(text.split('\n').filter((l) => l !== '').length);
    const requests = lines.filter((l) => l.code === 'request');
    expect(requests).toHaveLength(5);
    for (const line of requests) {
      expect(line).toMatchObject({ level: 30, method: 'GET', outcome: 'forwarded', status: 200, completed: true });
      expect(line.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(typeof line.totalMs).toBe('number');
      expect(typeof line.decisionMs).toBe('number');
      expect(typeof line.upstreamMs).toBe('number');
    }
    expect(requests.map((l) => [l.route, l.identityType, (l.plans as string[]).join()])).toEqual([
      ['/articles/*', 'anonymous', 'anonymous'],
      ['/articles/*', 'anonymous', 'anonymous'],
      ['/articles/*', 'jwt', 'registered'],
      ['/**', 'jwt', 'registered'],
      ['/**', 'anonymous', 'anonymous'],
    ]);
    expect(lines.some((l) => l.code === 'jwt-rejected')).toBe(true);
    // The upstream got signed headers, so the signing keys were in use.
    expect(stack.upstream.seen.at(-1)!.headers['x-plangate-signature']).toBeDefined();

    const secrets = {
      cookieToken,
      bearerToken,
      badToken,
      anonValue,
      otherCookie: 'keep-me-secret-1234',
      SECRET_API_KEY,
      HMAC_SECRET,
      currentSigningKey: SIGNING_SECRETS[0],
      previousSigningKey: SIGNING_SECRETS[1],
      // Any distinctive piece of a token would do as well: its signature.
      cookieSignature: cookieToken.split('.')[2],
      bearerSignature: bearerToken.split('.')[2],
    };
    for (const [name, value] of Object.entries(secrets)) expect(text.includes(value), `${name} appears in the log`).toBe(false);
  });
});
