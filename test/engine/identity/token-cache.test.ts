// The verified-token cache on its own: bound, expiry, key generations, hashing.
import { describe, expect, it } from 'vitest';
import { TokenCache, type CachedVerification } from '../../../src/engine/identity/token-cache.js';

const entry = (overrides: Partial<CachedVerification> = {}): CachedVerification => ({
  payloadJson: '{"sub":"u"}',
  identifier: 'u',
  integration: 0,
  generation: 1,
  expiresAtMs: 10_000,
  ...overrides,
});
const generationOne = () => 1;

describe('TokenCache', () => {
  it('serves an entry before its expiry and drops it at the expiry', () => {
    const cache = new TokenCache(10);
    cache.set('token', entry());
    expect(cache.get('token', 9_999, generationOne)).toMatchObject({ identifier: 'u' });
    expect(cache.get('token', 10_000, generationOne)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('drops an entry made under another key generation', () => {
    const cache = new TokenCache(10);
    cache.set('token', entry({ generation: 1 }));
    expect(cache.get('token', 0, () => 2)).toBeUndefined();
    expect(cache.get('token', 0, generationOne)).toBeUndefined();
  });

  it('evicts the least recently used entry past its bound', () => {
    const cache = new TokenCache(2);
    cache.set('a', entry());
    cache.set('b', entry());
    cache.get('a', 0, generationOne);
    cache.set('c', entry());
    expect(cache.get('b', 0, generationOne)).toBeUndefined();
    expect(cache.get('a', 0, generationOne)).toBeDefined();
    expect(cache.size).toBe(2);
  });

  it('tells tokens apart by their whole text, and keeps nothing when sized 0', () => {
    const cache = new TokenCache(10);
    cache.set('header.payload.sig1', entry());
    expect(cache.get('header.payload.sig2', 0, generationOne)).toBeUndefined();
    const off = new TokenCache(0);
    off.set('token', entry());
    expect(off.get('token', 0, generationOne)).toBeUndefined();
  });
});
