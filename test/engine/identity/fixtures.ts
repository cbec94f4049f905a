// Key pairs, integrations and tokens for the JWT tests: real jose keys, generated per test file.
import { signRaw } from '../../support/keys.js';
import { exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { ResolvedJwtIntegration } from '../../../src/engine/model.js';

export { signRaw };

export interface TestKey {
  alg: string;
  privateKey: CryptoKey;
  pem: string;
  jwk: JWK;
}

export async function testKey(alg: 'RS256' | 'RS384' | 'ES256' | 'EdDSA', kid?: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), alg, use: 'sig', ...(kid && { kid }) };
  return { alg, privateKey, pem: await exportSPKI(publicKey), jwk };
}

export const HMAC_SECRET = 'an-hmac-secret-of-at-least-thirty-two-bytes!';

export function integration(overrides: Partial<ResolvedJwtIntegration> = {}): ResolvedJwtIntegration {
  return { name: 'test', algorithms: ['RS256'], claimKey: 'sub', clockToleranceSeconds: 30, pemKeys: [], ...overrides };
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function sign(claims: Record<string, unknown>, key: TestKey, header: Record<string, unknown> = {}): Promise<string> {
  return signRaw(JSON.stringify(claims), key.privateKey, { alg: key.alg, ...header });
}

export async function signHmac(claims: Record<string, unknown>, secret: string, alg = 'HS256'): Promise<string> {
  return signRaw(JSON.stringify(claims), new TextEncoder().encode(secret), { alg });
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A compact token from parts, with whatever signature text (for shapes jose would refuse to sign). */
export function craft(header: Record<string, unknown>, payload: Record<string, unknown> | string, signature = ''): string {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

/** A clock (epoch ms) that starts at the real time and then moves only when the test advances it. */
export function testClock() {
  const start = Date.now();
  let offset = 0;
  return {
    now: () => start + offset,
    advance(ms: number) {
      offset += ms;
    },
  };
}
