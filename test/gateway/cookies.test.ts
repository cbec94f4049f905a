import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { anonymousSetCookie, readCookies, withoutCookie } from '../../src/gateway/cookies.js';

describe('anonymous cookie', () => {
  it('sets the cookie with the attributes of §3', () => {
    const id = randomUUID();
    expect(anonymousSetCookie('plangate_anon', id, false)).toBe(`plangate_anon=${id}; Max-Age=34560000; Path=/; HttpOnly; SameSite=Lax`);
    expect(anonymousSetCookie('plangate_anon', id, true)).toContain('; Secure');
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
