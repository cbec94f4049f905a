// The decision API mounted on the gateway port (the real createApiApp): requests under the mount
// path reach the app with the prefix removed and never reach the upstream; anything else, including
// a path that only starts with the same letters, goes through the pipeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../src/api/app.js';
import { startGateway, type RunningGateway } from '../../src/gateway/listener.js';
import type { RequestSummary } from '../../src/gateway/observer.js';
import { createLogger } from '../../src/ops/logger.js';
import { behaveConfig } from './behave-config.js';
import { startStack, type Stack } from './harness.js';

const KEY = 'sk_gateway_mount_test';
let stack: Stack;
let gateway: RunningGateway;
const summaries: RequestSummary[] = [];

beforeAll(async () => {
  stack = await startStack(behaveConfig('', `apiKeys:\n  - { key: ${KEY} }\n`, 5_000), 'gw-api-mount');
  const app = createApiApp({ engine: () => stack.runtime.engine, events: stack.runtime.events });
  gateway = await startGateway({
    model: stack.runtime.model,
    engine: stack.runtime.engine,
    logger: stack.logger,
    observer: { requestDone: (s) => summaries.push(s) },
    api: { mountPath: '/plangate-api/', handler: app },
    listen: { host: '127.0.0.1', port: 0 },
  });
});
afterAll(async () => {
  await gateway?.close();
  await stack?.close();
});

const decide = (path: string) =>
  fetch(gateway.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ surfaceSlug: 'behave', identity: { createAnonymousIdentifier: true } }),
  });

describe('the decision API under a prefix on the gateway port', () => {
  it('/prefix/api/v1/surface-decisions reaches the app, not the upstream', async () => {
    const before = stack.upstream.seen.length;
    const res = await decide('/plangate-api/api/v1/surface-decisions');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'success', identity: { authType: 'anonymous' } });
    expect(stack.upstream.seen.length).toBe(before);
    expect(summaries.at(-1)).toMatchObject({ route: '/plangate-api/**', outcome: 'answered', status: 200, method: 'POST' });
  });

  it("the app's own errors come back in its JSON shape (404 under the prefix, 401 without a key)", async () => {
    const unknown = await fetch(`${gateway.url}/plangate-api/api/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ status: 'error', statusCode: 404, message: 'no such endpoint: GET /api/v1/nothing' });
    const bare = await fetch(`${gateway.url}/plangate-api?x=1`);
    expect(bare.status).toBe(404);
    const noKey = await fetch(`${gateway.url}/plangate-api/api/v1/surface-decisions`, { method: 'POST', body: '{}' });
    expect(noKey.status).toBe(401);
  });

  it('the match is on a segment boundary: /plangate-apix and /x/plangate-api go through the pipeline', async () => {
    for (const path of ['/plangate-apix/api/v1/surface-decisions', '/x/plangate-api/api/v1/surface-decisions']) {
      const res = await decide(path);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ target: path }); // the upstream's echo
    }
  });

  it('a mount path of / is refused: it would hide the site', async () => {
    await expect(
      startGateway({ model: stack.runtime.model, engine: stack.runtime.engine, api: { mountPath: '/', handler: () => {} }, listen: { port: 0 } }),
    ).rejects.toThrow(/mounting at \/ would hide the whole site/);
  });
});
