// A config whose surface workflow picks a surface behavior by path, for the enforcement, header and
// proxy acceptance tests.
import { writeConfig } from './harness.js';

const WORKFLOW = `
const workflow: SurfaceWorkflow = async ({ resource }) => {
  switch (resource.id) {
    case '/replace':
      return { http: { status: 451, statusText: 'Unavailable For Legal Reasons', headers: { 'Content-Type': 'text/html', 'X-Replaced': '1' }, cookies: ['wf=1; Path=/'], body: '<p>replaced</p>' } };
    case '/redirect':
      return { http: { status: 302, headers: { Location: '/elsewhere' }, body: '' } };
    case '/null-body':
      return { http: { status: 200, body: null } };
    case '/no-content':
      return { http: { status: 204, body: 'ignored' } };
    case '/modify':
      return { http: { status: 203, statusText: 'Shaped', addHeaders: [{ name: 'X-Added', value: 'yes' }, { name: 'Cache-Control', value: 'public, s-maxage=900, max-age=60' }], removeHeaders: ['X-Upstream-Only'], addCookies: ['wf=2; Path=/'] } };
    case '/modify-redirect':
      return { http: { status: 307, addHeaders: [{ name: 'Location', value: '/moved' }] } };
    case '/bad-header':
      return { http: { addHeaders: [{ name: 'X-Bad', value: 'a\\r\\nSet-Cookie: evil=1' }] } };
    case '/hostile':
      return { properties: { 'line\\r\\nbreak': 'välue\\r\\nX-Evil: 1', emoji: '\\u{1F600}' } };
    case '/huge':
      return { properties: { blob: 'x'.repeat(10000) } };
    default:
      return { properties: { path: resource.id } };
  }
};
export default workflow;
`;

/** `gatewayExtra`: lines inside `gateway:` (indented by two); `topExtra`: top-level sections. */
export function behaveConfig(gatewayExtra = '', topExtra = '', headerTimeoutMs = 100): string {
  return writeConfig(
    `version: 1
${topExtra}jwt:
  integrations:
    - name: Test
      algorithms: [RS256]
      publicKeyFile: \${PLANGATE_TEST_JWT_PUBLIC_KEY}
      claimKey: sub
features:
  news:
    properties:
      motto: { type: string, fallback: "Grüße\\r\\nSet-Cookie: evil=1" }
      locked: { type: boolean }
plans:
  anyone: { assign: anonymous, features: { news: { enabled: on } } }
  members: { assign: authenticated, features: { news: { enabled: on } } }
surfaces:
  behave: { workflow: behave.ts }
store:
  redis: { url: "\${REDIS_URL}" }
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  headerTimeoutMs: ${headerTimeoutMs}
  injectDecision: true
${gatewayExtra}  routes:
    - path: /forward-denied/**
      surface: behave
      require: news.locked
      deny: { action: forward }
    - path: /members/**
      surface: behave
      require: news.locked
      deny: { action: redirect, url: /subscribe, returnParam: next }
    - path: /**
      surface: behave
`,
    { 'behave.ts': WORKFLOW },
  );
}
