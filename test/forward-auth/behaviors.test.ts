// What a surface workflow's `http` becomes beside a proxy: the replace form (with a body) is carried
// out by every proxy that can show it (nginx through the denial token; Caddy, Traefik and Envoy as a
// non-2xx answer); the modify form and a 2xx answer through Caddy, Traefik or Envoy cannot be, and
// are refused (500, `forward-auth-unsupported`) rather than forwarded as if allowed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startForwardAuth, type RunningForwardAuth } from '../../src/forward-auth/listener.js';
import type { Runtime } from '../../src/ops/runtime.js';
import { behaveConfig } from '../gateway/behave-config.js';
import { loadTestRuntime, recordingLogger, testKeys, type RecordingLogger } from '../gateway/harness.js';
import { call } from './harness.js';

let runtime: Runtime;
let auth: RunningForwardAuth;
let logger: RecordingLogger;

beforeAll(async () => {
  const keys = await testKeys();
  const file = behaveConfig(`  signing:\n    keys: [{ id: k1, secret: a-signing-secret-of-at-least-32-bytes-long }]\n  forwardAuth: {}\n`);
  runtime = await loadTestRuntime(file, 'forward-auth-behaviors', { PLANGATE_UPSTREAM: 'http://127.0.0.1:9', PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile });
  logger = recordingLogger();
  auth = await startForwardAuth({ model: runtime.model, engine: runtime.engine, logger, listen: { host: '127.0.0.1', port: 0 } });
});
afterAll(async () => {
  await auth?.close();
  await runtime?.close();
});

const caddy = (uri: string) =>
  call(`${auth.url}/auth/caddy`, { headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': uri, 'x-forwarded-host': 'site.example', accept: 'application/json' } });
const nginx = (uri: string) => call(`${auth.url}/auth/nginx`, { headers: { host: 'site.example', 'x-original-method': 'GET', 'x-original-uri': uri } });
const render = (token: string) => call(`${auth.url}/auth/nginx/denied`, { headers: { 'plangate-denial': token } });

describe('surfaceBehavior.http beside a proxy', () => {
  it('the replace form: Caddy gets the answer as is; nginx renders it from the token', async () => {
    const replaced = await caddy('/replace');
    expect([replaced.status, replaced.body, replaced.headers['x-replaced']]).toEqual([451, '<p>replaced</p>', '1']);
    const denied = await nginx('/replace');
    expect(denied.status).toBe(403);
    const page = await render(denied.headers['plangate-denial'] as string);
    expect([page.status, page.body, page.headers['x-replaced']]).toEqual([451, '<p>replaced</p>', '1']);
    expect(page.headers['set-cookie']).toEqual(expect.arrayContaining(['wf=1; Path=/']));
  });

  it('a 2xx answer with a body: nginx carries it, Caddy (Traefik, Envoy) would take it for "allowed", so it is refused', async () => {
    const viaNginx = await render((await nginx('/null-body')).headers['plangate-denial'] as string);
    expect([viaNginx.status, viaNginx.body]).toEqual([200, '']);
    const viaCaddy = await caddy('/null-body');
    expect(viaCaddy.status).toBe(500);
    expect(JSON.parse(viaCaddy.body).code).toBe('forward-auth-unsupported');
    expect(viaCaddy.headers['x-plangate-id']).toBeUndefined();
    expect(logger.events.some((e) => e.code === 'forward-auth-unsupported' && e.fields?.reason === 'answer-2xx')).toBe(true);
  });

  it('the modify form is refused everywhere: plangate never sees the response it would change', async () => {
    const viaCaddy = await caddy('/modify');
    expect(viaCaddy.status).toBe(500);
    expect(viaCaddy.headers['x-plangate-id']).toBeUndefined();
    const viaNginx = await nginx('/modify');
    expect(viaNginx.status).toBe(403);
    expect((await render(viaNginx.headers['plangate-denial'] as string)).status).toBe(500);
    expect(logger.events.filter((e) => e.code === 'forward-auth-unsupported' && e.fields?.reason === 'http-modify')).toHaveLength(2);
  });

  it('deny.action: forward still forwards, with the denial in the headers', async () => {
    const reply = await caddy('/forward-denied/x');
    expect(reply.status).toBe(200);
    expect(reply.headers['x-plangate-denied']).toBe('requirement');
  });
});

describe('reload', () => {
  it('a new config applies between requests; a config without forwardAuth is refused and the running one keeps serving', async () => {
    const keys = await testKeys();
    const env = { PLANGATE_UPSTREAM: 'http://127.0.0.1:9', PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile };
    const moved = await loadTestRuntime(
      behaveConfig(`  signing:\n    keys: [{ id: k1, secret: a-signing-secret-of-at-least-32-bytes-long }]\n  forwardAuth: { pathPrefix: /decide }\n`),
      'forward-auth-behaviors-2',
      env,
    );
    const standalone = await loadTestRuntime(behaveConfig(), 'forward-auth-behaviors-3', env);
    try {
      expect(() => auth.swap({ model: standalone.model, engine: standalone.engine })).toThrow(/no 'gateway.forwardAuth' section/);
      expect((await caddy('/replace')).status).toBe(451);
      auth.swap({ model: moved.model, engine: moved.engine });
      expect((await caddy('/replace')).status).toBe(404);
      const reply = await call(`${auth.url}/decide/caddy`, { headers: { 'x-forwarded-method': 'GET', 'x-forwarded-uri': '/replace', 'x-forwarded-host': 'a' } });
      expect(reply.status).toBe(451);
    } finally {
      auth.swap({ model: runtime.model, engine: runtime.engine });
      await moved.close();
      await standalone.close();
    }
  });
});

describe('the request summary', () => {
  it('names the original request (method, path without query, route) and the outcome and status the proxy got', async () => {
    const summaries: import('../../src/gateway/observer.js').RequestSummary[] = [];
    const observed = await startForwardAuth({
      model: runtime.model,
      engine: runtime.engine,
      logger,
      observer: { requestDone: (s) => summaries.push(s) },
      listen: { host: '127.0.0.1', port: 0 },
    });
    try {
      await call(`${observed.url}/auth/caddy`, { headers: { 'x-forwarded-method': 'POST', 'x-forwarded-uri': '/replace?token=secret', 'x-forwarded-host': 'a' } });
      await call(`${observed.url}/auth/nginx`, { headers: { host: 'a', 'x-original-method': 'GET', 'x-original-uri': '/members/x' } });
      await new Promise((r) => setTimeout(r, 50));
      expect(summaries.map((s) => [s.method, s.path, s.route, s.outcome, s.status])).toEqual([
        ['POST', '/replace', '/**', 'answered', 451],
        ['GET', '/members/x', '/members/**', 'denied', 403],
      ]);
    } finally {
      await observed.close();
    }
  });
});

describe('configurable original-request headers (nginx)', () => {
  it('reads the method and target from the configured names only (ingress-nginx sends X-Auth-Request-Redirect)', async () => {
    const keys = await testKeys();
    const custom = await loadTestRuntime(
      behaveConfig(
        `  signing:\n    keys: [{ id: k1, secret: a-signing-secret-of-at-least-32-bytes-long }]\n  forwardAuth: { originalMethodHeader: x-method-was, originalUriHeader: x-auth-request-redirect }\n`,
      ),
      'forward-auth-behaviors-4',
      { PLANGATE_UPSTREAM: 'http://127.0.0.1:9', PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile },
    );
    const listener = await startForwardAuth({ model: custom.model, engine: custom.engine, logger, listen: { host: '127.0.0.1', port: 0 } });
    try {
      const ok = await call(`${listener.url}/auth/nginx`, { headers: { host: 'a', 'x-method-was': 'GET', 'x-auth-request-redirect': '/members/x' } });
      expect(ok.status).toBe(403); // the redirect denial, as a token
      const page = await call(`${listener.url}/auth/nginx/denied`, { headers: { 'plangate-denial': ok.headers['plangate-denial'] as string } });
      expect(page.headers.location).toBe('/subscribe?next=%2Fmembers%2Fx');
      const defaults = await call(`${listener.url}/auth/nginx`, { headers: { host: 'a', 'x-original-method': 'GET', 'x-original-uri': '/x', accept: 'application/json' } });
      expect(defaults.status).toBe(400);
      expect(JSON.parse(defaults.body).message).toMatch(/missing x-method-was/);
    } finally {
      await listener.close();
      await custom.close();
    }
  });
});
