// The ops port's /healthz and /readyz through the real listener: the store counts only when the
// failure policy is closed (fail-open answers 200 with `degraded`), and JWK Sets must be loaded.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startOpsStack, type OpsStack } from './harness.js';

/** A local port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let stack: OpsStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

describe('/healthz and /readyz', () => {
  it('answer 200 when the process is up, the store answers and the keys are loaded', async () => {
    stack = await startOpsStack('health-ok');
    expect(await get(`${stack.running.ops.url}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await get(`${stack.running.ops.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', ready: true, checks: { config: 'ok', jwks: 'ok', store: 'ok', failurePolicy: 'open' }, reasons: [] });
    expect(ready.body.degraded).toBeUndefined();
  });

  it('fail-open with the store unreachable: 200 with degraded: true', async () => {
    stack = await startOpsStack('health-open', { redisUrl: `redis://127.0.0.1:${await deadPort()}` });
    expect((await get(`${stack.running.ops.url}/healthz`)).status).toBe(200);
    const ready = await get(`${stack.running.ops.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, degraded: true, checks: { store: 'unreachable', failurePolicy: 'open' } });
    expect(ready.body.reasons.join()).toMatch(/meter store unreachable/);
  });

  it('fail-closed with the store unreachable: 503 with the reason', async () => {
    stack = await startOpsStack('health-closed', { failurePolicy: 'closed', redisUrl: `redis://127.0.0.1:${await deadPort()}` });
    expect((await get(`${stack.running.ops.url}/healthz`)).status).toBe(200);
    const ready = await get(`${stack.running.ops.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not-ready', ready: false, checks: { store: 'unreachable', failurePolicy: 'closed' } });
    expect(ready.body.reasons).toContain('meter store unreachable and store.failurePolicy is closed');
  });

  it('a JWK Set that could not be fetched: 503 naming the integration', async () => {
    const port = await deadPort();
    const extraIntegration = `    - name: Remote
      algorithms: [RS256]
      jwksUrl: http://127.0.0.1:${port}/jwks.json
      claimKey: email`;
    stack = await startOpsStack('health-jwks', { extraIntegration });
    const ready = await get(`${stack.running.ops.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ jwks: ['Remote'], store: 'ok' });
    expect(ready.body.reasons.join('\n')).toMatch(/JWK Set of integration 'Remote' not loaded yet/);
  });

  it('unknown ops paths answer a JSON 404', async () => {
    stack = await startOpsStack('health-404');
    const res = await get(`${stack.running.ops.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.body.message).toMatch(/\/healthz, \/readyz and \/metrics/);
  });
});
