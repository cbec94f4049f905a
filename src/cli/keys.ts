// Local development keys under .plangate/ (git-ignored): an RS256 key pair created on first use
// under .plangate/keys, used by `plangate token` and by the example configs' Test JWT integration;
// and the anonymous-id secret `--dev` uses when a config declares none.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT } from 'jose';
import type { AnonymousIdKey } from '../engine/identity/anonymous-ids.js';

export const DEFAULT_KEY_DIR = '.plangate/keys';
export const DEV_ANONYMOUS_ID_SECRET_FILE = '.plangate/anonymous-id.secret';

export interface TestKeyFiles {
  privateKeyFile: string;
  publicKeyFile: string;
  created: boolean;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Creates `<name>.pem` (private, mode 600) and `<name>.pub.pem` in `dir` unless they exist. */
export async function ensureTestKeys(dir: string = DEFAULT_KEY_DIR, name = 'test-jwt'): Promise<TestKeyFiles> {
  const privateKeyFile = resolve(join(dir, `${name}.pem`));
  const publicKeyFile = resolve(join(dir, `${name}.pub.pem`));
  if ((await exists(privateKeyFile)) && (await exists(publicKeyFile))) return { privateKeyFile, publicKeyFile, created: false };
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  await mkdir(dirname(privateKeyFile), { recursive: true });
  await writeFile(privateKeyFile, await exportPKCS8(privateKey), { mode: 0o600 });
  await writeFile(publicKeyFile, await exportSPKI(publicKey));
  return { privateKeyFile, publicKeyFile, created: true };
}

export interface TokenOptions {
  privateKeyFile: string;
  email: string;
  premium?: boolean;
  claims?: Record<string, unknown>;
  expiresIn?: string;
  issuer?: string;
  audience?: string;
}

/** A test JWT shaped like the tutorial's payload: sub, name, email, premium, iat. */
export async function mintTestToken(options: TokenOptions): Promise<string> {
  const key = await importPKCS8(await readFile(options.privateKeyFile, 'utf8'), 'RS256');
  const payload: Record<string, unknown> = { sub: options.email, name: options.email.split('@')[0], email: options.email };
  if (options.premium !== undefined) payload.premium = options.premium;
  Object.assign(payload, options.claims);
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setIssuedAt();
  if (options.expiresIn) jwt.setExpirationTime(options.expiresIn);
  if (options.issuer) jwt.setIssuer(options.issuer);
  if (options.audience) jwt.setAudience(options.audience);
  return jwt.sign(key);
}

/**
 * The development anonymous-id key: the secret in `file` (mode 600), created with 48 random bytes
 * when missing. One per checkout, so ids survive restarts of `npm start`.
 */
export async function ensureDevAnonymousIdKey(file: string = DEV_ANONYMOUS_ID_SECRET_FILE): Promise<AnonymousIdKey & { file: string; created: boolean }> {
  const path = resolve(file);
  const existing = (await exists(path)) ? (await readFile(path, 'utf8')).trim() : '';
  if (existing.length >= 32) return { id: 'dev', secret: existing, file: path, created: false };
  const secret = randomBytes(48).toString('base64');
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${secret}\n`, { mode: 0o600 });
  return { id: 'dev', secret, file: path, created: true };
}
