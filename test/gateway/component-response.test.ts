// Which upstream responses get components, which pass, which a soft denial refuses; the head of a
// transformed page (src/gateway/component-response.ts), and what a decision's components make of the
// request (src/gateway/component-plan.ts). The streams themselves are tested through the listener
// in test/gateway/components/.
import { describe, expect, it } from 'vitest';
import type { SurfaceDecision } from '../../src/engine/types.js';
import { askForWholePage, componentPlan } from '../../src/gateway/component-plan.js';
import { routeResponse, settleTransformedHead, transformedHead } from '../../src/gateway/component-response.js';
import type { ResponseHead } from '../../src/gateway/response-merge.js';

const head = (status: number, headers: Record<string, string>): ResponseHead => ({ status, headers });
const HTML = { 'content-type': 'text/html; charset=utf-8' };

describe('routeResponse', () => {
  const cases: [label: string, head: ResponseHead, decorated: string, soft: string][] = [
    ['an HTML page', head(200, HTML), 'transform', 'transform'],
    ['HTML in any case, with parameters', head(200, { 'content-type': 'TEXT/HTML ; charset=iso-8859-1' }), 'transform', 'transform'],
    ['gzip, then br', head(200, { ...HTML, 'content-encoding': 'gzip, br' }), 'transform', 'transform'],
    ['x-gzip', head(200, { ...HTML, 'content-encoding': 'x-gzip' }), 'transform', 'transform'],
    ['zstd', head(200, { ...HTML, 'content-encoding': 'zstd' }), 'pass', 'refuse:encoding'],
    ['JSON', head(200, { 'content-type': 'application/json' }), 'pass', 'refuse:not-html'],
    ['XHTML', head(200, { 'content-type': 'application/xhtml+xml' }), 'pass', 'refuse:not-html'],
    ['no Content-Type', head(200, {}), 'pass', 'refuse:not-html'],
    ['206', head(206, HTML), 'pass', 'refuse:status'],
    ['204', head(204, HTML), 'pass', 'refuse:status'],
    ['304', head(304, HTML), 'pass', 'refuse:status'],
    ['302', head(302, HTML), 'pass', 'refuse:status'],
    ['404', head(404, HTML), 'pass', 'refuse:status'],
    ['201', head(201, HTML), 'transform', 'transform'],
  ];
  const kind = (route: ReturnType<typeof routeResponse>) => (route.kind === 'refuse' ? `refuse:${route.reason}` : route.kind);
  it.each(cases)('%s: decorated %s, soft %s', (_label, response, decorated, soft) => {
    expect(kind(routeResponse(response, false))).toBe(decorated);
    expect(kind(routeResponse(response, true))).toBe(soft);
  });
});

describe('transformedHead', () => {
  const upstream = head(200, {
    ...HTML,
    'content-length': '5000',
    'content-encoding': 'gzip',
    etag: '"v1"',
    'last-modified': 'Wed, 02 Dec 2026 08:00:00 GMT',
    'accept-ranges': 'bytes',
    digest: 'sha-256=x',
    'set-cookie': 'a=1',
    'x-site': 'kept',
  });

  it('drops what described the upstream bytes, names the new coding, keeps the rest', () => {
    expect(transformedHead(upstream, 'br', true).headers).toEqual({ ...HTML, 'content-encoding': 'br', vary: 'Accept-Encoding', 'set-cookie': 'a=1', 'x-site': 'kept' });
    expect(transformedHead(upstream, undefined, false).headers).toEqual({ ...HTML, 'set-cookie': 'a=1', 'x-site': 'kept' });
  });

  it('adds Accept-Encoding to Vary once', () => {
    expect(transformedHead(head(200, { vary: 'Cookie' }), 'gzip', true).headers.vary).toBe('Cookie, Accept-Encoding');
    expect(transformedHead(head(200, { vary: 'accept-encoding' }), 'gzip', true).headers.vary).toBe('accept-encoding');
    expect(transformedHead(head(200, { vary: '*' }), 'gzip', true).headers.vary).toBe('*');
  });
});

describe('settleTransformedHead', () => {
  it("removes a length or validator a workflow's addHeaders put back; a cut page is never stored", () => {
    const shaped = head(200, { ...HTML, 'content-encoding': 'br', 'content-length': '10', etag: '"w"', 'last-modified': 'x', 'cache-control': 'private, max-age=600', 'x-a': '1' });
    settleTransformedHead(shaped, false);
    expect(shaped.headers).toEqual({ ...HTML, 'content-encoding': 'br', 'cache-control': 'private, max-age=600', 'x-a': '1' });
    settleTransformedHead(shaped, true);
    expect(shaped.headers['cache-control']).toBe('private, no-store');
  });
});

describe('componentPlan', () => {
  const decision = (componentBehaviors: SurfaceDecision['componentBehaviors']) => ({ componentBehaviors }) as SurfaceDecision;
  const banner = { metadata: { cssSelector: 'body' }, content: { prepend: [{ type: 'html', content: 'B' }] } };
  const cut = { metadata: { cssSelector: 'article' }, content: { replaceRange: { fromMarker: '.f' } } };
  const remove = { metadata: { cssSelector: '.paid' }, content: { remove: true } };
  const bare = { metadata: { cssSelector: 'aside' } };
  const hard = { head: { status: 402, headers: {} }, body: 'pay' };

  it('keeps the behaviours with content, in order', () => {
    expect(componentPlan(decision({ bare, banner, cut }))).toEqual({ kind: 'apply', plan: { behaviors: { banner, cut } } });
    expect(componentPlan(decision({ bare }))).toEqual({ kind: 'none' });
  });

  it('a soft denial applies only when something cuts (replaceRange or remove); otherwise the hard denial', () => {
    expect(componentPlan(decision({ banner, cut }), hard)).toEqual({ kind: 'apply', plan: { behaviors: { banner, cut }, hardDenial: hard } });
    expect(componentPlan(decision({ remove }), hard)).toMatchObject({ kind: 'apply' });
    expect(componentPlan(decision({ banner }), hard)).toEqual({ kind: 'refuse' });
    expect(componentPlan(decision({ bare }), hard)).toEqual({ kind: 'refuse' });
    expect(componentPlan(decision({ banner: { ...remove, content: { remove: false } } }), hard)).toEqual({ kind: 'refuse' });
  });
});

describe('askForWholePage', () => {
  it('drops Range, If-Range and the conditionals; limits Accept-Encoding to what plangate decodes', () => {
    const headers: Record<string, string | undefined> = {
      range: 'bytes=0-1',
      'if-range': '"v1"',
      'if-none-match': '"v1"',
      'if-modified-since': 'x',
      'if-match': '"v1"',
      'if-unmodified-since': 'x',
      'accept-encoding': 'zstd, gzip;q=0.5, br',
      cookie: 'kept=1',
    };
    askForWholePage(headers);
    expect(Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined))).toEqual({ 'accept-encoding': 'gzip;q=0.5, br', cookie: 'kept=1' });
  });
});
