// The in-process engine benchmark: decisions per second through EngineApi.decide on one core, for an
// anonymous visitor with the in-memory store, a cached JWT, and uncached JWTs (a new token each time).
// Runs standalone too: `npx tsx bench/engine.ts [--quick]`.
//
// ENGINE SLOT: the engine is being built (src/engine). This file finds its factory at run time and
// skips with a message until it exists; `findEngineFactory` below is the one place to adjust if the
// final export names differ.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse, stringify } from 'yaml';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import type { DecisionRequest, EngineApi } from '../src/engine/engine.js';
import type { Model } from '../src/engine/model.js';
import type { JwtVerifier } from '../src/engine/identity/jwt-verifier.js';
import { MemoryMeterStore } from '../src/engine/meters/memory.js';
import type { EngineResult } from './report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface EngineFactory {
  loadModel(file: string): Promise<Model>;
  createVerifier(model: Model): JwtVerifier;
  createEngine(options: { model: Model; store: MemoryMeterStore; verifier: JwtVerifier }): EngineApi;
}

/**
 * Where each part comes from: the build when `npm run build` has run (what production runs, with no
 * TypeScript loader in the loop, like the gateway candidates), else the sources through tsx.
 */
const PLACES = {
  loadModel: ['dist/config/load.js', 'src/config/load.ts'],
  createVerifier: ['dist/engine/identity/jwt.js', 'src/engine/identity/jwt.ts'],
  createEngine: ['dist/engine/create-engine.js', 'src/engine/create-engine.ts'],
} as const;
const NAMES = {
  loadModel: ['loadConfig', 'loadModel', 'loadConfigFile'],
  createVerifier: ['createJwtVerifier', 'createVerifier'],
  createEngine: ['createEngine'],
} as const;

async function findExport(files: readonly string[], names: readonly string[]): Promise<((...args: any[]) => any) | null> {
  for (const file of files) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const name of names) if (typeof mod[name] === 'function') return mod[name] as (...args: any[]) => any;
  }
  return null;
}

/** Returns the factory, or the reason it is not there yet. */
export async function findEngineFactory(): Promise<EngineFactory | string> {
  const parts = {} as Record<keyof typeof PLACES, (...args: any[]) => any>;
  const missing: string[] = [];
  for (const key of Object.keys(PLACES) as (keyof typeof PLACES)[]) {
    const found = await findExport(PLACES[key], NAMES[key]);
    if (found) parts[key] = found;
    else missing.push(`${NAMES[key].join('/')} in ${PLACES[key].join(', ')}`);
  }
  if (missing.length) return `engine factory missing (not found: ${missing.join('; ')})`;
  return {
    // A loader may return the model itself or an object holding it.
    loadModel: async (file) => {
      const loaded = await parts.loadModel(file);
      return (loaded && 'model' in loaded ? loaded.model : loaded) as Model;
    },
    createVerifier: (model) => parts.createVerifier(model.jwtIntegrations),
    createEngine: (options) => parts.createEngine(options),
  };
}

/** The plangate-full config with the in-memory store and a fresh key; returns the file and tokens. */
async function prepareConfig(dir: string, uncachedTokens: number) {
  const config = parse(readFileSync(join(ROOT, 'bench/configs/plangate-full.yaml'), 'utf8')) as Record<string, any>;
  delete config.store;
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys/bench-jwt.pub.pem'), await exportSPKI(publicKey));
  const file = join(dir, 'plangate.yaml');
  writeFileSync(file, stringify(config));
  const sign = (jti: string) =>
    new SignJWT({ tier: 'pro' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('bench-user@example.com')
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime('1d')
      .sign(privateKey);
  const tokens = await Promise.all(Array.from({ length: uncachedTokens + 1 }, (_, i) => sign(`t${i}`)));
  return { file, cached: tokens[0], uncached: tokens.slice(1) };
}

/** Decisions per second, one at a time (one core, no overlap), after a warm-up. */
async function rate(
  engine: EngineApi,
  next: (i: number) => DecisionRequest,
  options: { warmup: number; durationMs?: number; count?: number },
): Promise<number> {
  for (let i = 0; i < options.warmup; i++) await engine.decide(next(i));
  const start = process.hrtime.bigint();
  let done = 0;
  const limitNs = BigInt((options.durationMs ?? 0) * 1e6);
  while (options.count !== undefined ? done < options.count : process.hrtime.bigint() - start < limitNs) {
    const outcome = await engine.decide(next(options.warmup + done));
    if (outcome.denied) throw new Error(`engine benchmark: decision ${done} was denied (${outcome.denialReason})`);
    done++;
  }
  return Math.round(done / (Number(process.hrtime.bigint() - start) / 1e9));
}

export async function runEngineBench(options: { quick: boolean }): Promise<EngineResult | { skipped: string }> {
  const factory = await findEngineFactory();
  if (typeof factory === 'string') return { skipped: factory };
  const dir = mkdtempSync(join(tmpdir(), 'plangate-bench-engine-'));
  const uncachedCount = options.quick ? 300 : 2000;
  const durationMs = options.quick ? 1000 : 5000;
  const warmup = options.quick ? 500 : 5000;
  try {
    const { file, cached, uncached } = await prepareConfig(dir, uncachedCount);
    const model = await factory.loadModel(file);
    const verifier = factory.createVerifier(model);
    const engine = factory.createEngine({ model, store: new MemoryMeterStore(), verifier });
    const route = { consume: [{ feature: 'article', property: 'enabled', units: 1 }] };
    const base = { surfaceSlug: 'article-page', trusted: false, route, resource: { id: '/articles/bench-article' } };
    const anonymous = await rate(engine, () => ({ ...base, identity: { anonymousIdentifier: 'bench-anonymous-visitor' } }), { warmup, durationMs });
    const cachedJwt = await rate(engine, () => ({ ...base, identity: { userJwt: cached } }), { warmup, durationMs });
    const uncachedJwt = await rate(engine, (i) => ({ ...base, identity: { userJwt: uncached[i] } }), { warmup: 0, count: uncached.length });
    verifier.close();
    return { anonMemory: anonymous, cachedJwt, uncachedJwt };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await runEngineBench({ quick: process.argv.includes('--quick') });
  console.log('skipped' in result ? `engine benchmark SKIPPED: ${result.skipped}` : result);
}
