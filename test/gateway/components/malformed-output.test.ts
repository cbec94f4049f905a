// Malformed workflow output at the gateway (docs/components.md "Checking workflow output"): the
// engine drops it (test/engine/components/malformed-output.test.ts), so the visitor gets neither a
// malformed http behaviour (its body, status or headers) nor malformed content applied to the page;
// what was well-formed still applies. Through the real listener to a real upstream.
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, writeConfig, type Stack } from '../harness.js';
import { rawGet } from './stack.js';

const WORKFLOWS = resolve('test/fixtures/engine/workflows');
const PAGE = '<html><body><article><p>Story</p></article></body></html>';

let stack: Stack;
beforeAll(async () => {
  const file = writeConfig(`version: 1
features:
  news: {}
plans:
  anyone: { assign: anonymous, features: { news: { enabled: on } } }
surfaces:
  malformed:
    workflow: ${WORKFLOWS}/malformed-http.ts
    components:
      teaser: { selector: article, workflow: ${WORKFLOWS}/malformed-content.ts }
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  routes:
    - path: /**
      surface: malformed
`);
  stack = await startStack(file, 'gateway-malformed-output');
  for (const name of ['add-headers', 'status', 'http-string', 'header-value', 'content-string', 'insertions-string', 'html-number', 'unknown-operation', 'fine'])
    stack.upstream.handlers.set(`/cases/${name}`, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
      return true;
    });
});
afterAll(() => stack?.close());

const malformedEvents = () => stack.runtime.engine.eventCounts().get('workflow-output-malformed') ?? 0;

describe('malformed workflow output at the gateway', () => {
  it.each(['add-headers', 'status', 'http-string', 'header-value'])(
    'http %s: the page is forwarded as if the workflow had returned no http; the upstream is told the decision is degraded',
    async (name) => {
      const before = malformedEvents();
      const res = await rawGet(stack.gateway.url, `/cases/${name}`);
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe('<html><body><b>fine</b><article><p>Story</p></article></body></html>');
      expect(res.body.toString()).not.toContain('pay first');
      expect(res.headers['x-a']).toBeUndefined();
      expect(stack.upstream.seen.findLast((s) => s.target === `/cases/${name}`)!.headers['x-plangate-degraded']).toBe('true');
      expect(malformedEvents()).toBe(before + 1);
    },
  );

  it.each(['content-string', 'insertions-string', 'html-number', 'unknown-operation'])('content %s: the page goes out unchanged', async (name) => {
    const before = malformedEvents();
    const res = await rawGet(stack.gateway.url, `/cases/${name}`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe(PAGE);
    expect(stack.upstream.seen.findLast((s) => s.target === `/cases/${name}`)!.headers['x-plangate-degraded']).toBe('true');
    expect(malformedEvents()).toBe(before + 1);
  });

  it('well-formed output applies: its header and its content', async () => {
    const res = await rawGet(stack.gateway.url, '/cases/fine');
    expect(res.headers['x-fine']).toBe('yes');
    expect(res.body.toString()).toBe('<html><body><b>fine</b><article><p>Story</p></article></body></html>');
    expect(stack.upstream.seen.findLast((s) => s.target === '/cases/fine')!.headers['x-plangate-degraded']).toBe('false');
  });
});
