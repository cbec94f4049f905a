// The warning for a guarded one-segment route above an unguarded route that takes the deeper paths
// (`/articles/*` consuming, then an unmetered `/**`): a warning with its place, never an error.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigIssue } from '../../src/config/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { testKeys } from '../gateway/harness.js';

function configWith(routes: string, gatewayExtra = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'plangate-guards-'));
  const file = join(dir, 'plangate.yaml');
  writeFileSync(
    file,
    `version: 1
features:
  articles: {}
  premium: {}
plans:
  anonymous: { assign: anonymous, features: { articles: { enabled: { limit: 3, period: month } } } }
surfaces:
  article: {}
  paid: { consume: [articles.enabled] }
  site: {}
gateway:
  upstream: http://127.0.0.1:3001
${gatewayExtra}  routes:
${routes}`,
  );
  return file;
}

async function warnings(file: string, env: Record<string, string> = {}): Promise<ConfigIssue[]> {
  const found: ConfigIssue[] = [];
  await loadConfig(file, { env: { ...process.env, ...env }, onWarning: (w) => found.push(w) });
  return found;
}

describe('a guarded one-segment route above an unguarded catch-all', () => {
  it('warns with the file, line, column and key path of the route, and still loads', async () => {
    const file = configWith(`    - path: /static/**
      bypass: true
    - path: /articles/*
      surface: article
      consume: [articles.enabled]
    - path: /**
      surface: site
`);
    const found = await warnings(file);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ file, line: 16, column: 13, path: 'gateway.routes[1].path' });
    expect(found[0].message).toMatch(/^'\/articles\/\*' guards one segment only: \/articles\/\*\/<more> goes to routes\[2\] '\/\*\*'.*Use '\/articles\/\*\*'/);
  });

  it.each([
    ['a require', '    - { path: /premium/*, surface: site, require: premium.enabled }\n    - { path: /**, surface: site }\n'],
    ["the surface's consume list", '    - { path: /paid/*, surface: paid }\n    - { path: /**, surface: site }\n'],
    ['a bypass catch-all', '    - { path: /articles/*, surface: article, consume: [articles.enabled] }\n    - { path: /**, bypass: true }\n'],
    [
      'a deeper unguarded route before the catch-all',
      '    - { path: /articles/*, surface: article, consume: [articles.enabled] }\n    - { path: /articles/*/comments, surface: site }\n    - { path: /**, surface: paid }\n',
    ],
    [
      'a guarded route that takes only some deeper paths',
      '    - { path: /articles/*, surface: paid }\n    - { path: /articles/*/print, surface: paid }\n    - { path: /**, surface: site }\n',
    ],
    [
      'a guarded catch-all limited to some methods',
      '    - { path: /articles/*, surface: paid }\n    - { path: /articles/**, surface: paid, methods: [POST] }\n    - { path: /**, surface: site }\n',
    ],
    [
      'a case-insensitive overlap',
      '    - { path: /Articles/*, surface: paid }\n    - { path: /articles/*/*, surface: site }\n    - { path: /**, surface: paid }\n',
    ],
    ['a wildcard in the middle', '    - { path: /*/*, surface: paid }\n    - { path: /**, surface: site }\n'],
  ])('warns for %s', async (_name, routes) => {
    expect(await warnings(configWith(routes))).toHaveLength(1);
  });

  it.each([
    ['the rest of the path guarded', '    - { path: /articles/**, surface: article, consume: [articles.enabled] }\n    - { path: /**, surface: site }\n'],
    ['a guarded catch-all', '    - { path: /articles/*, surface: paid }\n    - { path: /**, surface: paid }\n'],
    [
      'a guarded route for the deeper paths',
      '    - { path: /articles/*, surface: paid }\n    - { path: /articles/*/**, surface: paid }\n    - { path: /**, surface: site }\n',
    ],
    ['an unguarded one-segment route', '    - { path: /tags/*, surface: site }\n    - { path: /**, surface: site }\n'],
    ['a literal last segment', '    - { path: /account, surface: paid }\n    - { path: /**, surface: site }\n'],
    [
      'an unrelated unguarded route',
      '    - { path: /articles/*, surface: paid }\n    - { path: /docs/**, surface: site }\n    - { path: /**, surface: paid }\n',
    ],
    [
      'case-sensitive matching that keeps them apart',
      '    - { path: /Articles/*, surface: paid }\n    - { path: /articles/**, surface: site }\n    - { path: /**, surface: paid }\n',
      '  caseSensitive: true\n',
    ],
  ])('does not warn for %s', async (_name, routes, extra = '') => {
    expect(await warnings(configWith(routes, extra))).toEqual([]);
  });

  it('the shipped demo config has no warning', async () => {
    const keys = await testKeys();
    expect(await warnings(resolve('config/plangate.yaml'), { PLANGATE_TEST_JWT_PUBLIC_KEY: keys.publicKeyFile })).toEqual([]);
  });
});
