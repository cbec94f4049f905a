// Where one integration's verification keys come from: HMAC secrets, PEM public keys and a JWK Set URL.
// Keys are chosen by the token's (allow-listed) `alg` and its `kid`, never from anything else the
// token carries; an HMAC algorithm only ever gets the configured secret, never a public key's text.
import { importSPKI, type CryptoKey } from 'jose';
import type { ResolvedJwtIntegration } from '../model.js';
import { MAX_KID_CHARS, type TokenHeader } from './jwt-precheck.js';
import { RemoteJwkSet, type KeyLookup, type RemoteJwkSetOptions } from './jwks-remote.js';

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. The loader refuses shorter ones too. */
const HMAC_MIN_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** When an integration has a `jwksUrl` and no `jwks` block (docs/jwt.md "Defaults"; the config schema's defaults are these). */
export const JWKS_DEFAULTS = { cooldownMs: 30_000, maxAgeMs: 600_000, timeoutMs: 5_000 } as const;

export interface KeySource {
  lookup(header: TokenHeader): Promise<KeyLookup>;
  /** Changes when the keys change; cached verifications made under another generation are dropped. */
  generation(): number;
  warm(): Promise<void>;
  readiness(): { ready: boolean; detail?: string };
  /** JWK Set fetch attempts so far. */
  fetchAttempts(): number;
  close(): void;
}

type Events = RemoteJwkSetOptions['onEvent'];
interface ImportedPemKey {
  kid?: string;
  /** The key imported once per allowed asymmetric algorithm it fits. */
  byAlg: Map<string, CryptoKey>;
}

export function createKeySource(integration: ResolvedJwtIntegration, deps: { now: () => number; fetch: typeof fetch; onEvent?: Events }): KeySource {
  const secrets = hmacSecrets(integration, deps.onEvent);
  const pemKeys = importPemKeys(integration, deps.onEvent);
  const remote = integration.jwksUrl
    ? new RemoteJwkSet({ url: integration.jwksUrl, ...JWKS_DEFAULTS, ...integration.jwks, now: deps.now, fetch: deps.fetch, onEvent: deps.onEvent })
    : undefined;
  const unknown: KeyLookup = { ok: false, reason: 'unknown-key' };

  return {
    async lookup(header) {
      if (header.alg.startsWith('HS')) {
        const secret = secrets.get(header.alg);
        return secret ? { ok: true, keys: [secret], generation: 0 } : unknown;
      }
      if (header.kid !== undefined && header.kid.length > MAX_KID_CHARS) return unknown;
      const fromPem = pemCandidates(await pemKeys, header);
      if (fromPem.length > 0) return { ok: true, keys: fromPem, generation: remote?.generation ?? 0 };
      return remote ? remote.lookup(header) : unknown;
    },
    generation: () => remote?.generation ?? 0,
    async warm() {
      await Promise.all([pemKeys, remote?.warm()]);
    },
    readiness: () => remote?.readiness() ?? { ready: true },
    fetchAttempts: () => remote?.attempts ?? 0,
    close: () => remote?.close(),
  };
}

/** With a `kid`: the PEM keys labelled with it, else the unlabelled ones. Without: every key. */
function pemCandidates(keys: readonly ImportedPemKey[], { alg, kid }: TokenHeader): CryptoKey[] {
  const labelled = kid === undefined ? keys : keys.filter((key) => key.kid === kid);
  const pool = kid !== undefined && labelled.length === 0 ? keys.filter((key) => key.kid === undefined) : labelled;
  return pool.flatMap((key) => key.byAlg.get(alg) ?? []);
}

function hmacSecrets(integration: ResolvedJwtIntegration, onEvent: Events): Map<string, Uint8Array> {
  const secrets = new Map<string, Uint8Array>();
  if (integration.secret === undefined) return secrets;
  const bytes = new TextEncoder().encode(integration.secret);
  for (const alg of integration.algorithms) {
    const min = HMAC_MIN_BYTES[alg];
    if (min === undefined) continue;
    // The loader refuses short secrets; this guard keeps a weak key unusable even if one slips through.
    if (bytes.length >= min) secrets.set(alg, bytes);
    else onEvent?.('error', 'jwt-key-unusable', { integration: integration.name, alg, detail: `secret shorter than ${min} bytes` });
  }
  return secrets;
}

async function importPemKeys(integration: ResolvedJwtIntegration, onEvent: Events): Promise<ImportedPemKey[]> {
  const asymmetric = integration.algorithms.filter((alg) => !(alg in HMAC_MIN_BYTES));
  return Promise.all(
    integration.pemKeys.map(async ({ pem, kid }, index) => {
      const byAlg = new Map<string, CryptoKey>();
      await Promise.all(
        asymmetric.map(async (alg) => {
          // An RSA key does not import for ES256 and so on: that pairing is simply not offered.
          const key = await importSPKI(pem, alg).catch(() => undefined);
          if (key) byAlg.set(alg, key);
        }),
      );
      if (byAlg.size === 0) {
        onEvent?.('error', 'jwt-key-unusable', {
          integration: integration.name,
          key: kid ?? `#${index + 1}`,
          detail: `fits none of ${asymmetric.join(', ') || 'the allowed algorithms'}`,
        });
      }
      return kid === undefined ? { byAlg } : { kid, byAlg };
    }),
  );
}
