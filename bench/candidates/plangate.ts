// The plangate candidates: each starts a gateway process from a config under bench/configs/, with the
// addresses, the Redis URL and (for plangate-full) a fresh RS256 key filled in by the harness.
// Until the gateway exists (src/cli/main.ts `gateway --config <file>`), they are skipped, loudly.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, exportSPKI, generateKeyPair } from 'jose';
import { parse, stringify } from 'yaml';
import { AnonymousIds, type AnonymousIdKey } from '../../src/engine/identity/anonymous-ids.js';
import { freePort } from '../../test/support/redis-server.js';
import { BENCH_PATH } from './baselines.js';
import { imageNodeFlags, launchOnPort, retryOnPortRace, tsEntry } from './launch.js';
import type { BenchContext, Candidate, StartResult } from './types.js';

/**
 * The built CLI when present (no loader in the measured process), else the TypeScript source via
 * tsx; with the node flags of the checkout's Dockerfile CMD, so the gateway runs as the image runs it
 * (none for a checkout whose Dockerfile has none, or that has no Dockerfile).
 */
export function gatewayCommand(root: string, configFile: string): string[] | null {
  const args = ['gateway', '--config', configFile];
  const flags = imageNodeFlags(root);
  // Both layouts, so a --baseline checkout from before the CLI moved to src/cli/main.ts runs too.
  for (const built of ['dist/cli/main.js', 'dist/cli.js']) if (existsSync(join(root, built))) return [...flags, built, ...args];
  for (const source of ['src/cli/main.ts', 'src/cli.ts']) if (existsSync(join(root, source))) return [...flags, ...tsEntry(source), ...args];
  return null;
}

export interface Prepared {
  /** The config under bench/configs/ (default: the candidate's name). */
  template?: string;
  /** Edits to the parsed template beyond the addresses. */
  edit?: (config: Record<string, any>, dir: string, ctx: BenchContext) => Promise<void>;
  headers?: () => Promise<Record<string, string>>;
  /** The headers for a checkout that does not sign anonymous ids (`--baseline`), when they differ. */
  unsignedHeaders?: () => Promise<Record<string, string>>;
  /** What wrk requests (default BENCH_PATH). */
  path?: string;
}

/** Writes bench/configs/<name>.yaml with this run's addresses into the temp dir; returns its path and port. */
export async function writeConfig(ctx: BenchContext, name: string, prepared: Prepared): Promise<{ file: string; port: number; opsPort: number }> {
  const dir = join(ctx.tmpDir, name);
  mkdirSync(dir, { recursive: true });
  const config = parse(readFileSync(join(ctx.root, 'bench/configs', `${prepared.template ?? name}.yaml`), 'utf8')) as Record<string, any>;
  const port = await freePort();
  config.gateway.upstream = ctx.upstreamUrl;
  config.gateway.listen = { host: '127.0.0.1', port };
  if (config.store?.redis) config.store.redis.url = ctx.redisUrl;
  // Production-like: a configured anonymous-id secret (the CLI refuses to run without one).
  if (signsAnonymousIds(ctx.root)) config.anonymousIds = { keys: [BENCH_ANONYMOUS_ID_KEY] };
  // Ephemeral API and ops ports: candidates run side by side and must not collide with each other or 3100/9090.
  const opsPort = await freePort();
  config.server = { api: { host: '127.0.0.1', port: 0 }, ops: { host: '127.0.0.1', port: opsPort } };
  await prepared.edit?.(config, dir, ctx);
  const file = join(dir, 'plangate.yaml');
  writeFileSync(file, stringify(config));
  return { file, port, opsPort };
}

function plangateCandidate(name: string, description: string, prepared: Prepared = {}): Candidate {
  return {
    name,
    description,
    required: false,
    start: (ctx: BenchContext): Promise<StartResult> =>
      retryOnPortRace(async () => {
        const { file, port, opsPort } = await writeConfig(ctx, name, prepared);
        const command = gatewayCommand(ctx.root, file);
        if (command === null) return { skipped: 'NOT MEASURED: neither dist/cli/main.js nor src/cli/main.ts exists yet (the gateway has not landed)' };
        const headers = (await (signsAnonymousIds(ctx.root) ? prepared.headers : (prepared.unsignedHeaders ?? prepared.headers))?.()) ?? {};
        const started = await launchOnPort(ctx, { name, nodeArgs: command, path: prepared.path ?? BENCH_PATH, headers }, port);
        if ('target' in started) started.target.metricsUrl = `http://127.0.0.1:${opsPort}/metrics`;
        return started;
      }),
  };
}

// ---- plangate-full: a key pair made for this run, one token signed with it --------------------
let fullToken: Promise<{ token: string; publicPem: string }> | undefined;
/**
 * The run's RS256 key pair (public half as PEM) and the one token signed with it (`sub`, `tier: pro`,
 * 1 day); also used by the engine and pipeline benchmarks, which decide for the same token.
 */
export function benchJwt(): Promise<{ token: string; publicPem: string }> {
  fullToken ??= (async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const token = await new SignJWT({ tier: 'pro' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('bench-user@example.com')
      .setIssuedAt()
      .setExpirationTime('1d')
      .sign(privateKey);
    return { token, publicPem: await exportSPKI(publicKey) };
  })();
  return fullToken;
}

/** The run's anonymous-id key, and the one visitor's id, signed with it. */
const BENCH_ANONYMOUS_ID_KEY: AnonymousIdKey = { id: 'bench', secret: randomBytes(48).toString('base64') };
const ANON_ID = randomUUID();
const ANON_COOKIE = new AnonymousIds([BENCH_ANONYMOUS_ID_KEY]).sign(ANON_ID);

/**
 * Whether the checkout at `root` signs anonymous ids: `--baseline` runs these candidates from an
 * older checkout too, which knows no `anonymousIds` section and takes a bare UUID cookie.
 */
function signsAnonymousIds(root: string): boolean {
  return existsSync(join(root, 'src/engine/identity/anonymous-ids.ts')) || existsSync(join(root, 'dist/engine/identity/anonymous-ids.js'));
}

/** A token in the shape of the run's, signed with a key the gateway does not know: rejected on every request. */
let forgedToken: Promise<string> | undefined;
function benchForgedJwt(): Promise<string> {
  forgedToken ??= (async () => {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT({ tier: 'pro' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject('bench-user@example.com')
      .setIssuedAt()
      .setExpirationTime('1d')
      .sign(privateKey);
  })();
  return forgedToken;
}

/** The run's public key beside the config (plangate-full.yaml's publicKeyFile). */
export async function writeBenchKey(_config: Record<string, any>, dir: string): Promise<void> {
  mkdirSync(join(dir, 'keys'), { recursive: true });
  writeFileSync(join(dir, 'keys/bench-jwt.pub.pem'), (await benchJwt()).publicPem);
}

const ARTICLE_50KB_PATH = '/articles/long-bench-article';
const anonHeaders = {
  headers: async () => ({ cookie: `plangate_anon=${ANON_COOKIE}` }),
  unsignedHeaders: async () => ({ cookie: `plangate_anon=${ANON_ID}` }),
};

export const plangateCandidates: readonly Candidate[] = [
  plangateCandidate('plangate-bypass', 'plangate, a bypass route'),
  plangateCandidate('plangate-anon', 'plangate, fixed anonymous cookie re-reading one article (uniqueResources), memory store', {
    headers: async () => ({ cookie: `plangate_anon=${ANON_COOKIE}` }),
    unsignedHeaders: async () => ({ cookie: `plangate_anon=${ANON_ID}` }),
  }),
  plangateCandidate('plangate-anon-fresh', 'plangate, no cookie: a new anonymous id per request, Redis store'),
  plangateCandidate('plangate-full', 'plangate, cached RS256 JWT, provisioning, consume 1 unit, Redis, headers injected', {
    edit: writeBenchKey,
    headers: async () => ({ cookie: `plangate_jwt=${(await benchJwt()).token}` }),
  }),
  plangateCandidate('plangate-full-2w', 'plangate-full with `--workers 2`: two worker processes sharing the port (CPU counted over the primary and its workers)', {
    template: 'plangate-full',
    async edit(config, dir) {
      await writeBenchKey(config, dir);
      config.server.workers = 2;
    },
    headers: async () => ({ cookie: `plangate_jwt=${(await benchJwt()).token}` }),
  }),
  plangateCandidate('plangate-components', 'plangate-anon on a 50 KB article, with a meter banner and a cut after the teaser applied as it streams', {
    ...anonHeaders,
    path: ARTICLE_50KB_PATH,
  }),
  plangateCandidate('plangate-components-plain', 'plangate-components without its components: the same 50 KB article, untransformed', {
    ...anonHeaders,
    template: 'plangate-components',
    path: ARTICLE_50KB_PATH,
    edit: async (config) => {
      delete config.surfaces['article-page'].components;
    },
  }),
  plangateCandidate('plangate-bad-jwt', "plangate-full's config, a JWT cookie signed with an unknown key (rejected, anonymous) and a fixed anonymous cookie", {
    template: 'plangate-full',
    edit: writeBenchKey,
    headers: async () => ({ cookie: `plangate_jwt=${await benchForgedJwt()}; plangate_anon=${ANON_COOKIE}` }),
    unsignedHeaders: async () => ({ cookie: `plangate_jwt=${await benchForgedJwt()}; plangate_anon=${ANON_ID}` }),
  }),
];
