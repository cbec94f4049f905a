// Reads and checks the PEM public keys of the JWT integrations at load time, so that a bad key is a
// config error naming the key (and file), never a failure at the first request. Keys are not
// generated here: `plangate token` and `npm start` create the tutorial's key pair.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PemKey } from '../engine/model.js';
import type { JwtIntegrationConfig } from './schema.js';
import type { IssueCollector, KeyPath } from './locate.js';

/** Which key shapes each public-key algorithm verifies with (EC keys by curve). */
function suits(algorithm: string, key: KeyObject): boolean {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (algorithm.startsWith('RS')) return type === 'rsa';
  if (algorithm.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  if (algorithm === 'ES256') return type === 'ec' && curve === 'prime256v1';
  if (algorithm === 'ES384') return type === 'ec' && curve === 'secp384r1';
  if (algorithm === 'ES512') return type === 'ec' && curve === 'secp521r1';
  if (algorithm === 'EdDSA') return type === 'ed25519' || type === 'ed448';
  return false;
}

/** Checks one PEM; returns an error message (naming `source`, never quoting the key) or undefined. */
function checkPem(pem: string, source: string, algorithms: readonly string[]): string | undefined {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return `${source} holds a private key: give the public half (openssl pkey -pubout) and keep the private key out of the config`;
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return `${source} is not a valid PEM public key: expected a -----BEGIN PUBLIC KEY----- block`;
  }
  if (!algorithms.some((a) => suits(a, key))) {
    return `${source} is a ${key.asymmetricKeyType} key, which none of the integration's algorithms (${algorithms.join(', ')}) verifies with`;
  }
  return undefined;
}

async function readKeyFile(file: string, baseDir: string): Promise<{ ok: true; pem: string; path: string } | { ok: false; message: string }> {
  const path = resolve(baseDir, file);
  try {
    return { ok: true, pem: await readFile(path, 'utf8'), path };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, message: `file not found: ${path}; create it or point publicKeyFile at your key` };
    return { ok: false, message: `cannot read key file ${path} (${code ?? 'error'})` };
  }
}

/** All PEM keys of one integration, checked; problems are reported at the key that names them. */
export async function resolvePemKeys(integration: JwtIntegrationConfig, at: KeyPath, baseDir: string, issues: IssueCollector): Promise<PemKey[]> {
  const keys: PemKey[] = [];
  const take = (pem: string, source: string, path: KeyPath, kid?: string): void => {
    const problem = checkPem(pem, source, integration.algorithms);
    if (problem) issues.add(path, problem);
    else keys.push(kid === undefined ? { pem } : { pem, kid });
  };
  const fromFile = async (file: string, path: KeyPath, kid?: string): Promise<void> => {
    const read = await readKeyFile(file, baseDir);
    if (read.ok) take(read.pem, `key file ${read.path}`, path, kid);
    else issues.add(path, read.message);
  };
  if (integration.publicKey !== undefined) take(integration.publicKey, 'publicKey', [...at, 'publicKey']);
  if (integration.publicKeyFile !== undefined) await fromFile(integration.publicKeyFile, [...at, 'publicKeyFile']);
  for (const [i, entry] of (integration.publicKeys ?? []).entries()) {
    if (entry.pem !== undefined) take(entry.pem, `publicKeys[${i}].pem`, [...at, 'publicKeys', i, 'pem'], entry.kid);
    else if (entry.file !== undefined) await fromFile(entry.file, [...at, 'publicKeys', i, 'file'], entry.kid);
  }
  return keys;
}
