// Local test keys: an RS256 key pair created on first use under .plangate/keys (git-ignored), used
// by `plangate token` and by the example configs' Test JWT integration.
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT } from 'jose';

export const DEFAULT_KEY_DIR = '.plangate/keys';

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
