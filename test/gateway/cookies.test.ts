import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anonymousSetCookie, isAnonymousId, readCookies, uuidFromHash, withoutCookie } from '../../src/gateway/cookies.js';
import { hashNetwork } from '../../src/gateway/client-ip.js';

describe('anonymous id', () => {
  it.each([
    [randomUUID(), true],
    [randomUUID().toUpperCase(), true],
    ['not-a-uuid', false],
    ['', false],
    [undefined, false],
    ['00000000-0000-0000-0000-000000000000', false],
    [`${randomUUID()}x`, false],
    ['<script>', false],
  ])('%j valid: %s', (value, valid) => expect(isAnonymousId(value)).toBe(valid));

  it('sets the cookie with the attributes of §3', () => {
    const id = randomUUID();
    expect(anonymousSetCookie('plangate_anon', id, false)).toBe(`plangate_anon=${id}; Max-Age=34560000; Path=/; HttpOnly; SameSite=Lax`);
    expect(anonymousSetCookie('plangate_anon', id, true)).toContain('; Secure');
  });

  it('derives a valid, stable UUID from a network hash', () => {
    const id = uuidFromHash(hashNetwork('203.0.113.7'));
    expect(isAnonymousId(id)).toBe(true);
    expect(id).toBe(uuidFromHash(hashNetwork('203.0.113.7')));
    expect(id).not.toBe(uuidFromHash(hashNetwork('203.0.113.8')));
  });
});

describe('cookie headers', () => {
  it('parses', () => {
    expect(readCookies('a=1; plangate_jwt=x.y.z')).toEqual({ a: '1', plangate_jwt: 'x.y.z' });
    expect(readCookies(undefined)).toEqual({});
  });
  it.each([
    ['a=1; plangate_jwt=t; b=2', 'a=1; b=2'],
    ['plangate_jwt=t', undefined],
    ['plangate_jwt_other=1;plangate_jwt=t', 'plangate_jwt_other=1'],
  ])('removes the JWT cookie from %j', (header, expected) => expect(withoutCookie(header, 'plangate_jwt')).toBe(expected));
});
