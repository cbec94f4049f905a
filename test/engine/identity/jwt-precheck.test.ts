// The structural checks that run before any crypto.
import { describe, expect, it } from 'vitest';
import { depthExceeds, MAX_PAYLOAD_BYTES, precheckToken } from '../../../src/engine/identity/jwt-precheck.js';
import { craft } from './fixtures.js';

describe('precheckToken', () => {
  it('reads the header and the unverified issuer', () => {
    expect(precheckToken(craft({ alg: 'RS256', kid: 'k' }, { iss: 'https://id.example', sub: 'u' }, 'AAAA'))).toMatchObject({
      ok: true,
      header: { alg: 'RS256', kid: 'k' },
      issuer: 'https://id.example',
      signatureEmpty: false,
    });
  });

  it('ignores an iss that is not a string or only on the prototype', () => {
    expect(precheckToken(craft({ alg: 'RS256' }, { iss: 7 }, 'AAAA'))).toMatchObject({ ok: true, issuer: undefined });
    expect(precheckToken(craft({ alg: 'RS256' }, '{"__proto__":{"iss":"x"}}', 'AAAA'))).toMatchObject({ ok: true, issuer: undefined });
  });

  it('bounds the payload by its encoded length, before decoding it', () => {
    const justFits = 'x'.repeat(MAX_PAYLOAD_BYTES - '{"p":""}'.length); // exactly 8 KB of payload
    expect(precheckToken(craft({ alg: 'RS256' }, { p: justFits }, 'AAAA'))).toMatchObject({ ok: true });
    expect(precheckToken(craft({ alg: 'RS256' }, { p: `${justFits}x` }, 'AAAA'))).toEqual({ ok: false, reason: 'too-large' });
  });

  it.each([
    ['no alg', craft({ typ: 'JWT' }, {}, 'AAAA')],
    ['an empty alg', craft({ alg: '' }, {}, 'AAAA')],
    ['a header array', `${Buffer.from('[]').toString('base64url')}.e30.AAAA`],
    ['invalid UTF-8 in the payload', `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.AAAA`],
    ['an impossible base64url length', `${craft({ alg: 'RS256' }, {}, 'AAAA').split('.')[0]}.e30xx.AAAA`],
    ['an empty payload segment', `${craft({ alg: 'RS256' }, {}, 'AAAA').split('.')[0]}..AAAA`],
    ['a jku header', craft({ alg: 'RS256', jku: 'http://127.0.0.1/' }, {}, 'AAAA')],
  ])('calls %s malformed', (_name, token) => {
    expect(precheckToken(token)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('depthExceeds', () => {
  it('counts the top-level object as level 1, arrays included', () => {
    expect(depthExceeds({ a: [{}] }, 3)).toBe(false);
    expect(depthExceeds({ a: [{}] }, 2)).toBe(true);
    expect(depthExceeds('scalar', 0)).toBe(false);
  });
});
