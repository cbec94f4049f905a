// The admin endpoints on the API mounted on the gateway port: absent (404, whatever the key) unless
// `api.adminOnGatewayMount: true`; the decision endpoints answer there either way.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGateway, type RunningServers } from '../../src/cli/run-gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { testKeyPair } from '../support/keys.js';
import { ADMIN_CONFIG, ADMIN_KEY, PLAIN_SECRET_KEY, storeEnv } from './harness.js';

/** The admin fixture with the API mounted on the gateway port. */
function mountedConfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'plangate-mount-')), 'plangate.yaml');
  writeFileSync(file, readFileSync(ADMIN_CONFIG, 'utf8').replace('  api: { host: 127.0.0.1, port: 0 }', '  api: { host: 127.0.0.1, port: 0, mountPath: /plangate-api }'));
  return file;
}

describe.each([
  { enabled: false, adminStatus: 404 },
  { enabled: true, adminStatus: 200 },
])('the gateway mount with adminOnGatewayMount $enabled', ({ enabled, adminStatus }) => {
  let running: RunningServers;
  beforeAll(async () => {
    const keys = await testKeyPair();
    const env = { ...process.env, PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile, PLANGATE_ADMIN_ON_MOUNT: String(enabled), ...storeEnv('memory', 'mount') };
    const model = await loadConfig(mountedConfig(), { env });
    running = await runGateway({ model, env, logger: createLogger({ level: 'silent' }), listen: { port: 0 }, ops: { port: 0 }, watch: false });
  });
  afterAll(() => running?.close());

  const call = (path: string, key: string, body?: unknown) =>
    fetch(`${running.gateway.url}/plangate-api${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it(`admin endpoints answer ${adminStatus} to the admin key; a plain key never gets in`, async () => {
    expect(running.api).toBeUndefined();
    const user = `mount-${randomUUID()}`;
    const grant = await call('/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: user }, plan: 'premium' });
    expect(grant.status).toBe(adminStatus);
    const list = await call(`/api/v1/admin/grants/list?userIdentifier=${user}`, ADMIN_KEY);
    expect(list.status).toBe(adminStatus);
    if (!enabled) expect(((await list.json()) as { code: string }).code).toBe('not-found');
    const plain = await call('/api/v1/admin/forget', PLAIN_SECRET_KEY, { identity: { userIdentifier: user } });
    expect(plain.status).toBe(enabled ? 403 : 404);
    const decision = await call('/api/v1/surface-decisions', PLAIN_SECRET_KEY, { surfaceSlug: 'premium', identity: { userIdentifier: user } });
    expect(decision.status).toBe(200);
    expect(((await decision.json()) as any).features.premium.properties.enabled.hasAccess).toBe(enabled);
  });
});
