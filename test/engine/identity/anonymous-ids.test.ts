// The anonymous-id codec on its own: what verifies, what does not, rotation, network ids.
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AnonymousIds, SIGNED_ID_LENGTH } from '../../../src/engine/identity/anonymous-ids.js';

const CURRENT = { id: 'k2', secret: 'current-anonymous-id-secret-0123456789abcdef' };
const PREVIOUS = { id: 'k1', secret: 'previous-anonymous-id-secret-0123456789abcd' };
const RETIRED = { id: 'k0', secret: 'retired-anonymous-id-secret-0123456789abcdef' };

const ids = new AnonymousIds([CURRENT, PREVIOUS]);
const ID = randomUUID();
const flip = (value: string, at: number) => `${value.slice(0, at)}${value[at] === 'a' ? 'b' : 'a'}${value.slice(at + 1)}`;

describe('AnonymousIds', () => {
  it('signs <uuid>.<43-character MAC> and verifies its own values', () => {
    const signed = ids.sign(ID);
    expect(signed).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    expect(signed).toHaveLength(SIGNED_ID_LENGTH);
    expect(ids.verify(signed)).toEqual({ id: ID, stale: false });
    // A second instance with the same keys (another gateway process) agrees.
    expect(new AnonymousIds([CURRENT]).verify(signed)).toEqual({ id: ID, stale: false });
  });

  it.each([
    ['a bare UUID (the unsigned cookie of earlier versions)', ID],
    ['a UUID with a made-up MAC', `${ID}.${'A'.repeat(43)}`],
    ['uppercase', () => ids.sign(ID).toUpperCase()],
    ['another UUID with this MAC', () => `${randomUUID()}${ids.sign(ID).slice(36)}`],
    ['one changed character in the id', () => flip(ids.sign(ID), 3)],
    ['one changed character in the MAC', () => flip(ids.sign(ID), 60)],
    ['signed with a key rotated out', () => new AnonymousIds([RETIRED]).sign(ID)],
    ['a padded MAC', () => `${ids.sign(ID)}=`],
    ['empty', ''],
    ['missing', undefined],
  ])('rejects %s', (_what, value) => {
    const v = typeof value === 'function' ? value() : value;
    expect(ids.verify(v)).toBeUndefined();
  });

  it('accepts the previous key and says the value is stale (to be re-issued under the current key)', () => {
    const old = new AnonymousIds([PREVIOUS]).sign(ID);
    expect(ids.verify(old)).toEqual({ id: ID, stale: true });
    expect(ids.sign(ID)).not.toBe(old);
    expect(ids.verify(ids.sign(ID))).toEqual({ id: ID, stale: false });
  });

  it('derives network ids with the key: stable, UUID-shaped, not the old unsalted hash', () => {
    const id = ids.forNetwork('203.0.113.7');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids.forNetwork('203.0.113.7')).toBe(id);
    expect(ids.forNetwork('203.0.113.8')).not.toBe(id);
    expect(new AnonymousIds([RETIRED]).forNetwork('203.0.113.7')).not.toBe(id);
    // What the previous version minted: SHA-256 of a fixed prefix and the address, computable by anyone.
    const unsalted = createHash('sha256').update('plangate-network:203.0.113.7').digest('hex');
    expect(id.replaceAll('-', '').slice(0, 12)).not.toBe(unsalted.slice(0, 12));
    // A network id is a valid id to sign, and its cookie verifies.
    expect(ids.verify(ids.sign(id))).toEqual({ id, stale: false });
  });
});
