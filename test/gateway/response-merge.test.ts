import { describe, expect, it } from 'vitest';
import type { HttpBehavior } from '../../src/engine/types.js';
import { addGatewayHeaders, applyHttpBehavior, bodyAnswer, privateCacheControl, statusAllowsBody, upstreamHead } from '../../src/gateway/response-merge.js';

const upstream = upstreamHead({
  statusCode: 200,
  statusMessage: 'OK',
  headers: {
    'content-type': 'text/html',
    'cache-control': 'public, max-age=600',
    'set-cookie': ['site=1; Path=/'],
    connection: 'keep-alive, x-conn-only',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    'x-conn-only': '1',
    'x-site': 'yes',
  },
});

describe('upstreamHead', () => {
  it('drops hop-by-hop headers and those the upstream named in Connection', () => {
    expect(upstream.headers).toEqual({ 'content-type': 'text/html', 'cache-control': 'public, max-age=600', 'set-cookie': ['site=1; Path=/'], 'x-site': 'yes' });
  });
});

describe('privateCacheControl', () => {
  it.each([
    [undefined, 'private'],
    ['public, max-age=600', 'private, max-age=600'],
    ['max-age=60, s-maxage=600, PUBLIC', 'private, max-age=60'],
    ['no-store', 'private, no-store'],
    ['no-cache="set-cookie, x", public', 'private, no-cache="set-cookie, x"'],
    ['private="set-cookie", max-age=5', 'private, max-age=5'],
    [['public', 'max-age=1'], 'private, max-age=1'],
  ])('%j → %s', (input, expected) => expect(privateCacheControl(input)).toBe(expected));
});

describe('applyHttpBehavior (modify form and replace headers on a forwarded response)', () => {
  const table: [label: string, http: HttpBehavior, expected: { status: number; statusText?: string; headers: Record<string, unknown> }][] = [
    ['status only', { status: 403 }, { status: 403, statusText: undefined, headers: upstream.headers }],
    ['statusText', { status: 451, statusText: 'Unavailable Here' }, { status: 451, statusText: 'Unavailable Here', headers: upstream.headers }],
    [
      'add, then remove, then add cookies',
      { addHeaders: [{ name: 'X-Added', value: 'a' }, { name: 'Content-Type', value: 'text/plain' }], removeHeaders: ['X-Site'], addCookies: ['wf=1'] },
      { status: 200, statusText: 'OK', headers: { 'content-type': 'text/plain', 'cache-control': 'public, max-age=600', 'set-cookie': ['site=1; Path=/', 'wf=1'], 'x-added': 'a' } },
    ],
    ['remove wins over add', { addHeaders: [{ name: 'x-a', value: '1' }], removeHeaders: ['X-A'] }, { status: 200, statusText: 'OK', headers: upstream.headers }],
    ['headers replace, cookies kept', { headers: { 'X-Only': '1' } }, { status: 200, statusText: 'OK', headers: { 'x-only': '1', 'set-cookie': ['site=1; Path=/'] } }],
    ['cookies replace', { cookies: ['only=1'] }, { status: 200, statusText: 'OK', headers: { ...upstream.headers, 'set-cookie': ['only=1'] } }],
    [
      'redirect',
      { status: 302, addHeaders: [{ name: 'Location', value: '/subscribe' }] },
      { status: 302, statusText: undefined, headers: { ...upstream.headers, location: '/subscribe' } },
    ],
  ];
  it.each(table)('%s', (_label, http, expected) => {
    const problems: string[] = [];
    expect(applyHttpBehavior(upstream, http, (p) => problems.push(p))).toEqual(expected);
    expect(problems).toEqual([]);
  });

  it('skips and reports what cannot be sent', () => {
    const problems: string[] = [];
    const head = applyHttpBehavior(
      upstream,
      {
        status: 101,
        statusText: 'Bad\r\nX: y',
        addHeaders: [{ name: 'X-Inject', value: 'a\r\nSet-Cookie: evil=1' }, { name: 'Bad Name', value: '1' }, { name: 'x-utf', value: 'é' }, { name: 'set-cookie', value: 'x=1' }],
        addCookies: ['ok=1', 'bad=\n'],
      },
      (p) => problems.push(p),
    );
    expect(head.status).toBe(200);
    expect(head.statusText).toBe('OK');
    expect(head.headers).not.toHaveProperty('x-inject');
    expect(head.headers).not.toHaveProperty('x-utf');
    expect(head.headers['set-cookie']).toEqual(['site=1; Path=/', 'ok=1']);
    expect(problems).toHaveLength(7);
  });
});

describe('bodyAnswer', () => {
  it('answers with the body, a default content type and length', () => {
    const { head, body } = bodyAnswer({ status: 402, body: 'Pay up', cookies: ['a=1'] }, () => {});
    expect(head).toEqual({ status: 402, statusText: undefined, headers: { 'set-cookie': ['a=1'], 'content-type': 'text/plain;charset=UTF-8', 'content-length': '6' } });
    expect(body).toBe('Pay up');
  });
  it('treats null and "" as an empty body and 200 as the default status', () => {
    expect(bodyAnswer({ body: null }, () => {})).toMatchObject({ head: { status: 200, headers: { 'content-length': '0' } }, body: '' });
    expect(bodyAnswer({ body: '', headers: { 'Content-Type': 'text/html' } }, () => {}).head.headers['content-type']).toBe('text/html');
  });
  it.each([204, 205, 304])('sends no body with %i', (status) => {
    const { head, body } = bodyAnswer({ status, body: 'ignored' }, () => {});
    expect(body).toBe('');
    expect(head.headers).not.toHaveProperty('content-length');
    expect(statusAllowsBody(status)).toBe(false);
  });
});

describe('addGatewayHeaders', () => {
  it('appends the anonymous cookie and makes decided responses private', () => {
    const head = addGatewayHeaders(upstream, { setCookies: ['plangate_anon=x'], privateCache: true });
    expect(head.headers['set-cookie']).toEqual(['site=1; Path=/', 'plangate_anon=x']);
    expect(head.headers['cache-control']).toBe('private, max-age=600');
  });
  it('leaves bypassed responses alone', () => {
    expect(addGatewayHeaders(upstream, { setCookies: [], privateCache: false }).headers).toEqual(upstream.headers);
  });
});
