// What forward-auth mode refuses at load (src/config/forward-auth-rules.ts): `validate`, start-up and
// reload share the loader, so each refusal below is also what `plangate validate` prints.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { gatewayChanges } from '../../src/gateway/reloadable.js';
import { TEST_ANONYMOUS_ID_KEY } from '../support/anonymous-ids.js';
import { writeConfig } from '../gateway/harness.js';

const base = (gatewayExtra: string, surfaces = 'site: {}') => `version: 1
features:
  news: {}
plans:
  anyone: { assign: anonymous, features: { news: { enabled: on } } }
surfaces:
  ${surfaces}
gateway:
  upstream: http://127.0.0.1:9
  routes:
    - path: /**
      surface: site
${gatewayExtra}`;

const SIGNING = `  signing:
    keys: [{ id: k1, secret: a-signing-secret-of-at-least-32-bytes-long }]
`;

async function problems(yaml: string, files: Record<string, string> = {}): Promise<string[]> {
  try {
    await loadConfig(writeConfig(yaml, files), { devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY });
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('forward-auth mode at load', () => {
  it('loads with signing and the defaults filled in', async () => {
    const model = await loadConfig(writeConfig(base(`${SIGNING}  forwardAuth: {}\n`)), { devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY });
    expect(model.gateway?.forwardAuth).toMatchObject({
      pathPrefix: '/auth',
      proxies: ['loopback'],
      originalMethodHeader: 'x-original-method',
      originalUriHeader: 'x-original-uri',
    });
    expect(model.gateway?.forwardAuth?.denialKeys[0].id).toBe('k1');
  });

  it('signs by default: without gateway.signing it is refused unless unsignedHeaders says the proxy strips them', async () => {
    expect((await problems(base('  forwardAuth: {}\n'))).join('\n')).toMatch(/gateway\.forwardAuth: forward-auth mode signs the headers/);
    expect(await problems(base('  forwardAuth: { unsignedHeaders: true }\n'))).toEqual([]);
  });

  it('refuses routes whose surface has components, forwardCredentials: false and unknown proxy addresses', async () => {
    const yaml = base(
      `  forwardCredentials: false\n${SIGNING}  forwardAuth: { proxies: [10.0.0.0/8, not-an-address] }\n`,
      `site:\n    components:\n      banner: { selector: "#banner" }`,
    );
    const found = (await problems(yaml)).join('\n');
    expect(found).toMatch(/gateway\.routes\[0\]\.surface: surface 'site' has components \(banner\)/);
    expect(found).toMatch(/gateway\.forwardCredentials: in forward-auth mode/);
    expect(found).toMatch(/gateway\.forwardAuth\.proxies\[1\]: 'not-an-address' is not an address/);
    expect(found).not.toMatch(/proxies\[0\]/);
  });

  it('refuses soft denials: the page would have to be cut on the way back', async () => {
    const yaml = base(`${SIGNING}  forwardAuth: {}\n`).replace('      surface: site\n', '      surface: site\n      deny: { action: paywall, mode: soft }\n');
    expect((await problems(yaml)).join('\n')).toMatch(/gateway\.routes\[0\]\.deny\.mode: a soft denial forwards the page/);
  });

  it('the same components are fine for the standalone gateway', async () => {
    expect(await problems(base('', `site:\n    components:\n      banner: { selector: "#banner" }`))).toEqual([]);
  });

  it('a reload cannot switch between the standalone gateway and forward-auth', async () => {
    const standalone = await loadConfig(writeConfig(base('')), { devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY });
    const beside = await loadConfig(writeConfig(base(`${SIGNING}  forwardAuth: {}\n`)), { devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY });
    expect(gatewayChanges(standalone.gateway, beside.gateway).join()).toMatch(/gateway\.forwardAuth changed/);
  });
});
