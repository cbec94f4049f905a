// The forward-auth candidates: nginx (`auth_request`) or Caddy (`forward_auth`) in front of the bench
// upstream, asking a plangate process with the plangate-full decision (cached RS256 JWT, provisioning,
// one Redis consume, headers injected and signed). Both run the config `plangate proxy-config`
// generates from it. Their meter check proves that no proxy cached an answer: N requests through the
// proxy move the Redis counter by exactly N.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/load.js';
import { configInput, proxyConfig } from '../../src/forward-auth/proxy-config/index.js';
import { createRuntime } from '../../src/ops/runtime.js';
import { createLogger } from '../../src/ops/logger.js';
import { freePort } from '../../test/support/redis-server.js';
import { ensureCommand, onPath } from '../apt.js';
import { get, waitUntilReady, type Target } from '../http-check.js';
import { spawnChild, type ChildHandle } from '../processes.js';
import { BENCH_PATH } from './baselines.js';
import { retryOnPortRace } from './launch.js';
import { benchJwt, gatewayCommand, writeBenchKey, writeConfig } from './plangate.js';
import type { BenchContext, Candidate, StartResult } from './types.js';

type Proxy = 'nginx' | 'caddy';

/** Requests the meter check sends through the proxy, one after another. */
const METER_CHECK_REQUESTS = 1_000;

async function proxyBinary(proxy: Proxy): Promise<{ path: string } | { missing: string }> {
  if (proxy === 'nginx') return ensureCommand('nginx', ['nginx-light', 'nginx']);
  const found = await onPath('caddy');
  return found ? { path: found } : ensureCommand('caddy', ['caddy']);
}

/** The article meter's consumed units for the bench user, read through the engine from Redis (a dry run: it records nothing). */
async function consumedUnits(configFile: string): Promise<number> {
  const runtime = await createRuntime(await loadConfig(configFile), { logger: createLogger({ level: 'silent' }) });
  try {
    const { decision } = await runtime.engine.decide({
      surfaceSlug: 'article-page',
      identity: { userJwt: (await benchJwt()).token },
      trusted: true,
      dryRun: true,
    });
    const enabled = decision.features.article.properties.enabled as { consumedUnits?: number };
    if (enabled.consumedUnits === undefined) throw new Error('the article meter reported no consumed units');
    return enabled.consumedUnits;
  } finally {
    await runtime.close();
  }
}

async function startOnce(ctx: BenchContext, name: string, proxy: Proxy, binary: string): Promise<StartResult> {
  const { file, port: decisionPort, opsPort } = await writeConfig(ctx, name, {
    template: 'plangate-full',
    async edit(config, dir) {
      await writeBenchKey(config, dir);
      // Its own counters: plangate-full's requests (the same user, the same Redis) must not count here.
      config.store.redis.keyPrefix = `plangate-bench-${name}:`;
      config.gateway.signing = { keys: [{ id: 'bench', secret: randomBytes(48).toString('base64') }] };
      config.gateway.forwardAuth = {};
    },
  });
  const command = gatewayCommand(ctx.root, file);
  if (command === null) return { skipped: 'NOT MEASURED: neither dist/cli/main.js nor src/cli/main.ts exists' };
  const plangate = spawnChild(name, process.execPath, command, {
    cwd: ctx.root,
    env: { ...process.env, NODE_ENV: 'production', PLANGATE_LOG_LEVEL: 'warn' },
  });

  const dir = join(ctx.tmpDir, `${name}-${proxy}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const input = configInput(await loadConfig(file), {
    listen: { host: '127.0.0.1', port },
    decisions: { host: '127.0.0.1', port: decisionPort },
    standalone: { prefix: dir },
  });
  let front: ChildHandle;
  if (proxy === 'nginx') {
    const conf = join(dir, 'nginx.conf');
    writeFileSync(conf, proxyConfig('nginx', input));
    front = spawnChild(`${name}-nginx`, binary, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off; master_process off;']);
  } else {
    const conf = join(dir, 'Caddyfile');
    writeFileSync(conf, proxyConfig('caddy', input));
    for (const sub of ['home', 'data', 'config']) mkdirSync(join(dir, sub), { recursive: true });
    front = spawnChild(`${name}-caddy`, binary, ['run', '--config', conf, '--adapter', 'caddyfile'], {
      env: { ...process.env, HOME: join(dir, 'home'), XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), GOMAXPROCS: '1' },
    });
  }
  const target: Target = {
    url: `http://127.0.0.1:${port}${BENCH_PATH}`,
    headers: { cookie: `plangate_jwt=${(await benchJwt()).token}` },
    metricsUrl: `http://127.0.0.1:${opsPort}/metrics`,
  };
  for (const child of [plangate, front]) {
    const failure = await waitUntilReady(target, child, ctx.startTimeoutMs);
    if (failure !== null) {
      await Promise.all([plangate.stop(), front.stop()]);
      return { skipped: `${name} did not start: ${failure}` };
    }
  }
  return {
    target,
    child: plangate,
    async meterCheck() {
      const before = await consumedUnits(file);
      for (let i = 0; i < METER_CHECK_REQUESTS; i++) {
        const reply = await get(target);
        if (reply.status !== 200) throw new Error(`${name}: the meter check's request ${i + 1} answered ${reply.status}`);
      }
      return { requests: METER_CHECK_REQUESTS, counted: (await consumedUnits(file)) - before };
    },
  };
}

function forwardAuthCandidate(name: string, proxy: Proxy, description: string): Candidate {
  return {
    name,
    description,
    required: false,
    async start(ctx) {
      const binary = await proxyBinary(proxy);
      if ('missing' in binary) return { skipped: binary.missing };
      return retryOnPortRace(() => startOnce(ctx, name, proxy, binary.path));
    },
  };
}

export const forwardAuthCandidates: readonly Candidate[] = [
  forwardAuthCandidate('nginx-auth', 'nginx', "nginx (one process) auth_request to plangate with plangate-full's decision; nginx forwards (CPU column: plangate's process)"),
  forwardAuthCandidate('caddy-auth', 'caddy', "Caddy (GOMAXPROCS=1) forward_auth to plangate with plangate-full's decision; Caddy forwards (CPU column: plangate's process)"),
];
