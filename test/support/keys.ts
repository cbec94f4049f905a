// The key pairs tests sign JWTs with: generated per test file (never checked in), the public half
// written as a PEM file for the config to read. One helper for every harness.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

export interface TestKeyPair {
  /** The public key as a PEM file (`publicKeyFile` in a config). */
  publicKeyFile: string;
  privateKey: CryptoKey;
  /** A token with exactly these claims (no `exp` unless given, like the tutorial's), `alg` RS256. */
  sign(claims: Record<string, unknown>, options?: { expiresIn?: string; typ?: string }): Promise<string>;
  /** A token with exactly this payload text (`__proto__` keys, which an object literal cannot carry). */
  signRaw(payloadJson: string): Promise<string>;
}

/** A fresh RS256 key pair; the public half goes to `dir/<fileName>` (a new temp dir by default). */
export async function testKeyPair(dir = mkdtempSync(join(tmpdir(), 'plangate-keys-')), fileName = 'test-jwt.pub.pem'): Promise<TestKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicKeyFile = join(dir, fileName);
  writeFileSync(publicKeyFile, await exportSPKI(publicKey));
  return {
    publicKeyFile,
    privateKey,
    sign: (claims, options = {}) => {
      const jwt = new SignJWT(claims).setProtectedHeader(options.typ === undefined ? { alg: 'RS256' } : { alg: 'RS256', typ: options.typ });
      return (options.expiresIn === undefined ? jwt : jwt.setExpirationTime(options.expiresIn)).sign(privateKey);
    },
    signRaw: (payloadJson) => signRaw(payloadJson, privateKey, { alg: 'RS256' }),
  };
}

/** Signs exactly this payload text (so tests control key order, `__proto__` keys, sizes) under this header. */
export async function signRaw(
  payloadJson: string,
  key: CryptoKey | Uint8Array,
  header: Record<string, unknown>,
  crit?: Record<string, boolean>,
): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadJson)).setProtectedHeader(header as { alg: string }).sign(key, crit ? { crit } : undefined);
}
