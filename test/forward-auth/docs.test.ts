// The configs people copy from docs/forward-auth.md are exactly what `plangate proxy-config` generates
// for config/examples/forward-auth.yaml (the nginx and Caddy ones run for real in test/e2e/).
import { describe, expect, it } from 'vitest';
import { PROXY_KINDS } from '../../src/forward-auth/proxy-config/index.js';
import { block, documentedConfig, generatedConfigs } from '../support/forward-auth-doc.js';

describe('docs/forward-auth.md', () => {
  it('carries the generated config of every proxy (npx tsx test/support/forward-auth-doc.ts rewrites them)', async () => {
    const configs = await generatedConfigs();
    for (const kind of PROXY_KINDS) expect(documentedConfig(kind), kind).toBe(block(kind, configs[kind]));
  });
});
