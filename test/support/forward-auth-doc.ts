// The proxy configs in docs/forward-auth.md are the generator's output for config/examples/forward-auth.yaml,
// each between `<!-- proxy-config KIND -->` and `<!-- /proxy-config -->`: `npx tsx test/support/forward-auth-doc.ts`
// rewrites them, test/forward-auth/docs.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { configInput, PROXY_KINDS, proxyConfig } from '../../src/forward-auth/proxy-config/index.js';
import type { ProxyKind } from '../../src/forward-auth/adapters.js';
import { TEST_ANONYMOUS_ID_KEY } from './anonymous-ids.js';
import { testKeyPair } from './keys.js';

export const FORWARD_AUTH_DOC = fileURLToPath(new URL('../../docs/forward-auth.md', import.meta.url));
const EXAMPLE = 'config/examples/forward-auth.yaml';
const FENCE: Record<ProxyKind, string> = { nginx: 'nginx', caddy: 'caddyfile', traefik: 'yaml', envoy: 'yaml' };

/** The generated config of each proxy, as the doc shows it (the example's defaults; addresses as in its comments). */
export async function generatedConfigs(): Promise<Record<ProxyKind, string>> {
  const { publicKeyFile } = await testKeyPair();
  const model = await loadConfig(fileURLToPath(new URL(`../../${EXAMPLE}`, import.meta.url)), {
    env: {
      PLANGATE_ANONYMOUS_ID_SECRET: 'unused-in-the-output-but-at-least-32-bytes',
      PLANGATE_SIGNING_SECRET: 'unused-in-the-output-but-at-least-32-bytes',
      PLANGATE_TEST_JWT_PUBLIC_KEY: publicKeyFile,
    },
    devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY,
  });
  const input = { ...configInput(model, { listen: { host: '0.0.0.0', port: 80 } }), file: EXAMPLE };
  return Object.fromEntries(PROXY_KINDS.map((kind) => [kind, proxyConfig(kind, input)])) as Record<ProxyKind, string>;
}

const START = (kind: string) => `<!-- proxy-config ${kind} -->`;
const END = '<!-- /proxy-config -->';

/** The block of one proxy as the doc carries it now. */
export function documentedConfig(kind: ProxyKind, text = readFileSync(FORWARD_AUTH_DOC, 'utf8')): string | undefined {
  const start = text.indexOf(START(kind));
  if (start === -1) return undefined;
  const end = text.indexOf(END, start);
  return text.slice(start + START(kind).length, end);
}

export function block(kind: ProxyKind, config: string): string {
  return `\n\`\`\`${FENCE[kind]}\n${config}\`\`\`\n`;
}

async function rewrite(): Promise<void> {
  let text = readFileSync(FORWARD_AUTH_DOC, 'utf8');
  const configs = await generatedConfigs();
  for (const kind of PROXY_KINDS) {
    const start = text.indexOf(START(kind));
    if (start === -1) throw new Error(`${FORWARD_AUTH_DOC}: no ${START(kind)} marker`);
    const end = text.indexOf(END, start);
    text = `${text.slice(0, start + START(kind).length)}${block(kind, configs[kind])}${text.slice(end)}`;
  }
  writeFileSync(FORWARD_AUTH_DOC, text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await rewrite();
