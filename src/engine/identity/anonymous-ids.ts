// Anonymous ids only this deployment can issue (docs/gateway.md "Anonymous ids"). An id is a UUID; on
// the wire (the gateway's cookie, the API's signed ids) it travels as `<uuid>.<mac>`, the MAC an
// HMAC-SHA256 of the UUID under the current key. Verification accepts the current and the previous
// keys and says when a value should be re-issued under the current one. Ids derived from a network
// (`anonymousMetering: cookie+ip`) are a keyed hash too, so nobody without the secret can compute them.
import { createHmac, createSecretKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface AnonymousIdKey {
  /** A label for logs and docs; not part of the signed value. */
  id: string;
  /** At least 32 bytes of random text, shared by every instance. */
  secret: string;
}

export interface VerifiedAnonymousId {
  /** The UUID: what counters are keyed by and what the upstream sees. */
  id: string;
  /** Signed with a previous key: the caller re-issues `sign(id)` so the value moves to the current key. */
  stale: boolean;
}

/** 36 characters, lowercase: `randomUUID()` and network ids are minted this way, and only this form is signed. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_LENGTH = 36;
/** base64url of 32 bytes, unpadded. */
const MAC_LENGTH = 43;
export const SIGNED_ID_LENGTH = UUID_LENGTH + 1 + MAC_LENGTH;

// Distinct inputs for the two uses of one key, so a network hash can never stand in for a MAC.
const ID_CONTEXT = 'plangate-anonymous-id:v1:';
const NETWORK_CONTEXT = 'plangate-network:v1:';

/** Verified values and network ids are remembered (bounded): a returning visitor costs a lookup, not an HMAC. */
const CACHE_ENTRIES = 10_000;

export class AnonymousIds {
  readonly #keys: readonly KeyObject[];
  readonly #verified = new LRUCache<string, VerifiedAnonymousId>({ max: CACHE_ENTRIES });
  readonly #networks = new LRUCache<string, string>({ max: CACHE_ENTRIES });

  /** `keys[0]` signs; every key verifies. The config loader guarantees at least one of 32+ bytes. */
  constructor(keys: readonly AnonymousIdKey[]) {
    if (keys.length === 0) throw new Error('AnonymousIds needs at least one key');
    this.#keys = keys.map((key) => createSecretKey(Buffer.from(key.secret, 'utf8')));
  }

  /** A fresh random id (not yet signed). */
  mint(): string {
    return randomUUID();
  }

  /** `<uuid>.<mac>` under the current key. */
  sign(id: string): string {
    return `${id}.${mac(this.#keys[0], id)}`;
  }

  /**
   * The id inside a signed value, or undefined for anything this deployment did not sign with one of
   * its keys: a bare UUID (the unsigned cookies of earlier versions), a changed byte, a key rotated out.
   */
  verify(value: string | undefined): VerifiedAnonymousId | undefined {
    if (value === undefined || value.length !== SIGNED_ID_LENGTH || value.charCodeAt(UUID_LENGTH) !== 0x2e /* . */) return undefined;
    const known = this.#verified.get(value);
    if (known !== undefined) return known;
    const id = value.slice(0, UUID_LENGTH);
    if (!UUID.test(id)) return undefined;
    const given = Buffer.from(value.slice(UUID_LENGTH + 1), 'latin1');
    for (let i = 0; i < this.#keys.length; i++) {
      // Compared as the base64url text, in constant time: one accepted spelling per id and key.
      if (timingSafeEqual(Buffer.from(mac(this.#keys[i], id), 'latin1'), given)) {
        const verified = { id, stale: i > 0 };
        this.#verified.set(value, verified);
        return verified;
      }
    }
    return undefined;
  }

  /**
   * The id of a network (an address or an IPv6 prefix): an HMAC under the current key, shaped as a
   * version 8 UUID (RFC 9562 "custom"). Stable while the current key is; a rotation gives every
   * network a new id (visitors holding a cookie keep theirs).
   */
  forNetwork(network: string): string {
    let id = this.#networks.get(network);
    if (id === undefined) {
      id = uuidFromBytes(createHmac('sha256', this.#keys[0]).update(NETWORK_CONTEXT).update(network).digest());
      this.#networks.set(network, id);
    }
    return id;
  }
}

function mac(key: KeyObject, id: string): string {
  return createHmac('sha256', key).update(ID_CONTEXT).update(id).digest('base64url');
}

/** The first 16 bytes with the version (8) and variant (10xx) bits set. */
function uuidFromBytes(bytes: Buffer): string {
  const b = Buffer.from(bytes.subarray(0, 16));
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
