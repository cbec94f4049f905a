import { describe, expect, it } from 'vitest';
import { canonicalizeTarget, MAX_TARGET_LENGTH } from '../../src/gateway/canonical-path.js';

const insensitive = { caseSensitive: false, allowPathParameters: false };

describe('canonicalizeTarget: accepted targets', () => {
  const table: [target: string, path: string, matchPath: string, query?: string][] = [
    ['/', '/', '/'],
    ['/articles/one', '/articles/one', '/articles/one'],
    ['/articles/one/', '/articles/one/', '/articles/one'],
    ['/Premium/X', '/Premium/X', '/premium/x'],
    ['/articles//one', '/articles/one', '/articles/one'],
    ['//premium///x', '/premium/x', '/premium/x'],
    ['/articles/../premium/x', '/premium/x', '/premium/x'],
    ['/articles/%2e%2e/premium/x', '/premium/x', '/premium/x'],
    ['/articles/%2E./premium/x', '/premium/x', '/premium/x'],
    ['/./premium/./x', '/premium/x', '/premium/x'],
    ['/../../premium/x', '/premium/x', '/premium/x'],
    ['/premium/x/..', '/premium/', '/premium'],
    ['/%70remium/x', '/premium/x', '/premium/x'],
    ['/a%7euser', '/a~user', '/a~user'],
    ['/~user', '/~user', '/~user'],
    ['/articles/caf%c3%a9', '/articles/caf%C3%A9', '/articles/caf%c3%a9'],
    ['/articles/caf\u00c3\u00a9', '/articles/caf%C3%A9', '/articles/caf%c3%a9'], // raw UTF-8 bytes, as Node hands them (latin1)
    ['/a%20b', '/a%20b', '/a%20b'],
    ['/a%3Ab', '/a%3Ab', '/a%3ab'],
    ['/a:b@c!$&\'()*+,=', '/a:b@c!$&\'()*+,=', '/a:b@c!$&\'()*+,='],
    ['/a|b"c', '/a%7Cb%22c', '/a%7cb%22c'],
    ['/a%252e%252e/b', '/a%252e%252e/b', '/a%252e%252e/b'],
    ['/search?q=a/../b&x=%2F', '/search', '/search', '?q=a/../b&x=%2F'],
    ['/?', '/', '/', '?'],
    ['http://evil.example/premium/x?y=1', '/premium/x', '/premium/x', '?y=1'],
    ['HTTPS://h', '/', '/'],
    ['http://h?q', '/', '/', '?q'],
  ];
  it.each(table)('%s → %s', (target, path, matchPath, query = '') => {
    const result = canonicalizeTarget(target, insensitive);
    expect(result).toMatchObject({ ok: true, path, matchPath, query });
  });

  it('keeps case for matching when case-sensitive', () => {
    expect(canonicalizeTarget('/Premium/X/', { caseSensitive: true, allowPathParameters: false })).toMatchObject({
      ok: true,
      matchPath: '/Premium/X',
      segments: ['Premium', 'X'],
    });
  });

  it('strips path parameters for matching and forwarding when allowed', () => {
    const options = { caseSensitive: false, allowPathParameters: true };
    expect(canonicalizeTarget('/premium;jsessionid=1/x;v=2', options)).toMatchObject({ ok: true, path: '/premium/x' });
    expect(canonicalizeTarget('/articles/..;x/premium/y', options)).toMatchObject({ ok: true, path: '/premium/y' });
    expect(canonicalizeTarget('/a;%00', options)).toEqual({ ok: false, reason: 'nul' });
  });
});

describe('canonicalizeTarget: rejected targets', () => {
  const table: [target: string, reason: string][] = [
    ['premium/x', 'not-origin-form'],
    ['*', 'not-origin-form'],
    ['example.com:443', 'not-origin-form'],
    ['http:///premium', 'not-origin-form'],
    ['/' + 'a'.repeat(MAX_TARGET_LENGTH), 'path-too-long'],
    ['/premium%2Fx', 'encoded-slash'],
    ['/articles%2f..%2fpremium/x', 'encoded-slash'],
    ['/premium%5cx', 'encoded-backslash'],
    ['/articles\\..\\premium\\x', 'backslash'],
    ['/premium/x\u0000', 'nul'],
    ['/premium/x%00', 'nul'],
    ['/premium/x%0d%0aSet-Cookie:a=b', 'control-character'],
    ['/premium/x%7F', 'control-character'],
    ['/premium/x\u0009', 'control-character'],
    ['/premium;a=b/x', 'path-parameter'],
    ['/premium/x;', 'path-parameter'],
    ['/premium/%', 'malformed-percent'],
    ['/premium/%4', 'malformed-percent'],
    ['/premium/%G1', 'malformed-percent'],
    ['/premium/%%32%65', 'malformed-percent'],
    ['/articles/%c0%ae%c0%ae/premium/x', 'invalid-utf8'],
    ['/articles/%c0%af', 'invalid-utf8'],
    ['/articles/%e0%80%ae', 'invalid-utf8'],
    ['/articles/%c3', 'invalid-utf8'],
    ['/articles/%ff', 'invalid-utf8'],
    ['/articles/%ed%a0%80', 'invalid-utf8'],
    ['/x\u0100', 'invalid-character'],
  ];
  it.each(table)('%j → %s', (target, reason) => {
    expect(canonicalizeTarget(target, insensitive)).toEqual({ ok: false, reason });
  });
});
