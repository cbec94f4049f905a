// `plangate proxy-config`: what each generated config promises, read back from its output. nginx and
// Caddy outputs also run for real in test/e2e/forward-auth-*.test.ts; Traefik's and Envoy's are
// parsed here (neither is packaged on this machine), their endpoint contracts replayed in contracts.test.ts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { configInput, proxyConfig } from '../../src/forward-auth/proxy-config/index.js';
import { headerSet, titleCase } from '../../src/forward-auth/proxy-config/input.js';
import { TEST_ANONYMOUS_ID_KEY } from '../support/anonymous-ids.js';
import { testKeys } from '../gateway/harness.js';
import { FORWARD_AUTH_CONFIG } from './harness.js';

const run = promisify(execFile);

async function input() {
  const keys = await testKeys();
  const model = await loadConfig(FORWARD_AUTH_CONFIG, {
    env: { ...process.env, PLANGATE_UPSTREAM: 'http://10.1.2.3:3001', PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile },
    devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY,
  });
  return { keys, input: configInput(model, { listen: { host: '0.0.0.0', port: 8000 }, decisions: { host: '10.0.0.5', port: 8081 } }) };
}

describe('proxy-config', () => {
  it('nginx: every injected name is copied (or cleared) by name, and the denial location renders without deciding', async () => {
    const { input: i } = await input();
    const text = proxyConfig('nginx', i);
    for (const name of headerSet(i).upstream) expect(text).toContain(`proxy_set_header ${name} $pg_${name.replaceAll('-', '_')};`);
    expect(text).toContain('proxy_pass http://plangate_decisions/auth/nginx;');
    expect(text).toContain('rewrite ^ /auth/nginx/denied? break;');
    expect(text).toContain('server 10.0.0.5:8081;');
    expect(text).toContain('server 10.1.2.3:3001;');
    expect(text).toMatch(/underscores_in_headers off;/);
    expect(text).toMatch(/add_header Set-Cookie \$plangate_set_cookie always;/);
  });

  it('traefik: the regex takes every injected name, dash or underscore, and nothing else; the cookie goes to the client', async () => {
    const { input: i } = await input();
    const config = parse(proxyConfig('traefik', i)) as any;
    const auth = config.http.middlewares['plangate-decide'].forwardAuth;
    expect(auth.address).toBe('http://10.0.0.5:8081/auth/traefik');
    expect(auth.trustForwardHeader).toBe(false);
    expect(auth.addAuthCookiesToResponse).toEqual(['plangate_anon']);
    // Go's regexp syntax for these features is the same as JavaScript's.
    const regex = new RegExp(auth.authResponseHeadersRegex.replace('(?i)', ''), 'i');
    for (const name of headerSet(i).upstream) {
      expect(regex.test(titleCase(name)), name).toBe(true);
      expect(regex.test(titleCase(name).replaceAll('-', '_')), name).toBe(true);
    }
    for (const other of ['Cookie', 'X-Plangatex', 'Plangate-Private', 'Set-Cookie']) expect(regex.test(other), other).toBe(false);
    expect(config.http.middlewares['plangate-private'].headers.customResponseHeaders['CDN-Cache-Control']).toBe('');
    expect(config.http.services.site.loadBalancer.servers).toEqual([{ url: 'http://10.1.2.3:3001' }]);
  });

  it('envoy: the prefix, the headers plangate reads, its answers upstream and to the client, 200 only', async () => {
    const { input: i } = await input();
    const config = parse(proxyConfig('envoy', i)) as any;
    const manager = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect(manager.merge_slashes).toBe(true);
    expect(manager.path_with_escaped_slashes_action).toBe('REJECT_REQUEST');
    const [lua, authz, router] = manager.http_filters;
    expect([lua.name, authz.name, router.name]).toEqual(['envoy.filters.http.lua', 'envoy.filters.http.ext_authz', 'envoy.filters.http.router']);
    const service = authz.typed_config.http_service;
    expect(service.path_prefix).toBe('/auth/envoy');
    expect(service.authorization_request.allowed_headers.patterns.map((p: { exact: string }) => p.exact)).toEqual(
      expect.arrayContaining(['cookie', 'accept', 'sec-purpose', 'x-forwarded-for', 'x-forwarded-proto', 'origin']),
    );
    expect(service.authorization_response.allowed_upstream_headers.patterns).toEqual([{ prefix: 'x-plangate-' }]);
    expect(lua.typed_config.default_source_code.inline_string).toContain('local PREFIX = "x-plangate-"');
    expect(authz.typed_config.failure_mode_allow).toBe(false);
  });

  it('caddy: client-sent prefixed headers removed in both spellings, each injected one copied only when plangate sent it', async () => {
    const { input: i } = await input();
    const text = proxyConfig('caddy', i);
    expect(text).toContain('request_header -X-Plangate-*');
    expect(text).toContain('request_header -X_Plangate_*');
    for (const name of headerSet(i).upstream) expect(text).toContain(`${titleCase(name)} {http.reverse_proxy.header.${titleCase(name)}}`);
    expect(text).toContain('rewrite /auth/caddy');
  });

  it('the command prints the config, and says what to add when the config is not in forward-auth mode', async () => {
    const { keys } = await input();
    const env = { ...process.env, PLANGATE_UPSTREAM: 'http://127.0.0.1:3001', PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile };
    const cli = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'proxy-config', ...args], { env, timeout: 60_000 }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const ok = await cli('caddy', FORWARD_AUTH_CONFIG, '--listen', '127.0.0.1:8443', '--dev');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('http://127.0.0.1:8443 {');
    const standalone = await cli('nginx', 'config/plangate.yaml', '--dev');
    expect(standalone.code).toBe(1);
    expect(standalone.stderr).toMatch(/no gateway\.forwardAuth section; add `forwardAuth: \{\}`/);
    const unknown = await cli('haproxy', FORWARD_AUTH_CONFIG);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/proxy-config needs one of nginx, caddy, traefik, envoy/);
  }, 120_000);
});
